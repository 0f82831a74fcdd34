package ws_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"lechat/service/servicetest"
)

// A message goes to every socket of every member but the one it came from,
// exactly once, and its sender gets an ack echoing the frame and client ids.
func TestMessageReachesEveryDevice(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice, bob, conv := h.pair(t)
		a1 := h.dial(t, "a1", alice.Token)
		a2 := h.dial(t, "a2", h.login(t, alice))
		b1 := h.dial(t, "b1", bob.Token)
		b2 := h.dial(t, "b2", h.login(t, bob))

		before := time.Now().Add(-time.Second)
		id := a1.sendMessage(t, conv, "cm-hello-1", "text", "hello Bob")
		ack := a1.expect(t, "ack", byID(id), waitFrame)
		if ack.ID != id {
			t.Fatalf("ack id %q, want %q", ack.ID, id)
		}
		m := messageOf(t, ack)
		if m.ID == 0 || m.ConversationID != conv || m.Seq != 1 || m.SenderID != alice.ID || m.Kind != "text" ||
			m.text(t) != "hello Bob" || m.ClientMsgID != "cm-hello-1" {
			t.Fatalf("acked message %+v", m)
		}
		if m.CreatedAt.Before(before) || m.CreatedAt.After(time.Now().Add(time.Second)) || m.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at %v is not the UTC time of sending", m.CreatedAt)
		}
		for _, c := range []*client{a2, b1, b2} {
			got := messageOf(t, c.expect(t, "message.new", nil, waitFrame))
			if !sameMessage(got, m) {
				t.Errorf("%s got %+v, want %+v", c.name, got, m)
			}
		}
		// The ack was written after the fan-out was queued: a pong now proves
		// nothing more is on its way.
		for _, c := range []*client{a1, a2, b1, b2} {
			c.sync(t)
			c.expectNone(t, "message.new", nil, 0)
			c.expectNone(t, "ack", nil, 0)
		}

		// Bob answers from his second device: the same rule the other way.
		reply := b2.sendText(t, conv, "hi Alice")
		if reply.Seq != 2 || reply.SenderID != bob.ID {
			t.Fatalf("reply %+v, want seq 2 from Bob", reply)
		}
		for _, c := range []*client{a1, a2, b1} {
			if got := messageOf(t, c.expect(t, "message.new", nil, waitFrame)); !sameMessage(got, reply) {
				t.Errorf("%s got %+v, want %+v", c.name, got, reply)
			}
		}
		b2.sync(t)
		b2.expectNone(t, "message.new", nil, 0)
	})
}

func sameMessage(a, b wireMessage) bool {
	return a.ID == b.ID && a.ConversationID == b.ConversationID && a.Seq == b.Seq && a.SenderID == b.SenderID &&
		a.Kind == b.Kind && string(a.Content) == string(b.Content) && a.ClientMsgID == b.ClientMsgID &&
		a.CreatedAt.Equal(b.CreatedAt)
}

// 500 messages sent back to back from one socket are acked in order and reach
// the receiver as seqs 1..500, with no gap and no duplicate.
func TestBurstArrivesInOrder(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db) // rate limit off
		alice, bob, conv := h.pair(t)
		a := h.dial(t, "alice", alice.Token)
		b := h.dial(t, "bob", bob.Token)

		const n = 500
		ids := make([]string, n)
		for i := range n {
			ids[i] = a.sendMessage(t, conv, fmt.Sprintf("burst-%d", i), "text", fmt.Sprintf("message %d", i))
		}
		deadline := time.Now().Add(waitBulk)
		acked := map[string]wireMessage{}
		for len(acked) < n {
			f := a.expect(t, "", func(f frame) bool { return f.Type == "ack" || f.Type == "error" }, time.Until(deadline))
			if f.Type == "error" {
				t.Fatalf("message %s refused: %s", f.ID, f.Data)
			}
			acked[f.ID] = messageOf(t, f)
		}
		for i, id := range ids {
			m, ok := acked[id]
			if !ok || m.Seq != uint64(i+1) || m.ClientMsgID != fmt.Sprintf("burst-%d", i) {
				t.Fatalf("ack of frame %d: %+v (found %v), want seq %d", i, m, ok, i+1)
			}
		}
		for i := range n {
			f := b.expect(t, "message.new", nil, time.Until(deadline))
			m := messageOf(t, f)
			if m.Seq != uint64(i+1) || m.ID != acked[ids[i]].ID || m.text(t) != fmt.Sprintf("message %d", i) {
				t.Fatalf("message.new #%d is %+v, want seq %d", i+1, m, i+1)
			}
		}
		b.sync(t)
		b.expectNone(t, "message.new", nil, 0)
		if got := h.storedMessages(t, conv); got != n {
			t.Fatalf("%d rows stored, want %d", got, n)
		}
	})
}

// A resent message.send with the same client_msg_id gets the first ack again;
// nothing new is stored or delivered.
func TestResendIsIdempotent(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice, bob, conv := h.pair(t)
		a := h.dial(t, "alice", alice.Token)
		b := h.dial(t, "bob", bob.Token)

		first := a.expectAck(t, a.sendMessage(t, conv, "cm-once", "text", "only once"))
		// The resend may come from another device of the sender after a reconnect.
		a2 := h.dial(t, "alice2", h.login(t, alice))
		for _, c := range []*client{a, a2} {
			id := c.sendMessage(t, conv, "cm-once", "text", "only once")
			again := c.expectAck(t, id)
			if again.ID != first.ID || again.Seq != first.Seq || !sameMessage(again, first) {
				t.Fatalf("%s: resend acked %+v, want the first %+v", c.name, again, first)
			}
		}
		if n := h.storedMessages(t, conv); n != 1 {
			t.Fatalf("%d rows stored, want 1", n)
		}
		got := messageOf(t, b.expect(t, "message.new", nil, waitFrame))
		if got.ID != first.ID {
			t.Fatalf("bob got %+v", got)
		}
		b.sync(t)
		b.expectNone(t, "message.new", nil, 0)
		a2.expectNone(t, "message.new", nil, 0) // connected after the first send; resends deliver nothing

		// The next message still gets the next seq.
		if next := a.sendText(t, conv, "next"); next.Seq != 2 {
			t.Fatalf("next message has seq %d, want 2", next.Seq)
		}

		// The same client_msg_id in another conversation is a conflict, not a silent ack.
		carol := h.newUser(t)
		h.befriend(t, alice, carol)
		other := h.openPrivate(t, alice, carol)
		a.expectError(t, a.sendMessage(t, other, "cm-once", "text", "elsewhere"), "conflict", "client_msg_id")
		if n := h.storedMessages(t, other); n != 0 {
			t.Fatalf("%d rows stored in the other conversation, want 0", n)
		}
	})
}

// Chinese text, emoji sequences and markup come back byte for byte, over the
// socket and over REST, on both databases.
func TestUnicodeRoundTrip(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice, bob, conv := h.pair(t)
		a := h.dial(t, "alice", alice.Token)
		b := h.dial(t, "bob", bob.Token)

		sent := []struct{ kind, content string }{
			{"text", "你好 👨‍👩‍👧‍👦 🇨🇳 👍🏽 <script>alert(1)</script>"},
			{"text", "𠮷野家 \"quoted\" \\ back\\slash & amp\ttab\nnewline ‮rtl"},
			{"text", strings.Repeat("汉", 4000)}, // the longest text allowed, in characters
			{"emoji", "👍🏽"},
			{"emoji", "👨‍👩‍👧‍👦"},
			{"emoji", "🇨🇳"},
		}
		var acked []wireMessage
		for i, s := range sent {
			m := a.expectAck(t, a.sendMessage(t, conv, fmt.Sprintf("uni-%d", i), s.kind, s.content))
			if m.Kind != s.kind || m.text(t) != s.content {
				t.Fatalf("ack %d: %s %q, want %s %q", i, m.Kind, m.text(t), s.kind, s.content)
			}
			acked = append(acked, m)
		}
		for i, s := range sent {
			m := messageOf(t, b.expect(t, "message.new", nil, waitFrame))
			if m.Seq != acked[i].Seq || m.Kind != s.kind || m.text(t) != s.content {
				t.Fatalf("message.new %d: %s %q, want %s %q", i, m.Kind, truncate(m.text(t), 80), s.kind, truncate(s.content, 80))
			}
		}
		for _, tok := range []string{alice.Token, bob.Token} {
			hist := h.history(t, tok, conv, "after_seq=0")
			if len(hist) != len(sent) {
				t.Fatalf("history has %d messages, want %d", len(hist), len(sent))
			}
			for i, s := range sent {
				if hist[i].Kind != s.kind || hist[i].text(t) != s.content {
					t.Fatalf("history %d: %s %q, want %s %q", i, hist[i].Kind, truncate(hist[i].text(t), 80), s.kind, truncate(s.content, 80))
				}
			}
		}
		// And straight from the table, so that no layer undoes another's damage.
		var stored []string
		if err := db.Table("messages").Where("conversation_id = ?", conv).Order("seq").Pluck("content", &stored).Error; err != nil {
			t.Fatal(err)
		}
		for i, s := range sent {
			if stored[i] != s.content {
				t.Fatalf("row %d holds %q, want %q", i, truncate(stored[i], 80), truncate(s.content, 80))
			}
		}
		// The conversation list shows the last one as it was sent.
		if v := h.conversation(t, bob.Token, conv); v.LastMessage == nil || v.LastMessage.text(t) != sent[len(sent)-1].content {
			t.Fatalf("last_message %+v", v.LastMessage)
		}
	})
}
