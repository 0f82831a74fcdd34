package service_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

// chatModes runs fn with a chat service that sends one transaction per message
// and with one that batches.
func chatModes(t *testing.T, db *gorm.DB, fn func(t *testing.T, s *social, chat *service.Chat)) {
	for _, batched := range []bool{false, true} {
		name := "direct"
		if batched {
			name = "batched"
		}
		t.Run(name, func(t *testing.T) {
			s := newSocial(t, db)
			chat := service.NewChat(db, servicetest.Logger())
			chat.Notifier = s.events
			if batched {
				chat.Start(service.BatchConfig{Workers: 2, MaxBatch: 64})
				t.Cleanup(chat.Close)
			}
			fn(t, s, chat)
		})
	}
}

func text(convID uint64, id, body string) model.NewMessage {
	b, _ := json.Marshal(body)
	return model.NewMessage{ConversationID: convID, ClientMsgID: id, Kind: model.KindText, Content: b}
}

func TestSendRules(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		chatModes(t, db, func(t *testing.T, s *social, chat *service.Chat) {
			alice, asAlice := s.user()
			bob, asBob := s.user()
			_, asCarol := s.user()
			servicetest.Befriend(t, db, alice.ID, bob.ID)
			conv, err := chat.OpenPrivate(asAlice, bob.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := chat.OpenPrivate(asCarol, bob.ID); !errors.Is(err, model.ErrForbidden) {
				t.Errorf("OpenPrivate with a stranger: %v", err)
			}
			again, err := chat.OpenPrivate(asBob, alice.ID)
			if err != nil || again.ID != conv.ID {
				t.Fatalf("Bob's OpenPrivate = %+v, %v; want conversation %d", again, err, conv.ID)
			}

			m1, dup, err := chat.Send(asAlice, text(conv.ID, "a-1", "你好 👋"))
			if err != nil || dup || m1.Seq != 1 || m1.SenderID != alice.ID || m1.ID == 0 {
				t.Fatalf("Send = %+v, %v, %v", m1, dup, err)
			}
			ev := s.events.Events(model.EventMessageNew)
			if len(ev) != 1 || !sameIDs(ev[0].To, alice.ID, bob.ID) {
				t.Fatalf("message.new events %+v", ev)
			}
			// A resend stores nothing and tells nobody.
			m1b, dup, err := chat.Send(asAlice, text(conv.ID, "a-1", "你好 👋"))
			if err != nil || !dup || m1b.ID != m1.ID || m1b.Seq != 1 {
				t.Fatalf("resend = %+v, %v, %v", m1b, dup, err)
			}
			if n := len(s.events.Events(model.EventMessageNew)); n != 1 {
				t.Errorf("%d message.new events after a resend, want 1", n)
			}
			// The same client_msg_id in another conversation is a conflict.
			carol2, _ := s.user()
			servicetest.Befriend(t, db, alice.ID, carol2.ID)
			other, _ := chat.OpenPrivate(asAlice, carol2.ID)
			if _, _, err := chat.Send(asAlice, text(other.ID, "a-1", "x")); !errors.Is(err, model.ErrConflict) {
				t.Errorf("client_msg_id reused elsewhere: %v", err)
			}
			// Outsiders and unknown conversations.
			if _, _, err := chat.Send(asCarol, text(conv.ID, "c-1", "let me in")); !errors.Is(err, model.ErrForbidden) {
				t.Errorf("outsider: %v", err)
			}
			if _, _, err := chat.Send(asAlice, text(1<<50, "a-2", "x")); !errors.Is(err, model.ErrNotFound) {
				t.Errorf("unknown conversation: %v", err)
			}
			// After unfriending, private sending is forbidden; history stays readable.
			if err := s.friends.Remove(asBob, alice.ID); err != nil {
				t.Fatal(err)
			}
			if _, _, err := chat.Send(asAlice, text(conv.ID, "a-3", "still there?")); !errors.Is(err, model.ErrForbidden) {
				t.Errorf("after unfriending: %v", err)
			}
			if n := count(t, db, "messages", "conversation_id = ?", conv.ID); n != 1 {
				t.Errorf("%d messages stored, want 1", n)
			}
			hist, err := chat.Messages(asBob, conv.ID, service.HistoryRequest{})
			if err != nil || len(hist) != 1 || hist[0].Content != "你好 👋" {
				t.Errorf("history %+v, %v", hist, err)
			}
		})
	})
}

func TestConcurrentSendersKeepSeqDense(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		chatModes(t, db, func(t *testing.T, s *social, chat *service.Chat) {
			owner, asOwner := s.user()
			const members, each = 6, 25
			ctxs := []context.Context{asOwner}
			var ids []uint64
			for range members - 1 {
				u, ctx := s.user()
				servicetest.Befriend(t, db, owner.ID, u.ID)
				ctxs = append(ctxs, ctx)
				ids = append(ids, u.ID)
			}
			groups := service.NewGroups(db, service.GroupsConfig{}, servicetest.Logger())
			g, err := groups.Create(asOwner, service.CreateGroupInput{Name: "并发 🚀", MemberIDs: ids})
			if err != nil {
				t.Fatal(err)
			}
			convID := *g.ConversationID
			var wg sync.WaitGroup
			errs := make(chan error, members*each)
			for i, ctx := range ctxs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for j := range each {
						if _, _, err := chat.Send(ctx, text(convID, fmt.Sprintf("m-%d-%d", i, j), "hi")); err != nil {
							errs <- err
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("concurrent Send: %v", err)
			}
			var seqs []uint64
			db.Table("messages").Where("conversation_id = ?", convID).Order("seq").Pluck("seq", &seqs)
			if len(seqs) != members*each {
				t.Fatalf("%d messages stored, want %d", len(seqs), members*each)
			}
			for i, seq := range seqs {
				if seq != uint64(i+1) {
					t.Fatalf("seqs are not 1..%d: position %d holds %d", len(seqs), i, seq)
				}
			}
			var last uint64
			db.Table("conversations").Where("id = ?", convID).Pluck("last_seq", &last)
			if last != uint64(len(seqs)) {
				t.Errorf("last_seq %d, want %d", last, len(seqs))
			}
			// Everyone's own messages count as read: unread is what the others said.
			view, err := chat.Conversation(ctxs[1], convID)
			if err != nil {
				t.Fatal(err)
			}
			if view.Unread > uint64(len(seqs)-each) || view.LastMessage == nil || view.LastMessage.Seq != last {
				t.Errorf("conversation view %+v", view)
			}
		})
	})
}

func TestReadCursorAndHistoryPaging(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		chatModes(t, db, func(t *testing.T, s *social, chat *service.Chat) {
			alice, asAlice := s.user()
			bob, asBob := s.user()
			servicetest.Befriend(t, db, alice.ID, bob.ID)
			conv, _ := chat.OpenPrivate(asAlice, bob.ID)
			for i := range 7 {
				if _, _, err := chat.Send(asAlice, text(conv.ID, fmt.Sprintf("p-%d", i), fmt.Sprint(i+1))); err != nil {
					t.Fatal(err)
				}
			}
			if mine, _ := chat.Conversation(asAlice, conv.ID); mine.Unread != 0 || mine.ReadSeq != 7 || mine.LastSeq != 7 {
				t.Errorf("the sender's own view %+v: own messages must count as read", mine)
			}
			after := uint64(2)
			page, _ := chat.Messages(asBob, conv.ID, service.HistoryRequest{AfterSeq: &after, Limit: 3})
			if len(page) != 3 || page[0].Seq != 3 || page[2].Seq != 5 {
				t.Errorf("after 2 = %+v", page)
			}
			page, _ = chat.Messages(asBob, conv.ID, service.HistoryRequest{BeforeSeq: 6, Limit: 2})
			if len(page) != 2 || page[0].Seq != 4 || page[1].Seq != 5 {
				t.Errorf("before 6 = %+v", page)
			}
			page, _ = chat.Messages(asBob, conv.ID, service.HistoryRequest{Limit: 3})
			if len(page) != 3 || page[2].Seq != 7 {
				t.Errorf("newest = %+v", page)
			}
			if _, err := chat.Messages(asBob, conv.ID, service.HistoryRequest{AfterSeq: &after, BeforeSeq: 5}); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("after and before: %v", err)
			}
			v, _ := chat.Conversation(asBob, conv.ID)
			if v.Unread != 7 || v.ReadSeq != 0 {
				t.Errorf("Bob's view before reading %+v", v)
			}
			s.events.Reset()
			if err := chat.MarkRead(asBob, conv.ID, 5); err != nil {
				t.Fatal(err)
			}
			if err := chat.MarkRead(asBob, conv.ID, 3); err != nil { // never back
				t.Fatal(err)
			}
			if err := chat.MarkRead(asBob, conv.ID, 8); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("read beyond the end: %v", err)
			}
			v, _ = chat.Conversation(asBob, conv.ID)
			if v.Unread != 2 || v.ReadSeq != 5 {
				t.Errorf("Bob's view after reading %+v", v)
			}
			if ev := s.events.Events(model.EventRead); len(ev) != 1 || !sameIDs(ev[0].To, alice.ID, bob.ID) {
				t.Errorf("read events %+v", ev)
			}
		})
	})
}
