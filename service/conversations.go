package service

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"lechat/model"
)

// Conversations lists the caller's conversations, the most recently active first,
// each with its last message and the caller's unread count. The cursor is the
// position of the last entry of the previous page.
func (s *Chat) Conversations(ctx context.Context, page PageRequest) (Page[model.ConversationView], error) {
	limit := page.Limit
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 0 || limit > MaxPageSize:
		return Page[model.ConversationView]{}, model.FieldErrorf(model.ErrInvalid, "limit", "limit must be between 1 and %d", MaxPageSize)
	}
	if page.Cursor == "" {
		if err := s.ensureRobotConversation(ctx); err != nil {
			return Page[model.ConversationView]{}, err
		}
	}
	// Activity time is the last message's, or the creation's for an empty one.
	activity := "COALESCE(c.last_message_at, c.created_at)"
	q := s.db.WithContext(ctx).Table("conversation_members AS m").
		Joins("JOIN conversations AS c ON c.id = m.conversation_id").
		Where("m.user_id = ?", model.UserID(ctx))
	if page.Cursor != "" {
		at, id, err := parseActivityCursor(page.Cursor)
		if err != nil {
			return Page[model.ConversationView]{}, err
		}
		q = q.Where(activity+" < ? OR ("+activity+" = ? AND c.id < ?)", at, at, id)
	}
	var rows []model.ConversationMember
	err := q.Select("m.*").Order(activity + " DESC").Order("c.id DESC").Limit(limit + 1).Find(&rows).Error
	if err != nil {
		return Page[model.ConversationView]{}, fmt.Errorf("list conversations: %w", err)
	}
	views, err := s.views(ctx, rows)
	if err != nil {
		return Page[model.ConversationView]{}, err
	}
	p := Page[model.ConversationView]{Items: views}
	if len(views) > limit {
		p.Items = views[:limit]
		last := p.Items[limit-1]
		p.NextCursor = strconv.FormatInt(last.UpdatedAt.UnixMilli(), 10) + "_" + strconv.FormatUint(last.ID, 10)
	}
	return p, nil
}

func parseActivityCursor(c string) (time.Time, uint64, error) {
	bad := model.FieldErrorf(model.ErrInvalid, "cursor", "cursor is not one this server gave out")
	ms, id, ok := strings.Cut(c, "_")
	if !ok {
		return time.Time{}, 0, bad
	}
	m, err1 := strconv.ParseInt(ms, 10, 64)
	n, err2 := strconv.ParseUint(id, 10, 64)
	if err1 != nil || err2 != nil {
		return time.Time{}, 0, bad
	}
	return time.UnixMilli(m).UTC(), n, nil
}

// Conversation returns one conversation as the caller sees it. Returns
// ErrNotFound or ErrForbidden.
func (s *Chat) Conversation(ctx context.Context, convID uint64) (*model.ConversationView, error) {
	m, err := s.member(ctx, convID)
	if err != nil {
		return nil, err
	}
	views, err := s.views(ctx, []model.ConversationMember{*m})
	if err != nil {
		return nil, err
	}
	if len(views) == 0 {
		return nil, model.Errorf(model.ErrNotFound, "no such conversation")
	}
	return &views[0], nil
}

// views builds the list entries of the given memberships (all of one user).
func (s *Chat) views(ctx context.Context, ms []model.ConversationMember) ([]model.ConversationView, error) {
	out := []model.ConversationView{}
	if len(ms) == 0 {
		return out, nil
	}
	db := s.db.WithContext(ctx)
	me := ms[0].UserID
	ids := make([]uint64, len(ms))
	for i, m := range ms {
		ids[i] = m.ConversationID
	}
	var convs []model.Conversation
	if err := db.Where("id IN ?", ids).Find(&convs).Error; err != nil {
		return nil, fmt.Errorf("load conversations: %w", err)
	}
	byID := make(map[uint64]model.Conversation, len(convs))
	var peers, groupIDs []uint64
	lastKeys := make([][]any, 0, len(convs))
	for _, c := range convs {
		byID[c.ID] = c
		switch {
		case c.Type == model.ConversationPrivate && c.UserLow != nil:
			peer := *c.UserLow
			if peer == me {
				peer = *c.UserHigh
			}
			peers = append(peers, peer)
		case c.GroupID != nil:
			groupIDs = append(groupIDs, *c.GroupID)
		}
		if c.LastSeq > 0 {
			lastKeys = append(lastKeys, []any{c.ID, c.LastSeq})
		}
	}
	last := map[uint64]*model.Message{}
	if len(lastKeys) > 0 {
		var msgs []model.Message
		if err := db.Where("(conversation_id, seq) IN ?", lastKeys).Find(&msgs).Error; err != nil {
			return nil, fmt.Errorf("load last messages: %w", err)
		}
		for i := range msgs {
			last[msgs[i].ConversationID] = &msgs[i]
		}
	}
	users, err := publicUsers(db, peers...)
	if err != nil {
		return nil, err
	}
	rm, err := remarks(db, me, peers)
	if err != nil {
		return nil, err
	}
	groups := map[uint64]model.GroupBrief{}
	if len(groupIDs) > 0 {
		var gs []model.Group
		if err := db.Where("id IN ?", groupIDs).Find(&gs).Error; err != nil {
			return nil, fmt.Errorf("load groups: %w", err)
		}
		for _, g := range gs {
			groups[g.ID] = model.GroupBrief{ID: g.ID, Name: g.Name, AvatarURL: g.AvatarURL, MemberCount: g.MemberCount}
		}
	}
	for _, m := range ms {
		c, ok := byID[m.ConversationID]
		if !ok {
			continue
		}
		v := model.ConversationView{ID: c.ID, Type: c.Type, LastSeq: c.LastSeq, ReadSeq: max(m.ReadSeq, m.JoinedSeq),
			UpdatedAt: c.CreatedAt.UTC()}
		if c.LastMessageAt != nil {
			v.UpdatedAt = c.LastMessageAt.UTC()
		}
		if c.LastSeq > v.ReadSeq {
			v.Unread = c.LastSeq - v.ReadSeq
		}
		if lm := last[c.ID]; lm != nil && lm.Seq > m.JoinedSeq {
			v.LastMessage = lm
		}
		if c.Type == model.ConversationPrivate && c.UserLow != nil {
			peer := *c.UserLow
			if peer == me {
				peer = *c.UserHigh
			}
			p := model.UserProfile{PublicUser: users[peer]}
			if r, ok := rm[peer]; ok {
				p.IsFriend, p.Remark = true, &r
			}
			v.Peer = &p
		}
		if c.GroupID != nil {
			g := groups[*c.GroupID]
			v.Group = &g
		}
		out = append(out, v)
	}
	return out, nil
}

// ensureRobotConversation gives the caller their conversation with the robot, so
// that every conversation list includes it.
func (s *Chat) ensureRobotConversation(ctx context.Context) error {
	me := model.UserID(ctx)
	if s.RobotID == 0 || me == s.RobotID || me == 0 {
		return nil
	}
	var n int64
	err := s.db.WithContext(ctx).Model(&model.Conversation{}).
		Where("user_low = ? AND user_high = ?", min(me, s.RobotID), max(me, s.RobotID)).Count(&n).Error
	if err != nil {
		return fmt.Errorf("find robot conversation: %w", err)
	}
	if n > 0 {
		return nil
	}
	_, err = s.OpenPrivate(ctx, s.RobotID)
	return err
}
