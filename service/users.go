package service

import (
	"context"
	"strings"
	"unicode/utf8"

	"lechat/model"
)

// SearchUsers finds active users other than the caller whose username starts with
// q or whose nickname contains it, in id order. Returns ErrInvalid.
func (s *Accounts) SearchUsers(ctx context.Context, q string, page PageRequest) (Page[model.UserProfile], error) {
	q = strings.TrimSpace(q)
	if q == "" || utf8.RuneCountInString(q) > 64 || !utf8.ValidString(q) {
		return Page[model.UserProfile]{}, model.FieldErrorf(model.ErrInvalid, "q", "q must be 1 to 64 characters")
	}
	after, limit, err := page.idCursor()
	if err != nil {
		return Page[model.UserProfile]{}, err
	}
	pattern := escapeLike(q)
	var users []model.User
	err = s.db.WithContext(ctx).
		Where("activated_at IS NOT NULL AND id > ? AND id <> ?", after, model.UserID(ctx)).
		Where("username LIKE ? ESCAPE '!' OR nickname LIKE ? ESCAPE '!'",
			strings.ToLower(pattern)+"%", "%"+pattern+"%").
		Order("id").Limit(limit + 1).Find(&users).Error
	if err != nil {
		return Page[model.UserProfile]{}, err
	}
	out, err := s.profiles(ctx, users)
	if err != nil {
		return Page[model.UserProfile]{}, err
	}
	return pageByID(out, limit, func(u model.UserProfile) uint64 { return u.ID }), nil
}

// profiles shows users to the caller: with is_friend, and remarks for friends.
func (s *Accounts) profiles(ctx context.Context, users []model.User) ([]model.UserProfile, error) {
	ids := make([]uint64, len(users))
	for i := range users {
		ids[i] = users[i].ID
	}
	rm, err := remarks(s.db.WithContext(ctx), model.UserID(ctx), ids)
	if err != nil {
		return nil, err
	}
	out := make([]model.UserProfile, len(users))
	for i := range users {
		out[i] = model.UserProfile{PublicUser: users[i].Public()}
		if r, ok := rm[users[i].ID]; ok {
			out[i].IsFriend, out[i].Remark = true, &r
		}
	}
	return out, nil
}

// User returns an active user's profile as the caller sees it (with the caller's
// remark when they are friends). Returns ErrNotFound.
func (s *Accounts) User(ctx context.Context, id uint64) (*model.UserProfile, error) {
	u, err := activeUser(s.db.WithContext(ctx), id)
	if err != nil {
		return nil, err
	}
	p, err := s.profiles(ctx, []model.User{*u})
	if err != nil {
		return nil, err
	}
	return &p[0], nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '!'.
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}
