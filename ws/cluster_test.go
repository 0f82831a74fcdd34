package ws_test

import (
	"context"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"gorm.io/gorm"

	"lechat/model"
	"lechat/service/servicetest"
	"lechat/ws"
)

// redisURL is LECHAT_TEST_REDIS_URL; without it the test is skipped, unless
// services are required.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("LECHAT_TEST_REDIS_URL")
	if u == "" {
		if servicetest.Required() {
			t.Fatal("LECHAT_TEST_REDIS_URL is not set (LECHAT_TEST_REQUIRE_SERVICES=1)")
		}
		t.Skip("LECHAT_TEST_REDIS_URL is not set")
	}
	return u
}

// cluster starts n hubs on db, joined by Redis buses on a channel of this test's
// own (so tests sharing one Redis do not hear each other).
func cluster(t *testing.T, db *gorm.DB, n int) []*harness {
	t.Helper()
	url := redisURL(t)
	channel := servicetest.Unique("lechat:test:")
	var hs []*harness
	for range n {
		bus, err := ws.NewRedisBus(ws.RedisConfig{URL: url, Channel: channel, NodeID: servicetest.Unique("node-"),
			Log: servicetest.Logger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { bus.Close() }) // after the hub's Close, which stops the bus
		hs = append(hs, newHarness(t, db, func(c *ws.Config) { c.Bus = bus }))
	}
	for _, h := range hs {
		eventually(t, waitFrame, "the bus subscribed", h.hub.BusHealthy)
	}
	return hs
}

// Two hubs, one database, one Redis: messages, other devices, presence, read
// receipts and revocations reach sockets on the other hub.
func TestClusterDelivery(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		hs := cluster(t, db, 2)
		a, b := hs[0], hs[1]
		alice, bob, conv := a.pair(t)
		carol := a.newUser(t)
		a.befriend(t, alice, carol)
		aliceA := a.dial(t, "alice@A", alice.Token)
		bobB := b.dial(t, "bob@B", bob.Token)
		aliceA.expect(t, "presence", func(f frame) bool { return presenceIs(t, f, bob.ID, true) }, waitFrame)
		bobToken2 := a.login(t, bob)
		bobA := a.dial(t, "bob@A", bobToken2)

		sent := aliceA.sendText(t, conv, "across 你好")
		for _, c := range []*client{bobB, bobA} {
			got := messageOf(t, c.expect(t, "message.new", nil, waitFrame))
			if got.ID != sent.ID || got.Seq != sent.Seq {
				t.Fatalf("%s got %+v, want %+v", c.name, got, sent)
			}
		}
		bobB.send(t, "read", "", map[string]any{"conversation_id": conv, "seq": sent.Seq})
		aliceA.expect(t, "read", nil, waitFrame)
		bobA.expect(t, "read", nil, waitFrame)
		reply := bobB.sendText(t, conv, "back")
		if got := messageOf(t, aliceA.expect(t, "message.new", nil, waitFrame)); got.ID != reply.ID {
			t.Fatalf("alice got %+v, want %+v", got, reply)
		}
		if got := messageOf(t, bobA.expect(t, "message.new", nil, waitFrame)); got.ID != reply.ID {
			t.Fatalf("bob's other device got %+v, want %+v", got, reply)
		}
		bobA.expectNone(t, "message.new", nil, quiet) // each frame once, though both hubs hear the bus

		carolB := b.dial(t, "carol@B", carol.Token)
		aliceA.expect(t, "presence", func(f frame) bool { return presenceIs(t, f, carol.ID, true) }, waitFrame)
		carolB.close()
		aliceA.expect(t, "presence", func(f frame) bool { return presenceIs(t, f, carol.ID, false) }, waitFrame)

		// Logging out bob's second token on hub B closes its socket on hub A only.
		b.doJSON(t, "POST", "/api/v1/auth/logout", bobToken2, nil, http.StatusNoContent, nil)
		bobA.expectCloseCode(t, websocket.ClosePolicyViolation, waitFrame)
		bobB.sync(t)
	})
}

func presenceIs(t *testing.T, f frame, userID uint64, online bool) bool {
	d := decode[struct {
		UserID uint64 `json:"user_id"`
		Online bool   `json:"online"`
	}](t, f)
	return d.UserID == userID && d.Online == online
}

// The rows of a dead node expire on the living ones; its users' friends hear
// that they went offline once, though every living node expires rows.
func TestDeadNodeSocketsExpire(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		hs := cluster(t, db, 2)
		alice, dave, _ := hs[0].pair(t)
		aliceA := hs[0].dial(t, "alice@A", alice.Token)
		// dave's socket on a node that died two minutes ago (stale after 70 s).
		old := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Millisecond)
		row := model.Socket{ID: servicetest.Unique("dead-socket-"), UserID: dave.ID, NodeID: servicetest.Unique("dead-node-"),
			TokenID: "t", ConnectedAt: old, LastSeen: old}
		if err := db.Create(&row).Error; err != nil {
			t.Fatal(err)
		}
		// The heartbeat (every second here) expires it.
		aliceA.expect(t, "presence", func(f frame) bool { return presenceIs(t, f, dave.ID, false) }, waitFrame)
		aliceA.expectNone(t, "presence", nil, 2*time.Second)
		if n := hs[1].socketRows(t, dave.ID); n != 0 {
			t.Fatalf("dave still has %d live rows", n)
		}
	})
}

// busTap is a bus that lets the test hand the hub envelopes as if from other nodes.
type busTap struct {
	mu      sync.Mutex
	deliver func(ws.Envelope)
}

func (b *busTap) Publish(context.Context, ws.Envelope) error { return nil }
func (b *busTap) Healthy() bool                              { return true }
func (b *busTap) Run(ctx context.Context, deliver func(ws.Envelope)) error {
	b.mu.Lock()
	b.deliver = deliver
	b.mu.Unlock()
	<-ctx.Done()
	return nil
}
func (b *busTap) inject(t *testing.T, env ws.Envelope) {
	t.Helper()
	eventually(t, waitFrame, "the bus running", func() bool {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.deliver != nil
	})
	b.mu.Lock()
	defer b.mu.Unlock()
	b.deliver(env)
}

// A resync envelope closes (1012) the named users' sockets opened before the
// frames were lost, and only those; an envelope for every user closes all.
func TestResyncClosesOlderSockets(t *testing.T) {
	db := servicetest.DB(t, "sqlite")
	tap := &busTap{}
	h := newHarness(t, db, func(c *ws.Config) { c.Bus = tap })
	alice, bob, _ := h.pair(t)
	a := h.dial(t, "alice", alice.Token)
	b := h.dial(t, "bob", bob.Token)
	time.Sleep(700 * time.Millisecond) // beyond the allowance for clock skew
	lostAt := time.Now()
	time.Sleep(700 * time.Millisecond)
	bNew := h.dial(t, "bob-new", h.login(t, bob))

	tap.inject(t, ws.Envelope{Kind: ws.KindResync, UserIDs: []uint64{bob.ID}, At: lostAt, Node: "other"})
	b.expectCloseCode(t, websocket.CloseServiceRestart, waitFrame)
	a.sync(t)
	bNew.sync(t)

	tap.inject(t, ws.Envelope{Kind: ws.KindResync, All: true, At: time.Now(), Node: "this"})
	a.expectCloseCode(t, websocket.CloseServiceRestart, waitFrame)
	bNew.expectCloseCode(t, websocket.CloseServiceRestart, waitFrame)
}
