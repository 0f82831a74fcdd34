package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"lechat/model"
)

// Friends keeps friend requests and friendships, with each owner's private remarks.
type Friends struct {
	db       *gorm.DB
	log      *slog.Logger
	Notifier Notifier
	// Sockets, when set, tells which friends are online.
	Sockets *Sockets
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewFriends returns the friends service; events go nowhere until Notifier is set.
func NewFriends(db *gorm.DB, log *slog.Logger) *Friends {
	return &Friends{db: db, log: log, Notifier: NopNotifier{}, Now: time.Now}
}

func (s *Friends) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// SendRequest asks user to to be the caller's friend. If to had already asked the
// caller, both become friends at once and the request comes back accepted. Asking
// again while a request is pending changes nothing but its message, and created
// is false. Returns ErrInvalid (yourself), ErrNotFound (no such active user) or
// ErrConflict (already friends).
func (s *Friends) SendRequest(ctx context.Context, to uint64, message string) (view *model.FriendRequestView, created bool, err error) {
	me := model.UserID(ctx)
	if to == 0 {
		return nil, false, model.FieldErrorf(model.ErrInvalid, "to_user_id", "to_user_id is required")
	}
	if to == me {
		return nil, false, model.FieldErrorf(model.ErrInvalid, "to_user_id", "you cannot send a friend request to yourself")
	}
	message, err = model.CleanLine(message, "message", model.RequestMessageMaxLen)
	if err != nil {
		return nil, false, err
	}
	now := s.now()
	var req model.FriendRequest
	var accepted, notify bool
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockUsers(tx, me, to); err != nil {
			return err
		}
		if _, err := activeUser(tx, to); err != nil {
			return err
		}
		if friends, err := areFriends(tx, me, to); err != nil {
			return err
		} else if friends {
			return model.FieldErrorf(model.ErrConflict, "to_user_id", "you are already friends")
		}
		var reverse model.FriendRequest
		err := tx.Where("from_user_id = ? AND to_user_id = ? AND status = ?", to, me, model.RequestPending).Take(&reverse).Error
		switch {
		case err == nil: // crossing requests: asking back accepts theirs
			if err := setRequestStatus(tx, reverse.ID, model.RequestAccepted, now); err != nil {
				return err
			}
			if err := befriend(tx, me, to, now); err != nil {
				return err
			}
			accepted, created = true, true
			return upsertRequest(tx, &req, me, to, message, model.RequestAccepted, now)
		case !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("find reverse request: %w", err)
		}
		err = tx.Where("from_user_id = ? AND to_user_id = ?", me, to).Take(&req).Error
		switch {
		case err == nil && req.Status == model.RequestPending: // no duplicate: keep it, refresh the message
			if message != "" && message != req.Message {
				req.Message, req.UpdatedAt = message, now
				return tx.Model(&req).Select("message", "updated_at").Updates(&req).Error
			}
			return nil
		case err != nil && !errors.Is(err, gorm.ErrRecordNotFound):
			return fmt.Errorf("find request: %w", err)
		}
		created, notify = true, true
		return upsertRequest(tx, &req, me, to, message, model.RequestPending, now)
	})
	if err != nil {
		return nil, false, err
	}
	views, err := s.views(ctx, req)
	if err != nil {
		return nil, false, err
	}
	v := &views[0]
	switch {
	case accepted:
		s.publishAccepted(ctx, v.FromUser, v.ToUser)
	case notify:
		s.Notifier.Publish(ctx, []uint64{to, me}, model.Event{Type: model.EventFriendRequest, Data: *v})
	}
	return v, created, nil
}

// upsertRequest makes the (from, to) request row hold status and message as of now,
// creating it or reusing the pair's old row; req receives the row.
func upsertRequest(tx *gorm.DB, req *model.FriendRequest, from, to uint64, message, status string, now time.Time) error {
	err := tx.Where("from_user_id = ? AND to_user_id = ?", from, to).Take(req).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		*req = model.FriendRequest{FromUserID: from, ToUserID: to, Message: message, Status: status,
			CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(req).Error; err != nil {
			return fmt.Errorf("insert friend request: %w", dbErr(err))
		}
		return nil
	} else if err != nil {
		return fmt.Errorf("find request: %w", err)
	}
	req.Message, req.Status, req.CreatedAt, req.UpdatedAt = message, status, now, now
	if err := tx.Model(req).Select("message", "status", "created_at", "updated_at").Updates(req).Error; err != nil {
		return fmt.Errorf("renew friend request: %w", err)
	}
	return nil
}

func setRequestStatus(tx *gorm.DB, id uint64, status string, now time.Time) error {
	err := tx.Model(&model.FriendRequest{}).Where("id = ?", id).
		Updates(map[string]any{"status": status, "updated_at": now}).Error
	if err != nil {
		return fmt.Errorf("set request status: %w", err)
	}
	return nil
}

// befriend stores both directions of a friendship; rows that exist already stay.
func befriend(tx *gorm.DB, a, b uint64, now time.Time) error {
	rows := []model.Friendship{{UserID: a, FriendID: b, CreatedAt: now}, {UserID: b, FriendID: a, CreatedAt: now}}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("insert friendship: %w", err)
	}
	return nil
}

func areFriends(tx *gorm.DB, a, b uint64) (bool, error) {
	var n int64
	if err := tx.Model(&model.Friendship{}).Where("user_id = ? AND friend_id = ?", a, b).Count(&n).Error; err != nil {
		return false, fmt.Errorf("check friendship: %w", err)
	}
	return n > 0, nil
}

// publishAccepted tells each side of a new friendship about the other.
func (s *Friends) publishAccepted(ctx context.Context, a, b model.PublicUser) {
	s.Notifier.Publish(ctx, []uint64{a.ID}, model.Event{Type: model.EventFriendAccepted, Data: model.FriendEvent{User: b}})
	s.Notifier.Publish(ctx, []uint64{b.ID}, model.Event{Type: model.EventFriendAccepted, Data: model.FriendEvent{User: a}})
}

// Requests lists the caller's pending requests, newest first: box "incoming" (sent
// to the caller; the default) or "outgoing". Returns ErrInvalid.
func (s *Friends) Requests(ctx context.Context, box string, page PageRequest) (Page[model.FriendRequestView], error) {
	var column string
	switch box {
	case "incoming", "":
		column = "to_user_id"
	case "outgoing":
		column = "from_user_id"
	default:
		return Page[model.FriendRequestView]{}, model.FieldErrorf(model.ErrInvalid, "box", "box must be incoming or outgoing")
	}
	before, limit, err := page.idCursor()
	if err != nil {
		return Page[model.FriendRequestView]{}, err
	}
	q := s.db.WithContext(ctx).Where(column+" = ? AND status = ?", model.UserID(ctx), model.RequestPending)
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var rows []model.FriendRequest
	if err := q.Order("id DESC").Limit(limit + 1).Find(&rows).Error; err != nil {
		return Page[model.FriendRequestView]{}, fmt.Errorf("list requests: %w", err)
	}
	views, err := s.views(ctx, rows...)
	if err != nil {
		return Page[model.FriendRequestView]{}, err
	}
	return pageByID(views, limit, func(v model.FriendRequestView) uint64 { return v.ID }), nil
}

// views joins requests with their users.
func (s *Friends) views(ctx context.Context, reqs ...model.FriendRequest) ([]model.FriendRequestView, error) {
	ids := make([]uint64, 0, 2*len(reqs))
	for _, r := range reqs {
		ids = append(ids, r.FromUserID, r.ToUserID)
	}
	users, err := publicUsers(s.db.WithContext(ctx), ids...)
	if err != nil {
		return nil, err
	}
	out := make([]model.FriendRequestView, len(reqs))
	for i, r := range reqs {
		out[i] = model.FriendRequestView{ID: r.ID, FromUser: users[r.FromUserID], ToUser: users[r.ToUserID],
			Message: r.Message, Status: r.Status, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// Accept accepts a pending request sent to the caller: both become friends.
// Returns ErrNotFound (no such request to the caller) or ErrConflict (already
// answered).
func (s *Friends) Accept(ctx context.Context, requestID uint64) (*model.FriendRequestView, error) {
	return s.answer(ctx, requestID, model.RequestAccepted)
}

// Reject declines a pending request sent to the caller; the sender is not told.
// Returns ErrNotFound or ErrConflict, as Accept.
func (s *Friends) Reject(ctx context.Context, requestID uint64) (*model.FriendRequestView, error) {
	return s.answer(ctx, requestID, model.RequestRejected)
}

func (s *Friends) answer(ctx context.Context, requestID uint64, status string) (*model.FriendRequestView, error) {
	me := model.UserID(ctx)
	now := s.now()
	var req model.FriendRequest
	var newFriends bool
	err := s.db.WithContext(ctx).Where("id = ? AND to_user_id = ?", requestID, me).Take(&req).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, model.Errorf(model.ErrNotFound, "no such friend request")
	} else if err != nil {
		return nil, fmt.Errorf("find request: %w", err)
	}
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockUsers(tx, req.FromUserID, me); err != nil {
			return err
		}
		// Read again under the locks: a concurrent answer may have come first.
		if err := tx.Take(&req, req.ID).Error; err != nil {
			return fmt.Errorf("reload request: %w", err)
		}
		if req.Status != model.RequestPending {
			return model.Errorf(model.ErrConflict, "this request was already %s", req.Status)
		}
		req.Status, req.UpdatedAt = status, now
		if err := setRequestStatus(tx, req.ID, status, now); err != nil {
			return err
		}
		if status != model.RequestAccepted {
			return nil
		}
		if _, err := activeUser(tx, req.FromUserID); err != nil {
			return err
		}
		friends, err := areFriends(tx, me, req.FromUserID)
		if err != nil || friends {
			return err
		}
		newFriends = true
		if err := tx.Model(&model.FriendRequest{}).
			Where("from_user_id = ? AND to_user_id = ? AND status = ?", me, req.FromUserID, model.RequestPending).
			Updates(map[string]any{"status": model.RequestAccepted, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("accept crossing request: %w", err)
		}
		return befriend(tx, me, req.FromUserID, now)
	})
	if err != nil {
		return nil, err
	}
	views, err := s.views(ctx, req)
	if err != nil {
		return nil, err
	}
	if newFriends {
		s.publishAccepted(ctx, views[0].FromUser, views[0].ToUser)
	}
	return &views[0], nil
}

// List returns the caller's friends in id order, each with the caller's remark.
func (s *Friends) List(ctx context.Context, page PageRequest) (Page[model.FriendView], error) {
	after, limit, err := page.idCursor()
	if err != nil {
		return Page[model.FriendView]{}, err
	}
	var rows []model.Friendship
	err = s.db.WithContext(ctx).Where("user_id = ? AND friend_id > ?", model.UserID(ctx), after).
		Order("friend_id").Limit(limit + 1).Find(&rows).Error
	if err != nil {
		return Page[model.FriendView]{}, fmt.Errorf("list friends: %w", err)
	}
	ids := make([]uint64, len(rows))
	for i, r := range rows {
		ids[i] = r.FriendID
	}
	users, err := publicUsers(s.db.WithContext(ctx), ids...)
	if err != nil {
		return Page[model.FriendView]{}, err
	}
	online, err := s.Sockets.Online(ctx, ids)
	if err != nil {
		return Page[model.FriendView]{}, err
	}
	out := make([]model.FriendView, len(rows))
	for i, r := range rows {
		out[i] = model.FriendView{User: users[r.FriendID], Remark: r.Remark, Online: online[r.FriendID],
			Since: r.CreatedAt.UTC()}
	}
	return pageByID(out, limit, func(v model.FriendView) uint64 { return v.User.ID }), nil
}

// SetRemark sets the caller's private remark for a friend ("" clears it).
// Returns ErrInvalid or ErrNotFound (not a friend).
func (s *Friends) SetRemark(ctx context.Context, friendID uint64, remark string) (*model.FriendView, error) {
	remark, err := model.CleanLine(remark, "remark", model.RemarkMaxLen)
	if err != nil {
		return nil, err
	}
	me := model.UserID(ctx)
	res := s.db.WithContext(ctx).Model(&model.Friendship{}).Where("user_id = ? AND friend_id = ?", me, friendID).
		Update("remark", remark)
	if res.Error != nil {
		return nil, fmt.Errorf("set remark: %w", res.Error)
	}
	var row model.Friendship
	if err := s.db.WithContext(ctx).Where("user_id = ? AND friend_id = ?", me, friendID).Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, model.Errorf(model.ErrNotFound, "user %d is not your friend", friendID)
		}
		return nil, fmt.Errorf("load friendship: %w", err)
	}
	users, err := publicUsers(s.db.WithContext(ctx), friendID)
	if err != nil {
		return nil, err
	}
	return &model.FriendView{User: users[friendID], Remark: row.Remark, Since: row.CreatedAt.UTC()}, nil
}

// Remove ends a friendship both ways. Returns ErrNotFound (not a friend).
func (s *Friends) Remove(ctx context.Context, friendID uint64) error {
	me := model.UserID(ctx)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockUsers(tx, me, friendID); err != nil {
			return err
		}
		res := tx.Where("(user_id = ? AND friend_id = ?) OR (user_id = ? AND friend_id = ?)", me, friendID, friendID, me).
			Delete(&model.Friendship{})
		if res.Error != nil {
			return fmt.Errorf("delete friendship: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			return model.Errorf(model.ErrNotFound, "user %d is not your friend", friendID)
		}
		return nil
	})
	if err != nil {
		return err
	}
	users, err := publicUsers(s.db.WithContext(ctx), me, friendID)
	if err != nil {
		s.log.ErrorContext(ctx, "friend removed, event not sent", "user_id", me, "err", err)
		return nil
	}
	s.Notifier.Publish(ctx, []uint64{friendID}, model.Event{Type: model.EventFriendRemoved, Data: model.FriendEvent{User: users[me]}})
	s.Notifier.Publish(ctx, []uint64{me}, model.Event{Type: model.EventFriendRemoved, Data: model.FriendEvent{User: users[friendID]}})
	return nil
}

// remarks returns the caller's remarks for those of ids that are friends.
func remarks(tx *gorm.DB, me uint64, ids []uint64) (map[uint64]string, error) {
	out := map[uint64]string{}
	if len(ids) == 0 || me == 0 {
		return out, nil
	}
	var rows []model.Friendship
	if err := tx.Where("user_id = ? AND friend_id IN ?", me, ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load remarks: %w", err)
	}
	for _, r := range rows {
		out[r.FriendID] = r.Remark
	}
	return out, nil
}
