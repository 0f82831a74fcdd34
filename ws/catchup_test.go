package ws_test

import (
	"fmt"
	"net/http"
	"testing"

	"gorm.io/gorm"

	"lechat/service/servicetest"
)

// A client that was offline catches up over REST by seq; unread counts and read
// receipts follow the read cursor; history pages backwards in ascending order.
func TestOfflineCatchUp(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice, bob, conv := h.pair(t)
		a := h.dial(t, "alice", alice.Token)
		b := h.dial(t, "bob", bob.Token)

		const n, m = 3, 5
		var sent []wireMessage
		for i := range n {
			sent = append(sent, a.sendText(t, conv, fmt.Sprintf("online %d", i)))
		}
		for i := range n {
			if got := messageOf(t, b.expect(t, "message.new", nil, waitFrame)); got.Seq != uint64(i+1) {
				t.Fatalf("bob got seq %d, want %d", got.Seq, i+1)
			}
		}
		// Bob reads what he saw, over the socket; Alice gets the receipt.
		b.send(t, "read", b.nextID("read"), map[string]any{"conversation_id": conv, "seq": n})
		r := decode[readEvent](t, a.expect(t, "read", nil, waitFrame))
		if r != (readEvent{ConversationID: conv, UserID: bob.ID, Seq: n}) {
			t.Fatalf("read frame %+v", r)
		}
		b.sync(t)
		b.expectNone(t, "error", nil, 0)
		b.close()
		eventually(t, waitFrame, "bob's socket gone", func() bool { return h.socketRows(t, bob.ID) == 0 })

		for i := range m {
			sent = append(sent, a.sendText(t, conv, fmt.Sprintf("offline %d", i)))
		}

		got := h.history(t, bob.Token, conv, fmt.Sprintf("after_seq=%d", n))
		if len(got) != m {
			t.Fatalf("after_seq=%d gave %d messages, want %d", n, len(got), m)
		}
		for i, g := range got {
			if !sameMessage(g, sent[n+i]) {
				t.Fatalf("catch-up %d is %+v, want %+v", i, g, sent[n+i])
			}
		}
		if got := h.history(t, bob.Token, conv, fmt.Sprintf("after_seq=%d", n+m)); len(got) != 0 {
			t.Fatalf("after the last seq: %d messages, want none", len(got))
		}
		if got := h.history(t, bob.Token, conv, fmt.Sprintf("after_seq=%d&limit=2", n)); len(got) != 2 || got[0].Seq != n+1 || got[1].Seq != n+2 {
			t.Fatalf("after_seq=%d&limit=2 gave %v", n, seqsOf(got))
		}

		v := h.conversation(t, bob.Token, conv)
		last := sent[len(sent)-1]
		if v.Unread != m || v.LastSeq != n+m || v.ReadSeq != n || v.LastMessage == nil || !sameMessage(*v.LastMessage, last) {
			t.Fatalf("bob's conversation %+v (last %+v), want unread %d and last message seq %d", v, v.LastMessage, m, last.Seq)
		}
		if v.Peer == nil || v.Peer.ID != alice.ID {
			t.Errorf("peer %+v, want alice %d", v.Peer, alice.ID)
		}
		if v := h.conversation(t, alice.Token, conv); v.Unread != 0 {
			t.Errorf("alice has %d unread of her own messages", v.Unread)
		}

		h.doJSON(t, "POST", fmt.Sprintf("/api/v1/conversations/%d/read", conv), bob.Token,
			map[string]any{"seq": n + m}, http.StatusNoContent, nil)
		if v := h.conversation(t, bob.Token, conv); v.Unread != 0 || v.ReadSeq != n+m {
			t.Fatalf("after reading: %+v, want unread 0", v)
		}
		r = decode[readEvent](t, a.expect(t, "read", nil, waitFrame))
		if r != (readEvent{ConversationID: conv, UserID: bob.ID, Seq: n + m}) {
			t.Fatalf("read frame %+v", r)
		}
		// Reading backwards is a no-op and sends nothing.
		h.doJSON(t, "POST", fmt.Sprintf("/api/v1/conversations/%d/read", conv), bob.Token,
			map[string]any{"seq": 1}, http.StatusNoContent, nil)
		a.sync(t)
		a.expectNone(t, "read", nil, 0)
		if v := h.conversation(t, bob.Token, conv); v.Unread != 0 {
			t.Fatalf("the read cursor moved back: %+v", v)
		}

		// Paging back from the end: each page ascending, a short page is the end.
		total := uint64(n + m) // 8
		want := [][]uint64{{6, 7, 8}, {3, 4, 5}, {1, 2}}
		page := h.history(t, bob.Token, conv, "limit=3")
		for i, w := range want {
			if fmt.Sprint(seqsOf(page)) != fmt.Sprint(w) {
				t.Fatalf("page %d is %v, want %v", i, seqsOf(page), w)
			}
			for _, p := range page {
				if !sameMessage(p, sent[p.Seq-1]) {
					t.Fatalf("history seq %d is %+v, want %+v", p.Seq, p, sent[p.Seq-1])
				}
			}
			if i+1 < len(want) {
				page = h.history(t, bob.Token, conv, fmt.Sprintf("before_seq=%d&limit=3", page[0].Seq))
			}
		}
		if got := h.history(t, bob.Token, conv, fmt.Sprintf("before_seq=%d&limit=3", total)); fmt.Sprint(seqsOf(got)) != "[5 6 7]" {
			t.Fatalf("before_seq=%d&limit=3 gave %v, want [5 6 7]", total, seqsOf(got))
		}
		if got := h.history(t, bob.Token, conv, "before_seq=1"); len(got) != 0 {
			t.Fatalf("before_seq=1 gave %v", seqsOf(got))
		}
		h.expectHTTPError(t, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages?after_seq=1&before_seq=5", conv),
			bob.Token, nil, http.StatusBadRequest, "invalid_request")
		h.expectHTTPError(t, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages?after_seq=-1", conv),
			bob.Token, nil, http.StatusBadRequest, "invalid_request")
	})
}

type readEvent struct {
	ConversationID uint64 `json:"conversation_id"`
	UserID         uint64 `json:"user_id"`
	Seq            uint64 `json:"seq"`
}

func seqsOf(ms []wireMessage) []uint64 {
	out := make([]uint64, len(ms))
	for i, m := range ms {
		out[i] = m.Seq
	}
	return out
}
