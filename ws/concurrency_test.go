package ws_test

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"lechat/service/servicetest"
)

// Eight members of a group send 50 messages each at once, each from their own
// socket: the conversation ends with seqs 1..400, no gap, no duplicate, every
// acked message stored once, and every socket sees every seq exactly once.
func TestConcurrentSendersInGroup(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		const users, each = 8, 50
		owner := h.newUser(t)
		members := []*user{owner}
		var ids []uint64
		for range users - 1 {
			u := h.newUser(t)
			h.befriend(t, owner, u)
			members = append(members, u)
			ids = append(ids, u.ID)
		}
		var created struct {
			Group struct {
				ID             uint64  `json:"id"`
				ConversationID *uint64 `json:"conversation_id"`
			} `json:"group"`
		}
		h.doJSON(t, "POST", "/api/v1/groups", owner.Token, map[string]any{"name": "race " + servicetest.Unique(""), "member_ids": ids},
			http.StatusCreated, &created)
		if created.Group.ConversationID == nil {
			t.Fatalf("the new group %d has no conversation", created.Group.ID)
		}
		conv := *created.Group.ConversationID

		senders := make([]*client, users)
		for i, u := range members {
			senders[i] = h.dial(t, fmt.Sprintf("u%d", i), u.Token)
		}
		// Two members also have a second device that only listens.
		listeners := []*client{h.dial(t, "u0-tablet", h.login(t, members[0])), h.dial(t, "u1-tablet", h.login(t, members[1]))}
		all := append(slices.Clone(senders), listeners...)
		for _, c := range all {
			c.sync(t)
			c.drop() // presence and group events
		}

		// Every sender writes its frames as fast as it can, all at once.
		frameIDs := make([][]string, users)
		start := make(chan struct{})
		errs := make(chan error, users)
		var wg sync.WaitGroup
		for i, c := range senders {
			frameIDs[i] = make([]string, each)
			for j := range each {
				frameIDs[i][j] = fmt.Sprintf("u%d-m%d", i, j)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for j, id := range frameIDs[i] {
					b := encodeFrame("message.send", id, map[string]any{"conversation_id": conv,
						"client_msg_id": id, "kind": "text", "content": fmt.Sprintf("from %d: %d", i, j)})
					if err := c.write(b); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}

		deadline := time.Now().Add(waitBulk)
		acked := map[uint64]wireMessage{} // by seq
		seen := make([]map[uint64]int, len(all))
		for i := range all {
			seen[i] = map[uint64]int{}
		}
		for i, c := range senders {
			for j, id := range frameIDs[i] {
				f := c.expect(t, "", byID(id), time.Until(deadline))
				if f.Type != "ack" {
					t.Fatalf("%s: answer to %s is %v", c.name, id, f)
				}
				m := messageOf(t, f)
				if m.SenderID != members[i].ID || m.ClientMsgID != id || m.text(t) != fmt.Sprintf("from %d: %d", i, j) {
					t.Fatalf("ack of %s is %+v", id, m)
				}
				if prev, dup := acked[m.Seq]; dup {
					t.Fatalf("seq %d acked twice: %+v and %+v", m.Seq, prev, m)
				}
				acked[m.Seq] = m
				seen[i][m.Seq]++
			}
		}
		total := uint64(users * each)
		if uint64(len(acked)) != total {
			t.Fatalf("%d messages acked, want %d", len(acked), total)
		}
		for seq := uint64(1); seq <= total; seq++ {
			if _, ok := acked[seq]; !ok {
				t.Fatalf("no ack has seq %d: the seqs have a gap", seq)
			}
		}

		// Every socket sees every seq once: its own as acks, the rest as message.new.
		inversions := 0
		for i, c := range all {
			want := int(total)
			if i < users {
				want -= each
			}
			var last uint64
			for range want {
				m := messageOf(t, c.expect(t, "message.new", nil, time.Until(deadline)))
				if a, ok := acked[m.Seq]; !ok || !sameMessage(a, m) {
					t.Fatalf("%s: message.new %+v differs from its ack %+v", c.name, m, a)
				}
				seen[i][m.Seq]++
				if m.Seq < last {
					inversions++
				}
				last = m.Seq
			}
			c.sync(t)
			c.expectNone(t, "message.new", nil, 0)
			for seq := uint64(1); seq <= total; seq++ {
				if seen[i][seq] != 1 {
					t.Fatalf("%s saw seq %d %d times", c.name, seq, seen[i][seq])
				}
			}
		}
		// Messages of different senders may be published out of seq order (each
		// sender's socket publishes its own after commit); the seqs tell.
		t.Logf("message.new frames that arrived after a higher seq: %d", inversions)

		// The table holds exactly the acked messages, seqs 1..N.
		var rows []struct {
			ID          uint64
			Seq         uint64
			SenderID    uint64
			ClientMsgID string
		}
		if err := db.Table("messages").Select("id", "seq", "sender_id", "client_msg_id").
			Where("conversation_id = ?", conv).Order("seq").Scan(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if uint64(len(rows)) != total {
			t.Fatalf("%d rows, want %d", len(rows), total)
		}
		for i, r := range rows {
			a := acked[uint64(i+1)]
			if r.Seq != uint64(i+1) || r.ID != a.ID || r.SenderID != a.SenderID || r.ClientMsgID != a.ClientMsgID {
				t.Fatalf("row %d is %+v, want the ack %+v", i, r, a)
			}
		}
		var lastSeq uint64
		if err := db.Table("conversations").Where("id = ?", conv).Pluck("last_seq", &lastSeq).Error; err != nil {
			t.Fatal(err)
		}
		if lastSeq != total {
			t.Fatalf("last_seq %d, want %d", lastSeq, total)
		}
		// History over REST agrees, page by page.
		var got []uint64
		for after := uint64(0); ; {
			page := h.history(t, members[3].Token, conv, fmt.Sprintf("after_seq=%d&limit=100", after))
			for _, m := range page {
				if !sameMessage(m, acked[m.Seq]) {
					t.Fatalf("history %+v differs from its ack %+v", m, acked[m.Seq])
				}
				got = append(got, m.Seq)
			}
			if len(page) < 100 {
				break
			}
			after = page[len(page)-1].Seq
		}
		for i, s := range got {
			if s != uint64(i+1) {
				t.Fatalf("history seqs are not 1..%d: %v", total, got)
			}
		}
		if uint64(len(got)) != total {
			t.Fatalf("history has %d messages, want %d", len(got), total)
		}
	})
}
