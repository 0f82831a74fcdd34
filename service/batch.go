package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"lechat/model"
)

// Batched sending. One commit per message caps a node at the database's commit
// rate; instead, worker goroutines take every send that queued up while the
// previous batch was being written and store them in one transaction: lock the
// conversations in id order, check every sender in one query each for members,
// friendships and earlier sends, insert all messages at once, commit once. Under
// light load a batch is a single message and costs what a lone transaction does;
// under heavy load batches grow and the cost per message falls. If a batch fails
// as a whole (a race on a client_msg_id, a deadlock), its messages are retried
// one transaction each, so one bad message never fails the others.

// BatchConfig tunes batched sending.
type BatchConfig struct {
	Workers  int // concurrent batch writers
	MaxBatch int // messages in one transaction at most
	Queue    int // sends waiting at most; more wait for room
}

type sendReq struct {
	msg    *model.Message
	origin string          // the socket it came from, not to be echoed to
	res    chan sendResult // buffered: the worker never waits for the sender
}

// Start begins batched sending with cfg; Close ends it.
func (s *Chat) Start(cfg BatchConfig) {
	if cfg.Workers < 1 {
		cfg.Workers = 1
	}
	if cfg.MaxBatch < 1 {
		cfg.MaxBatch = 256
	}
	if cfg.Queue < cfg.MaxBatch {
		cfg.Queue = 4 * cfg.MaxBatch
	}
	// A conversation always goes to the same worker, which publishes after each
	// commit in seq order: every socket gets a conversation's messages in order.
	s.queues = make([]chan *sendReq, cfg.Workers)
	s.stop = make(chan struct{})
	for i := range s.queues {
		s.queues[i] = make(chan *sendReq, cfg.Queue)
		s.workers.Add(1)
		go s.batchWorker(s.queues[i], cfg.MaxBatch)
	}
}

// Close stops the batch writers after the batches under way; sends after Close
// fail with ErrUnavailable.
func (s *Chat) Close() {
	if s.stop == nil {
		return
	}
	close(s.stop)
	s.workers.Wait()
}

// enqueue hands msg to the batch writers and waits for its result or ctx. A send
// whose ctx ends while queued or being written may still be stored: a resend
// with the same client_msg_id tells.
func (s *Chat) enqueue(ctx context.Context, msg *model.Message) sendResult {
	r := &sendReq{msg: msg, origin: model.SocketID(ctx), res: make(chan sendResult, 1)}
	busy := sendResult{err: model.Errorf(model.ErrUnavailable, "the server is busy: resend the message")}
	select {
	case s.queues[msg.ConversationID%uint64(len(s.queues))] <- r:
	case <-s.stop:
		return busy
	case <-ctx.Done():
		return busy
	}
	select {
	case res := <-r.res:
		return res
	case <-ctx.Done():
		return busy
	}
}

func (s *Chat) batchWorker(queue chan *sendReq, max int) {
	defer s.workers.Done()
	batch := make([]*sendReq, 0, max)
	for {
		select {
		case <-s.stop:
			return
		case r := <-queue:
			batch = append(batch[:0], r)
		}
	fill:
		for len(batch) < max {
			select {
			case r := <-queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.writeBatch(batch)
	}
}

// writeBatch stores a batch, publishes what it stored in seq order, and
// answers each request.
func (s *Chat) writeBatch(batch []*sendReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	results := make([]sendResult, len(batch))
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return s.storeBatch(tx, batch, results)
	})
	if err != nil {
		// The batch as a whole failed: one transaction per message decides.
		if len(batch) > 1 || !errors.Is(err, model.ErrConflict) {
			s.log.Warn("batch failed, storing its messages one by one", "messages", len(batch), "err", err)
		}
		for i, r := range batch {
			r.msg.ID, r.msg.Seq = 0, 0
			results[i] = s.storeOne(ctx, r.msg)
		}
	}
	for i, r := range batch {
		if res := results[i]; res.err == nil && !res.dup {
			s.published(model.WithSocketID(ctx, r.origin), res)
		}
		r.res <- results[i]
	}
}

// pair is a (sender, conversation) or (user, friend) key.
type pair struct{ a, b uint64 }

// storeBatch writes every storable message of batch in tx and fills results.
func (s *Chat) storeBatch(tx *gorm.DB, batch []*sendReq, results []sendResult) error {
	convIDs := make([]uint64, 0, len(batch))
	for _, r := range batch {
		convIDs = append(convIDs, r.msg.ConversationID)
	}
	slices.Sort(convIDs)
	convIDs = slices.Compact(convIDs)

	// Lock the conversations, in id order so that batches cannot deadlock.
	var convs []model.Conversation
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id IN ?", convIDs).Order("id").
		Find(&convs).Error; err != nil {
		return fmt.Errorf("lock conversations: %w", err)
	}
	byID := make(map[uint64]*model.Conversation, len(convs))
	for i := range convs {
		byID[convs[i].ID] = &convs[i]
	}
	var memberRows []model.ConversationMember
	if err := tx.Select("conversation_id", "user_id").Where("conversation_id IN ?", convIDs).
		Find(&memberRows).Error; err != nil {
		return fmt.Errorf("list members: %w", err)
	}
	members := map[uint64][]uint64{}
	isMember := map[pair]bool{}
	for _, m := range memberRows {
		members[m.ConversationID] = append(members[m.ConversationID], m.UserID)
		isMember[pair{m.UserID, m.ConversationID}] = true
	}
	// Private conversations need the pair to still be friends.
	var friendKeys [][]any
	for _, r := range batch {
		if c := byID[r.msg.ConversationID]; c != nil && c.Type == model.ConversationPrivate && isMember[pair{r.msg.SenderID, c.ID}] {
			friendKeys = append(friendKeys, []any{r.msg.SenderID, peerOf(c, r.msg.SenderID)})
		}
	}
	friends := map[pair]bool{}
	if len(friendKeys) > 0 {
		var rows []model.Friendship
		if err := tx.Select("user_id", "friend_id").Where("(user_id, friend_id) IN ?", friendKeys).
			Find(&rows).Error; err != nil {
			return fmt.Errorf("check friendships: %w", err)
		}
		for _, f := range rows {
			friends[pair{f.UserID, f.FriendID}] = true
		}
	}
	// Earlier sends with the same client_msg_id.
	sentKeys := make([][]any, len(batch))
	for i, r := range batch {
		sentKeys[i] = []any{r.msg.SenderID, r.msg.ClientMsgID}
	}
	var prevRows []model.Message
	if err := tx.Where("(sender_id, client_msg_id) IN ?", sentKeys).Find(&prevRows).Error; err != nil {
		return fmt.Errorf("find earlier sends: %w", err)
	}
	type sentKey struct {
		sender uint64
		id     string
	}
	prev := make(map[sentKey]*model.Message, len(prevRows))
	for i := range prevRows {
		prev[sentKey{prevRows[i].SenderID, prevRows[i].ClientMsgID}] = &prevRows[i]
	}

	var fresh []*model.Message
	touched := map[uint64]bool{}
	readUpTo := map[pair]uint64{} // (sender, conversation) → their newest seq
	for i, r := range batch {
		m := r.msg
		c := byID[m.ConversationID]
		switch {
		case c == nil:
			results[i] = sendResult{err: errNoConversation()}
			continue
		case !isMember[pair{m.SenderID, c.ID}]:
			results[i] = sendResult{err: errNotMember()}
			continue
		case c.Type == model.ConversationPrivate:
			peer := peerOf(c, m.SenderID)
			if !friends[pair{m.SenderID, peer}] && (s.MayMessage == nil || !s.MayMessage(m.SenderID, peer)) {
				results[i] = sendResult{err: errNotFriends()}
				continue
			}
		}
		k := sentKey{m.SenderID, m.ClientMsgID}
		if p := prev[k]; p != nil { // a resend, possibly within this very batch
			results[i] = sendResult{msg: p, dup: true, err: sameConversation(p, m.ConversationID)}
			if results[i].err != nil {
				results[i].msg, results[i].dup = nil, false
			}
			continue
		}
		c.LastSeq++
		m.Seq = c.LastSeq
		c.LastMessageAt = &m.CreatedAt
		touched[c.ID] = true
		prev[k] = m
		fresh = append(fresh, m)
		readUpTo[pair{m.SenderID, c.ID}] = m.Seq
		results[i] = sendResult{msg: m, members: members[c.ID]}
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := tx.Create(&fresh).Error; err != nil {
		return fmt.Errorf("insert messages: %w", dbErr(err))
	}
	// Two statements for the whole batch, however many conversations and senders
	// it holds: a round trip each is what batching saves.
	var convCase, atCase strings.Builder
	var convArgs, atArgs []any
	var ids []uint64
	for _, id := range convIDs {
		if !touched[id] {
			continue
		}
		c := byID[id]
		convCase.WriteString(" WHEN ? THEN ?")
		convArgs = append(convArgs, id, c.LastSeq)
		atCase.WriteString(" WHEN ? THEN ?")
		atArgs = append(atArgs, id, *c.LastMessageAt)
		ids = append(ids, id)
	}
	if err := tx.Exec("UPDATE conversations SET last_seq = CASE id"+convCase.String()+" END, "+
		"last_message_at = CASE id"+atCase.String()+" END WHERE id IN ?",
		append(append(convArgs, atArgs...), ids)...).Error; err != nil {
		return fmt.Errorf("advance conversations: %w", err)
	}
	// Your own messages are read by you. Each sender's seq is beyond its read
	// cursor: the seq was just taken under the conversation's lock.
	var readCase strings.Builder
	var readArgs []any
	keys := make([][]any, 0, len(readUpTo))
	for k, seq := range readUpTo {
		readCase.WriteString(" WHEN conversation_id = ? AND user_id = ? THEN ?")
		readArgs = append(readArgs, k.b, k.a, seq)
		keys = append(keys, []any{k.b, k.a})
	}
	if err := tx.Exec("UPDATE conversation_members SET read_seq = CASE"+readCase.String()+" ELSE read_seq END "+
		"WHERE (conversation_id, user_id) IN ?", append(readArgs, keys)...).Error; err != nil {
		return fmt.Errorf("move read cursors: %w", err)
	}
	return nil
}
