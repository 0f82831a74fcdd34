package ws_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/gorilla/websocket"
	"gorm.io/gorm"

	"lechat/service/servicetest"
)

type presenceEvent struct {
	UserID uint64 `json:"user_id"`
	Online bool   `json:"online"`
}

type typingEvent struct {
	ConversationID uint64 `json:"conversation_id"`
	UserID         uint64 `json:"user_id"`
}

// Friends learn when a user's first socket opens and their last one closes, and
// nothing in between; GET /friends agrees.
func TestPresence(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice, bob := h.newUser(t), h.newUser(t)
		stranger := h.newUser(t)
		h.befriend(t, alice, bob)
		a := h.dial(t, "alice", alice.Token)
		s := h.dial(t, "stranger", stranger.Token)
		if online(t, h, alice.Token, bob.ID) {
			t.Fatal("bob is online before connecting")
		}

		b1 := h.dial(t, "bob1", bob.Token)
		p := decode[presenceEvent](t, a.expect(t, "presence", nil, waitFrame))
		if p != (presenceEvent{UserID: bob.ID, Online: true}) {
			t.Fatalf("presence %+v, want bob online", p)
		}
		if !online(t, h, alice.Token, bob.ID) {
			t.Fatal("GET /friends shows bob offline while connected")
		}

		// A second socket changes nothing: dial returns once it is registered
		// (and its presence, if any, queued), so a pong on Alice's socket now
		// proves none is on its way.
		b2 := h.dial(t, "bob2", h.login(t, bob))
		a.sync(t)
		a.expectNone(t, "presence", nil, 0)

		// Closing one of two changes nothing either.
		b1.close()
		eventually(t, waitFrame, "bob's first socket row removed", func() bool { return h.socketRows(t, bob.ID) == 1 })
		a.expectNone(t, "presence", nil, quiet)
		if !online(t, h, alice.Token, bob.ID) {
			t.Fatal("GET /friends shows bob offline with one socket left")
		}

		// Closing the last one tells Alice.
		b2.close()
		p = decode[presenceEvent](t, a.expect(t, "presence", nil, waitFrame))
		if p != (presenceEvent{UserID: bob.ID, Online: false}) {
			t.Fatalf("presence %+v, want bob offline", p)
		}
		a.expectNone(t, "presence", nil, quiet)
		if online(t, h, alice.Token, bob.ID) {
			t.Fatal("GET /friends shows bob online after his last socket closed")
		}
		// Strangers hear nothing of it.
		s.sync(t)
		s.expectNone(t, "presence", nil, 0)
	})
}

// online reports what token's GET /friends says of friend's presence.
func online(t *testing.T, h *harness, token string, friend uint64) bool {
	t.Helper()
	var page struct {
		Items []struct {
			User struct {
				ID uint64 `json:"id"`
			} `json:"user"`
			Online bool `json:"online"`
		} `json:"items"`
	}
	h.doJSON(t, "GET", "/api/v1/friends", token, nil, http.StatusOK, &page)
	for _, f := range page.Items {
		if f.User.ID == friend {
			return f.Online
		}
	}
	t.Fatalf("user %d is not in GET /friends", friend)
	return false
}

// typing goes to the other members' sockets, not to the typist's own; a
// non-member is refused.
func TestTyping(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice, bob, conv := h.pair(t)
		carol := h.newUser(t)
		a1 := h.dial(t, "a1", alice.Token)
		a2 := h.dial(t, "a2", h.login(t, alice))
		b1 := h.dial(t, "b1", bob.Token)
		b2 := h.dial(t, "b2", h.login(t, bob))
		c := h.dial(t, "carol", carol.Token)

		a1.send(t, "typing", "", map[string]any{"conversation_id": conv})
		want := typingEvent{ConversationID: conv, UserID: alice.ID}
		for _, x := range []*client{b1, b2} {
			if got := decode[typingEvent](t, x.expect(t, "typing", nil, waitFrame)); got != want {
				t.Fatalf("%s got typing %+v, want %+v", x.name, got, want)
			}
		}
		// typing has no answer; a ping after it is answered after it was handled.
		a1.sync(t)
		a1.expectNone(t, "typing", nil, 0)
		a1.expectNone(t, "error", nil, 0)
		a2.sync(t)
		a2.expectNone(t, "typing", nil, 0)
		for _, x := range []*client{b1, b2} {
			x.sync(t)
			x.expectNone(t, "typing", nil, 0)
		}

		c.send(t, "typing", "carol-typing", map[string]any{"conversation_id": conv})
		c.expectError(t, "carol-typing", "forbidden", "")
		c.send(t, "typing", "nowhere", map[string]any{"conversation_id": 1 << 40})
		c.expectError(t, "nowhere", "not_found", "")
		for _, x := range []*client{a1, a2, b1, b2} {
			x.sync(t)
			x.expectNone(t, "typing", nil, 0)
		}
	})
}

// Two devices of a user that connect at the same moment (a restart, a network
// that comes back) still make the user's friends see them online, once.
func TestPresenceConcurrentConnect(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice := h.newUser(t)
		a := h.dial(t, "alice", alice.Token)
		for round := range 20 {
			bob := h.newUser(t)
			h.befriend(t, alice, bob)
			tokens := []string{bob.Token, h.login(t, bob)}
			conns := make([]*websocket.Conn, len(tokens))
			errs := make([]error, len(tokens))
			var wg sync.WaitGroup
			for i, tok := range tokens {
				wg.Add(1)
				go func() {
					defer wg.Done()
					conns[i], _, errs[i] = h.dialRaw(tok, false)
				}()
			}
			wg.Wait()
			var bs []*client
			for i, c := range conns {
				if errs[i] != nil {
					t.Fatalf("dial: %v", errs[i])
				}
				bs = append(bs, h.wrap(t, fmt.Sprintf("bob%d-%d", round, i), c, true))
			}
			a.sync(t) // both registered (wrap waited): any presence is queued
			var got []presenceEvent
			for {
				f, ok := a.take("presence", func(f frame) bool { return decode[presenceEvent](t, f).UserID == bob.ID })
				if !ok {
					break
				}
				got = append(got, decode[presenceEvent](t, f))
			}
			if len(got) != 1 || !got[0].Online {
				t.Fatalf("round %d: alice got %+v about bob's two sockets opening at once, want one online", round, got)
			}
			for _, b := range bs {
				b.close()
			}
		}
	})
}
