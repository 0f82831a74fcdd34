package ws_test

import (
	"fmt"
	"net/http"
	"testing"

	"gorm.io/gorm"

	"lechat/service/servicetest"
)

// Only members write to and read a conversation, and a private one only while
// its two users are friends. A refusal stores and delivers nothing.
func TestOnlyMembersWriteAndRead(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice, bob, conv := h.pair(t)
		carol := h.newUser(t)
		a := h.dial(t, "alice", alice.Token)
		b := h.dial(t, "bob", bob.Token)
		c := h.dial(t, "carol", carol.Token)
		a.sendText(t, conv, "before")
		b.expect(t, "message.new", nil, waitFrame)

		// Carol is no member.
		id := c.sendMessage(t, conv, "carol-1", "text", "let me in")
		c.expectError(t, id, "forbidden", "")
		if n := h.storedMessages(t, conv); n != 1 {
			t.Fatalf("%d rows, want 1", n)
		}
		c.send(t, "read", "carol-read", map[string]any{"conversation_id": conv, "seq": 1})
		c.expectError(t, "carol-read", "forbidden", "")
		for _, x := range []*client{a, b, c} {
			x.sync(t)
			x.expectNone(t, "message.new", nil, 0)
			x.expectNone(t, "read", nil, 0)
		}
		h.expectHTTPError(t, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", conv), carol.Token, nil,
			http.StatusForbidden, "forbidden")
		h.expectHTTPError(t, "GET", fmt.Sprintf("/api/v1/conversations/%d", conv), carol.Token, nil,
			http.StatusForbidden, "forbidden")
		h.expectHTTPError(t, "POST", fmt.Sprintf("/api/v1/conversations/%d/read", conv), carol.Token,
			map[string]any{"seq": 1}, http.StatusForbidden, "forbidden")

		// Not friends: no private conversation.
		h.expectHTTPError(t, "POST", "/api/v1/conversations/private", carol.Token, map[string]any{"user_id": alice.ID},
			http.StatusForbidden, "forbidden")

		// An unknown conversation.
		const nowhere = 1 << 40
		c.expectError(t, c.sendMessage(t, nowhere, "carol-2", "text", "hello?"), "not_found", "")
		h.expectHTTPError(t, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages", uint64(nowhere)), carol.Token, nil,
			http.StatusNotFound, "not_found")

		// After the friendship ends, neither side can write in the old conversation.
		h.doJSON(t, "DELETE", fmt.Sprintf("/api/v1/friends/%d", bob.ID), alice.Token, nil, http.StatusNoContent, nil)
		a.expectError(t, a.sendMessage(t, conv, "after-1", "text", "still there?"), "forbidden", "")
		b.expectError(t, b.sendMessage(t, conv, "after-2", "text", "hello?"), "forbidden", "")
		if n := h.storedMessages(t, conv); n != 1 {
			t.Fatalf("%d rows after unfriending, want 1", n)
		}
		for _, x := range []*client{a, b} {
			x.sync(t)
			x.expectNone(t, "message.new", nil, 0)
		}
	})
}
