package service

import (
	"context"
	"strings"
	"unicode/utf8"

	"lechat/model"
)

// SearchUsers finds active users other than the caller whose username starts with
// q or whose nickname contains it, in id order. Returns ErrInvalid.
func (s *Accounts) SearchUsers(ctx context.Context, q string, page PageRequest) (Page[model.PublicUser], error) {
	q = strings.TrimSpace(q)
	if q == "" || utf8.RuneCountInString(q) > 64 || !utf8.ValidString(q) {
		return Page[model.PublicUser]{}, model.FieldErrorf(model.ErrInvalid, "q", "q must be 1 to 64 characters")
	}
	after, limit, err := page.idCursor()
	if err != nil {
		return Page[model.PublicUser]{}, err
	}
	pattern := escapeLike(q)
	var users []model.User
	err = s.db.WithContext(ctx).
		Where("activated_at IS NOT NULL AND id > ? AND id <> ?", after, model.UserID(ctx)).
		Where("username LIKE ? ESCAPE '!' OR nickname LIKE ? ESCAPE '!'",
			strings.ToLower(pattern)+"%", "%"+pattern+"%").
		Order("id").Limit(limit + 1).Find(&users).Error
	if err != nil {
		return Page[model.PublicUser]{}, err
	}
	out := make([]model.PublicUser, len(users))
	for i := range users {
		out[i] = users[i].Public()
	}
	return pageByID(out, limit, func(u model.PublicUser) uint64 { return u.ID }), nil
}

// User returns the public profile of an active user. Returns ErrNotFound.
func (s *Accounts) User(ctx context.Context, id uint64) (*model.PublicUser, error) {
	var u model.User
	err := s.db.WithContext(ctx).Where("id = ? AND activated_at IS NOT NULL", id).Take(&u).Error
	if err != nil {
		return nil, dbErr(err)
	}
	p := u.Public()
	return &p, nil
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '!'.
func escapeLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}
