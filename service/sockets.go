package service

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"gorm.io/gorm"

	"lechat/model"
)

// Sockets keeps the socket table: one row per live WebSocket on any node, so that
// presence and delivery know who is connected where. Rows are refreshed by
// heartbeats; a row not refreshed within StaleAfter belongs to a dead node and
// no longer counts.
type Sockets struct {
	db         *gorm.DB
	log        *slog.Logger
	NodeID     string
	StaleAfter time.Duration
	Notifier   Notifier
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewSockets returns the socket table of node nodeID.
func NewSockets(db *gorm.DB, nodeID string, staleAfter time.Duration, log *slog.Logger) *Sockets {
	return &Sockets{db: db, log: log, NodeID: nodeID, StaleAfter: staleAfter, Notifier: NopNotifier{}, Now: time.Now}
}

func (s *Sockets) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Sockets) liveSince() time.Time { return s.now().Add(-s.StaleAfter) }

// Connected records a new socket of userID with token tokenID. When it is the
// user's first live socket anywhere, the user's friends are told they are online.
func (s *Sockets) Connected(ctx context.Context, socketID string, userID uint64, tokenID string) error {
	now := s.now()
	row := model.Socket{ID: socketID, UserID: userID, NodeID: s.NodeID, TokenID: tokenID, ConnectedAt: now, LastSeen: now}
	first, err := s.change(ctx, userID, func(tx *gorm.DB) error { return tx.Create(&row).Error })
	if err != nil {
		return fmt.Errorf("insert socket: %w", err)
	}
	if first == 1 {
		s.announce(ctx, userID, true)
	}
	return nil
}

// Disconnected removes a socket. When the user has no live socket left anywhere,
// their friends are told they went offline.
func (s *Sockets) Disconnected(ctx context.Context, socketID string, userID uint64) error {
	left, err := s.change(ctx, userID, func(tx *gorm.DB) error {
		return tx.Where("id = ?", socketID).Delete(&model.Socket{}).Error
	})
	if err != nil {
		return fmt.Errorf("delete socket: %w", err)
	}
	if left == 0 {
		s.announce(ctx, userID, false)
	}
	return nil
}

// change applies fn to a user's socket rows and returns how many live ones the
// user then has, under the user's row lock: two devices connecting at once see
// 1 and 2, never 2 and 2, so exactly one presence frame goes out.
func (s *Sockets) change(ctx context.Context, userID uint64, fn func(tx *gorm.DB) error) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockUsers(tx, userID); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		return tx.Model(&model.Socket{}).Where("user_id = ? AND last_seen >= ?", userID, s.liveSince()).Count(&n).Error
	})
	return n, err
}

// announce sends a presence frame about userID to their friends.
func (s *Sockets) announce(ctx context.Context, userID uint64, online bool) {
	var friends []uint64
	if err := s.db.WithContext(ctx).Model(&model.Friendship{}).Where("user_id = ?", userID).
		Pluck("friend_id", &friends).Error; err != nil {
		s.log.ErrorContext(ctx, "presence not sent", "user_id", userID, "err", err)
		return
	}
	if len(friends) > 0 {
		s.Notifier.Publish(ctx, friends, model.Event{Type: model.EventPresence,
			Data: model.PresenceEvent{UserID: userID, Online: online}})
	}
}

// Heartbeat marks every socket of this node as alive now.
func (s *Sockets) Heartbeat(ctx context.Context) error {
	err := s.db.WithContext(ctx).Model(&model.Socket{}).Where("node_id = ?", s.NodeID).
		Update("last_seen", s.now()).Error
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// CleanNode removes the rows this node left behind in an earlier run.
func (s *Sockets) CleanNode(ctx context.Context) error {
	if err := s.db.WithContext(ctx).Where("node_id = ?", s.NodeID).Delete(&model.Socket{}).Error; err != nil {
		return fmt.Errorf("clean node sockets: %w", err)
	}
	return nil
}

// Expire removes the rows of dead nodes (not refreshed within StaleAfter) and
// tells the friends of users who thereby went offline. Every node runs it; a
// row is announced by the node whose delete removed it, so once. This node's own
// rows are never stale while it runs (its heartbeat may just be late).
func (s *Sockets) Expire(ctx context.Context) error {
	cutoff := s.liveSince()
	var stale []model.Socket
	if err := s.db.WithContext(ctx).Where("last_seen < ? AND node_id <> ?", cutoff, s.NodeID).Find(&stale).Error; err != nil {
		return fmt.Errorf("find stale sockets: %w", err)
	}
	if len(stale) == 0 {
		return nil
	}
	ids := make([]string, len(stale))
	users := map[uint64]bool{}
	for i, r := range stale {
		ids[i] = r.ID
		users[r.UserID] = true
	}
	for uid := range users {
		var deleted int64
		left, err := s.change(ctx, uid, func(tx *gorm.DB) error {
			res := tx.Where("user_id = ? AND id IN ? AND last_seen < ?", uid, ids, cutoff).Delete(&model.Socket{})
			deleted = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return fmt.Errorf("delete stale sockets: %w", err)
		}
		if left == 0 && deleted > 0 {
			s.announce(ctx, uid, false)
		}
	}
	return nil
}

// Online reports which of ids have a live socket on any node.
func (s *Sockets) Online(ctx context.Context, ids []uint64) (map[uint64]bool, error) {
	out := map[uint64]bool{}
	if s == nil || len(ids) == 0 {
		return out, nil
	}
	var live []uint64
	err := s.db.WithContext(ctx).Model(&model.Socket{}).Distinct("user_id").
		Where("user_id IN ? AND last_seen >= ?", ids, s.liveSince()).Pluck("user_id", &live).Error
	if err != nil {
		return nil, fmt.Errorf("find online users: %w", err)
	}
	for _, id := range live {
		out[id] = true
	}
	return out, nil
}

// Sockets returns the live sockets of a user, on any node.
func (s *Sockets) Sockets(ctx context.Context, userID uint64) ([]model.Socket, error) {
	var rows []model.Socket
	err := s.db.WithContext(ctx).Where("user_id = ? AND last_seen >= ?", userID, s.liveSince()).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list sockets: %w", err)
	}
	return rows, nil
}
