package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"lechat/model"
)

// Chat stores and delivers messages: private conversations between friends and
// group conversations, with gap-free per-conversation seqs, read cursors and
// typing notices.
type Chat struct {
	db       *gorm.DB
	log      *slog.Logger
	queues   []chan *sendReq // nil until Start: then sends are batched
	stop     chan struct{}
	workers  sync.WaitGroup
	Notifier Notifier
	// Now is the clock; tests replace it.
	Now func() time.Time
	// MayMessage, when set, lets a private conversation go on without a friendship
	// when it returns true for the pair (the robot talks to anyone).
	MayMessage func(a, b uint64) bool
	// AfterSend, when set, hears of every newly stored message (the robot). It
	// must not block.
	AfterSend func(msg *model.Message, members []uint64)
	// RobotID, when set, is the robot's account: every user's conversation list
	// includes their conversation with it.
	RobotID uint64
	// Images checks image messages; without it, image messages are refused.
	Images Images
}

// NewChat returns the chat service; events go nowhere until Notifier is set.
func NewChat(db *gorm.DB, log *slog.Logger) *Chat {
	return &Chat{db: db, log: log, Notifier: NopNotifier{}, Now: time.Now}
}

func (s *Chat) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

func (s *Chat) mayMessage(tx *gorm.DB, a, b uint64) (bool, error) {
	if s.MayMessage != nil && s.MayMessage(a, b) {
		return true, nil
	}
	return areFriends(tx, a, b)
}

// OpenPrivate returns the caller's private conversation with userID, creating it
// on first use. Returns ErrInvalid (yourself), ErrNotFound (no such active user)
// or ErrForbidden (not friends).
func (s *Chat) OpenPrivate(ctx context.Context, userID uint64) (*model.ConversationView, error) {
	me := model.UserID(ctx)
	if userID == me {
		return nil, model.FieldErrorf(model.ErrInvalid, "user_id", "you cannot open a conversation with yourself")
	}
	if userID == 0 {
		return nil, model.FieldErrorf(model.ErrInvalid, "user_id", "user_id is required")
	}
	low, high := min(me, userID), max(me, userID)
	var conv model.Conversation
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := lockUsers(tx, me, userID); err != nil {
			return err
		}
		if _, err := activeUser(tx, userID); err != nil {
			return err
		}
		err := tx.Where("user_low = ? AND user_high = ?", low, high).Take(&conv).Error
		if err == nil {
			return nil
		} else if !errors.Is(err, gorm.ErrRecordNotFound) {
			return fmt.Errorf("find conversation: %w", err)
		}
		if ok, err := s.mayMessage(tx, me, userID); err != nil {
			return err
		} else if !ok {
			return model.Errorf(model.ErrForbidden, "you can only chat with your friends")
		}
		now := s.now()
		conv = model.Conversation{Type: model.ConversationPrivate, UserLow: &low, UserHigh: &high, CreatedAt: now}
		if err := tx.Create(&conv).Error; err != nil {
			return fmt.Errorf("insert conversation: %w", err)
		}
		return joinConversation(tx, conv.ID, 0, now, me, userID)
	})
	if err != nil {
		return nil, err
	}
	views, err := s.views(ctx, []model.ConversationMember{{ConversationID: conv.ID, UserID: me}})
	if err != nil {
		return nil, err
	}
	if len(views) == 0 {
		return nil, fmt.Errorf("conversation %d vanished", conv.ID)
	}
	return &views[0], nil
}

// joinConversation adds users to a conversation; they see messages after seq.
// Users already in it are left as they are.
func joinConversation(tx *gorm.DB, convID, seq uint64, now time.Time, userIDs ...uint64) error {
	if len(userIDs) == 0 {
		return nil
	}
	rows := make([]model.ConversationMember, len(userIDs))
	for i, id := range userIDs {
		rows[i] = model.ConversationMember{ConversationID: convID, UserID: id, ReadSeq: seq, JoinedSeq: seq, CreatedAt: now}
	}
	if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error; err != nil {
		return fmt.Errorf("add conversation members: %w", err)
	}
	return nil
}

// createGroupConversation makes the conversation of a new group with its members.
func createGroupConversation(tx *gorm.DB, groupID uint64, now time.Time, memberIDs ...uint64) (uint64, error) {
	conv := model.Conversation{Type: model.ConversationGroup, GroupID: &groupID, CreatedAt: now}
	if err := tx.Create(&conv).Error; err != nil {
		return 0, fmt.Errorf("insert group conversation: %w", err)
	}
	return conv.ID, joinConversation(tx, conv.ID, 0, now, memberIDs...)
}

// joinGroupConversation adds new group members to the group's conversation: they
// see what is said from now on.
func joinGroupConversation(tx *gorm.DB, convID uint64, now time.Time, userIDs ...uint64) error {
	var conv model.Conversation
	if err := tx.Select("id", "last_seq").Take(&conv, convID).Error; err != nil {
		return fmt.Errorf("load group conversation: %w", err)
	}
	return joinConversation(tx, convID, conv.LastSeq, now, userIDs...)
}

// leaveConversation takes users out of a conversation.
func leaveConversation(tx *gorm.DB, convID uint64, userIDs ...uint64) error {
	if len(userIDs) == 0 {
		return nil
	}
	err := tx.Where("conversation_id = ? AND user_id IN ?", convID, userIDs).Delete(&model.ConversationMember{}).Error
	if err != nil {
		return fmt.Errorf("remove conversation members: %w", err)
	}
	return nil
}

// deleteConversation removes a conversation with its members and messages.
func deleteConversation(tx *gorm.DB, convID uint64) error {
	for _, m := range []any{&model.Message{}, &model.ConversationMember{}} {
		if err := tx.Where("conversation_id = ?", convID).Delete(m).Error; err != nil {
			return fmt.Errorf("delete conversation rows: %w", err)
		}
	}
	if err := tx.Delete(&model.Conversation{}, convID).Error; err != nil {
		return fmt.Errorf("delete conversation: %w", err)
	}
	return nil
}

// Send stores a message from the caller and notifies every member after commit.
// A message whose client_msg_id the caller already used comes back as it was
// stored, with dup true, and nothing new is stored or sent. Returns ErrInvalid,
// ErrNotFound (no such conversation), ErrForbidden (not a member, or no longer
// friends), ErrConflict (the client_msg_id belongs to another conversation) or
// ErrUnavailable (the database did not answer in time; resend with the same
// client_msg_id).
//
// Once Start has run, sends from all clients are written in batches — one
// transaction and one commit for whatever queued up while the previous batch was
// being written — else each is its own transaction. Either way a message is
// acked only after its commit.
func (s *Chat) Send(ctx context.Context, in model.NewMessage) (msg *model.Message, dup bool, err error) {
	content, err := in.Normalize()
	if err != nil {
		return nil, false, err
	}
	if in.Kind == model.KindImage {
		if err := checkImageMessage(ctx, s.Images, content); err != nil {
			return nil, false, err
		}
	}
	me := model.UserID(ctx)
	msg = &model.Message{ConversationID: in.ConversationID, SenderID: me, Kind: in.Kind,
		Content: content, ClientMsgID: in.ClientMsgID, CreatedAt: s.now()}
	if s.queues != nil {
		res := s.enqueue(ctx, msg) // the batch worker publishes
		return res.msg, res.dup, res.err
	}
	res := s.storeOne(ctx, msg)
	if res.err != nil || res.dup {
		return res.msg, res.dup, res.err
	}
	s.published(ctx, res)
	return res.msg, false, nil
}

// published tells the members of a newly stored message, and AfterSend.
func (s *Chat) published(ctx context.Context, res sendResult) {
	s.Notifier.Publish(ctx, res.members, model.Event{Type: model.EventMessageNew, Data: model.MessageEvent{Message: res.msg}})
	if s.AfterSend != nil {
		s.AfterSend(res.msg, res.members)
	}
}

// sendResult is what storing one message came to.
type sendResult struct {
	msg     *model.Message
	dup     bool     // msg was stored before, by an earlier send with its client_msg_id
	members []uint64 // who to tell, when stored now
	err     error
}

// storeOne stores msg in a transaction of its own.
func (s *Chat) storeOne(ctx context.Context, msg *model.Message) sendResult {
	var members []uint64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var conv model.Conversation
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Take(&conv, msg.ConversationID).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return errNoConversation()
		} else if err != nil {
			return fmt.Errorf("lock conversation: %w", err)
		}
		if err := tx.Model(&model.ConversationMember{}).Where("conversation_id = ?", conv.ID).
			Pluck("user_id", &members).Error; err != nil {
			return fmt.Errorf("list members: %w", err)
		}
		if !contains(members, msg.SenderID) {
			return errNotMember()
		}
		if conv.Type == model.ConversationPrivate {
			if ok, err := s.mayMessage(tx, msg.SenderID, peerOf(&conv, msg.SenderID)); err != nil {
				return err
			} else if !ok {
				return errNotFriends()
			}
		}
		msg.Seq = conv.LastSeq + 1
		if err := tx.Create(msg).Error; err != nil {
			return fmt.Errorf("insert message: %w", dbErr(err))
		}
		if err := tx.Model(&model.Conversation{}).Where("id = ?", conv.ID).
			Updates(map[string]any{"last_seq": msg.Seq, "last_message_at": msg.CreatedAt}).Error; err != nil {
			return fmt.Errorf("advance conversation: %w", err)
		}
		// Your own message is read by you.
		return tx.Model(&model.ConversationMember{}).Where("conversation_id = ? AND user_id = ?", conv.ID, msg.SenderID).
			Update("read_seq", msg.Seq).Error
	})
	if errors.Is(err, model.ErrConflict) { // (sender, client_msg_id) is taken: a resend
		prev, err := s.sent(ctx, msg.SenderID, msg.ConversationID, msg.ClientMsgID)
		if prev != nil || err != nil {
			return sendResult{msg: prev, dup: prev != nil, err: err}
		}
	}
	if err != nil {
		return sendResult{err: unavailableIfDown(err)}
	}
	return sendResult{msg: msg, members: members}
}

func errNoConversation() error {
	return model.FieldErrorf(model.ErrNotFound, "conversation_id", "no such conversation")
}

func errNotMember() error {
	return model.Errorf(model.ErrForbidden, "you are not a member of this conversation")
}

func errNotFriends() error { return model.Errorf(model.ErrForbidden, "you are no longer friends") }

// peerOf is the other user of a private conversation.
func peerOf(c *model.Conversation, me uint64) uint64 {
	if *c.UserLow == me {
		return *c.UserHigh
	}
	return *c.UserLow
}

// sent returns the message the sender already stored with clientMsgID, or nil.
// Returns ErrConflict when that message is in another conversation.
func (s *Chat) sent(ctx context.Context, sender, convID uint64, clientMsgID string) (*model.Message, error) {
	var prev model.Message
	err := s.db.WithContext(ctx).Where("sender_id = ? AND client_msg_id = ?", sender, clientMsgID).Take(&prev).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("find sent message: %w", err)
	}
	return &prev, sameConversation(&prev, convID)
}

func sameConversation(prev *model.Message, convID uint64) error {
	if prev.ConversationID != convID {
		return model.FieldErrorf(model.ErrConflict, "client_msg_id", "this client_msg_id was used for another conversation")
	}
	return nil
}

func contains(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// member returns the caller's membership of a conversation. Returns ErrNotFound
// (no such conversation) or ErrForbidden (not a member).
func (s *Chat) member(ctx context.Context, convID uint64) (*model.ConversationMember, error) {
	var m model.ConversationMember
	err := s.db.WithContext(ctx).Where("conversation_id = ? AND user_id = ?", convID, model.UserID(ctx)).Take(&m).Error
	if err == nil {
		return &m, nil
	} else if !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("find membership: %w", err)
	}
	var n int64
	if err := s.db.WithContext(ctx).Model(&model.Conversation{}).Where("id = ?", convID).Count(&n).Error; err != nil {
		return nil, fmt.Errorf("find conversation: %w", err)
	}
	if n == 0 {
		return nil, model.Errorf(model.ErrNotFound, "no such conversation")
	}
	return nil, model.Errorf(model.ErrForbidden, "you are not a member of this conversation")
}

// HistoryRequest pages a conversation's messages: with AfterSeq set, the first
// Limit after it; otherwise the last Limit before BeforeSeq (0: the newest).
type HistoryRequest struct {
	AfterSeq  *uint64
	BeforeSeq uint64
	Limit     int
}

// Messages returns messages of a conversation the caller belongs to, in ascending
// seq; only those after the caller joined. Returns ErrInvalid, ErrNotFound or
// ErrForbidden.
func (s *Chat) Messages(ctx context.Context, convID uint64, h HistoryRequest) ([]model.Message, error) {
	limit := h.Limit
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 0 || limit > MaxPageSize:
		return nil, model.FieldErrorf(model.ErrInvalid, "limit", "limit must be between 1 and %d", MaxPageSize)
	}
	if h.AfterSeq != nil && h.BeforeSeq > 0 {
		return nil, model.Errorf(model.ErrInvalid, "give after_seq or before_seq, not both")
	}
	m, err := s.member(ctx, convID)
	if err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Where("conversation_id = ? AND seq > ?", convID, m.JoinedSeq)
	var out []model.Message
	if h.AfterSeq != nil {
		err = q.Where("seq > ?", *h.AfterSeq).Order("seq").Limit(limit).Find(&out).Error
	} else {
		if h.BeforeSeq > 0 {
			q = q.Where("seq < ?", h.BeforeSeq)
		}
		err = q.Order("seq DESC").Limit(limit).Find(&out).Error
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	if err != nil {
		return nil, fmt.Errorf("load messages: %w", err)
	}
	if out == nil {
		out = []model.Message{}
	}
	return out, nil
}

// MarkRead moves the caller's read cursor forward to seq (never back) and sends a
// read receipt to the other members (and the caller's other devices). Returns
// ErrInvalid (seq beyond the last message), ErrNotFound or ErrForbidden.
func (s *Chat) MarkRead(ctx context.Context, convID, seq uint64) error {
	m, err := s.member(ctx, convID)
	if err != nil {
		return err
	}
	var conv model.Conversation
	if err := s.db.WithContext(ctx).Select("id", "last_seq").Take(&conv, convID).Error; err != nil {
		return fmt.Errorf("load conversation: %w", err)
	}
	if seq > conv.LastSeq {
		return model.FieldErrorf(model.ErrInvalid, "seq", "seq %d is beyond the last message (%d)", seq, conv.LastSeq)
	}
	if seq <= m.ReadSeq {
		return nil
	}
	res := s.db.WithContext(ctx).Model(&model.ConversationMember{}).
		Where("conversation_id = ? AND user_id = ? AND read_seq < ?", convID, m.UserID, seq).Update("read_seq", seq)
	if res.Error != nil {
		return fmt.Errorf("move read cursor: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return nil
	}
	members, err := s.memberIDs(ctx, convID)
	if err != nil {
		return err
	}
	s.Notifier.Publish(ctx, members, model.Event{Type: model.EventRead,
		Data: model.ReadEvent{ConversationID: convID, UserID: m.UserID, Seq: seq}})
	return nil
}

// Typing tells the other members that the caller is typing. Nothing is stored.
// Returns ErrNotFound or ErrForbidden.
func (s *Chat) Typing(ctx context.Context, convID uint64) error {
	me := model.UserID(ctx)
	members, err := s.memberIDs(ctx, convID)
	if err != nil {
		return err
	}
	if !contains(members, me) {
		if _, err := s.member(ctx, convID); err != nil {
			return err
		}
	}
	others := members[:0:0]
	for _, id := range members {
		if id != me {
			others = append(others, id)
		}
	}
	s.Notifier.Publish(ctx, others, model.Event{Type: model.EventTyping,
		Data: model.TypingEvent{ConversationID: convID, UserID: me}})
	return nil
}

func (s *Chat) memberIDs(ctx context.Context, convID uint64) ([]uint64, error) {
	var ids []uint64
	err := s.db.WithContext(ctx).Model(&model.ConversationMember{}).Where("conversation_id = ?", convID).
		Pluck("user_id", &ids).Error
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return ids, nil
}
