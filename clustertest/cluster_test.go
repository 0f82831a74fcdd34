package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"gorm.io/gorm"

	"lechat/model"
)

// TestCluster runs three nodes on one database and one Redis and checks, in
// order: delivery, presence, read receipts and revocation across nodes; a node
// killed with SIGKILL while messages flow; Redis killed and started again; and
// a graceful shutdown.
func TestCluster(t *testing.T) {
	needServices(t)
	watchdog(t, 4*time.Minute)
	start := time.Now()
	db, dsn := database(t)
	redis := startRedis(t)
	var nodes []*node
	for i := 1; i <= 3; i++ {
		nodes = append(nodes, startNode(t, fmt.Sprintf("node-%d", i), nodeOptions{dsn: dsn, redisURL: redis.url()}))
	}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	us := newUsers(t, db)
	t.Logf("three nodes ready after %v", time.Since(start).Round(time.Millisecond))

	t.Run("delivery across nodes", func(t *testing.T) {
		alice, bob, carol, dave := us.make(t), us.make(t), us.make(t), us.make(t)
		us.befriend(t, alice, bob)
		us.befriend(t, alice, carol)
		us.befriend(t, alice, dave)
		conv := openPrivate(t, n1, alice, bob)
		a1 := mustDial(t, n1, "alice@1", alice.Token)
		a3 := mustDial(t, n3, "alice@3", us.login(t, alice)) // alice's second device
		b2 := mustDial(t, n2, "bob@2", bob.Token)

		// Private: the peer and the sender's other device, each on another node.
		m := a1.ack(t, conv, "p-1", "你好 👋 from node 1")
		for _, c := range []*client{b2, a3} {
			got, _ := c.expect(t, "message.new", isMessage("p-1"), waitFrame).message()
			if got.Seq != m.Seq || got.ID != m.ID {
				t.Fatalf("%s got %+v, want %+v", c.name, got, m)
			}
		}
		a1.expectNone(t, "message.new", isMessage("p-1"), 300*time.Millisecond) // not echoed to its socket
		// And back, in order.
		for i := range 20 {
			b2.sendMessage(t, fmt.Sprintf("b-%d", i), conv, fmt.Sprintf("p-b-%d", i), fmt.Sprint(i))
		}
		last := m.Seq
		for i := range 20 {
			got, _ := a1.expect(t, "message.new", isMessage(fmt.Sprintf("p-b-%d", i)), waitFrame).message()
			if got.Seq != last+1 {
				t.Fatalf("alice@1 got seq %d after %d: pushes from one node arrive in order", got.Seq, last)
			}
			last = got.Seq
		}

		// Group: members on all three nodes.
		group := createGroup(t, n2, alice, bob, carol, dave)
		c3 := mustDial(t, n3, "carol@3", carol.Token)
		d1 := mustDial(t, n1, "dave@1", dave.Token)
		gm := c3.ack(t, group, "g-1", "hello group")
		for _, c := range []*client{a1, a3, b2, d1} {
			got, _ := c.expect(t, "message.new", isMessage("g-1"), waitFrame).message()
			if got.Seq != gm.Seq {
				t.Fatalf("%s got seq %d, want %d", c.name, got.Seq, gm.Seq)
			}
		}
		// The metrics show frames that came over the bus.
		status, body := n2.get("/metrics")
		if status != http.StatusOK {
			t.Fatalf("GET /metrics on node-2: %d", status)
		}
		if v := metric(body, `lechat_frames_delivered_total{path="remote"}`); v < 1 {
			t.Errorf("node-2 counts %v remote frames delivered", v)
		}
		if v := metric(body, `lechat_bus_up`); v != 1 {
			t.Errorf("node-2: lechat_bus_up %v", v)
		}
	})

	t.Run("presence and read receipts across nodes", func(t *testing.T) {
		erin, frank := us.make(t), us.make(t)
		us.befriend(t, erin, frank)
		conv := openPrivate(t, n1, erin, frank)
		e1 := mustDial(t, n1, "erin@1", erin.Token)
		f3 := mustDial(t, n3, "frank@3", frank.Token)
		e1.expect(t, "presence", presenceOf(frank.ID, true), waitFrame)
		if !friendOnline(t, n2, erin, frank.ID) {
			t.Fatal("node-2 says frank (on node-3) is offline")
		}
		// A second device on another node changes nothing for his friends.
		f2 := mustDial(t, n2, "frank@2", us.login(t, frank))
		e1.expectNone(t, "presence", nil, 300*time.Millisecond)
		m := e1.ack(t, conv, "r-1", "read me")
		f3.expect(t, "message.new", isMessage("r-1"), waitFrame)
		f2.expect(t, "message.new", isMessage("r-1"), waitFrame)
		if err := f3.send("read", "", map[string]any{"conversation_id": conv, "seq": m.Seq}); err != nil {
			t.Fatal(err)
		}
		for _, c := range []*client{e1, f2} { // the reader's other device too, on another node
			f := c.expect(t, "read", nil, waitFrame)
			var d struct {
				UserID uint64 `json:"user_id"`
				Seq    uint64 `json:"seq"`
			}
			json.Unmarshal(f.Data, &d)
			if d.UserID != frank.ID || d.Seq != m.Seq {
				t.Fatalf("%s: read frame %s", c.name, f.Data)
			}
		}
		// Typing crosses nodes too.
		if err := f2.send("typing", "", map[string]any{"conversation_id": conv}); err != nil {
			t.Fatal(err)
		}
		e1.expect(t, "typing", nil, waitFrame)
		// Offline once his last socket, anywhere, closes.
		f3.conn.Close()
		e1.expectNone(t, "presence", nil, 500*time.Millisecond)
		f2.conn.Close()
		e1.expect(t, "presence", presenceOf(frank.ID, false), waitFrame)
		if friendOnline(t, n3, erin, frank.ID) {
			t.Fatal("node-3 says frank is online after his sockets closed")
		}
	})

	t.Run("revocation across nodes", func(t *testing.T) {
		gina := us.make(t)
		other := us.login(t, gina)
		g2 := mustDial(t, n2, "gina@2", other)
		g3 := mustDial(t, n3, "gina@3", gina.Token)
		// Logging out one token on node 1 closes its socket on node 2 only.
		n1.doJSON(t, "POST", "/api/v1/auth/logout", other, nil, http.StatusNoContent, nil)
		if code := g2.expectClose(t, waitFrame); code != websocket.ClosePolicyViolation {
			t.Fatalf("gina@2 closed with %d, want 1008", code)
		}
		g3.expectNone(t, "", nil, 300*time.Millisecond)
		if err := g3.send("ping", "p", map[string]any{}); err != nil {
			t.Fatal(err)
		}
		g3.expect(t, "pong", byID("p"), waitFrame)
	})

	t.Run("a node killed mid-traffic", func(t *testing.T) {
		killNode(t, db, us, nodes, 1)
		n2.start(t) // the same node id again: it clears its old rows
	})

	t.Run("redis restarted", func(t *testing.T) {
		restartRedis(t, us, redis, nodes)
	})

	t.Run("graceful shutdown", func(t *testing.T) {
		hana := us.make(t)
		h2 := mustDial(t, n2, "hana@2", hana.Token)
		began := time.Now()
		n2.signal(syscall.SIGTERM)
		if code := h2.expectClose(t, waitFrame); code != websocket.CloseGoingAway {
			t.Fatalf("on SIGTERM the socket closed with %d, want 1001 going away", code)
		}
		select {
		case <-n2.done:
		case <-time.After(15 * time.Second):
			t.Fatal("node-2 still runs 15 s after SIGTERM")
		}
		if n2.err != nil {
			t.Fatalf("node-2 ended with %v after SIGTERM, want exit status 0", n2.err)
		}
		t.Logf("node-2 stopped %v after SIGTERM", time.Since(began).Round(time.Millisecond))
		mustDial(t, n3, "hana@3", hana.Token) // reconnects elsewhere at once
		var rows int64
		db.Model(&model.Socket{}).Where("node_id = ?", n2.name).Count(&rows)
		if rows != 0 {
			t.Errorf("node-2 left %d socket rows behind", rows)
		}
	})
	t.Logf("the cluster test took %v", time.Since(start).Round(time.Millisecond))
}

// killNode kills nodes[victim] with SIGKILL while members on every node send
// into a group and private conversations, and checks that each member ends up
// holding every acked message once, and that the victim's passive users go
// offline on the other nodes within the stated time.
func killNode(t *testing.T, db *gorm.DB, us *users, nodes []*node, victim int) {
	const (
		perNode  = 2
		count    = 60 // messages per member
		window   = 2
		interval = 25 * time.Millisecond
	)
	var ms []*member
	all := make([]*user, perNode*len(nodes)) // member i's first node is nodes[i%3]
	for i := range all {
		all[i] = us.make(t)
		if i > 0 {
			us.befriend(t, all[0], all[i])
		}
	}
	group := createGroup(t, nodes[0], all[0], all[1:]...)
	// Private pairs, each across two nodes.
	private := map[int]uint64{}
	for _, p := range [][2]int{{0, 4}, {1, 5}, {2, 3}} {
		a, b := all[p[0]], all[p[1]]
		if p[0] != 0 {
			us.befriend(t, a, b)
		}
		conv := openPrivate(t, nodes[p[0]%len(nodes)], a, b)
		private[p[0]], private[p[1]] = conv, conv
	}
	for i, u := range all {
		ms = append(ms, newMember(fmt.Sprintf("m%d", i), u, nodes, i%len(nodes), group, private[i]))
	}

	// A passive user on the victim only, and a friend watching from another node.
	passive, watcher := us.make(t), us.make(t)
	us.befriend(t, passive, watcher)
	w := mustDial(t, nodes[(victim+1)%len(nodes)], "watcher", watcher.Token)
	mustDial(t, nodes[victim], "passive", passive.Token)
	w.expect(t, "presence", presenceOf(passive.ID, true), waitFrame)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	var ackedAll sync.WaitGroup
	ackedAll.Add(len(ms))
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.run(ctx, count, window, interval, ackedAll.Done)
		}()
	}
	// Kill once a third of the messages are acked.
	eventually(t, 30*time.Second, "a third of the messages acked", func() bool { return totalAcked(ms) >= len(ms)*count/3 })
	killedAt := time.Now()
	nodes[victim].signal(syscall.SIGKILL)
	t.Logf("killed %s after %d acked messages", nodes[victim].name, totalAcked(ms))

	// The passive user goes offline on the other nodes within stale_after plus a
	// heartbeat (and the watcher's own socket is not on the dead node).
	w.expect(t, "presence", presenceOf(passive.ID, false), staleAfter+heartbeat+3*time.Second)
	t.Logf("the other nodes reported the dead node's user offline %v after the kill (stated: within %v)",
		time.Since(killedAt).Round(time.Millisecond), staleAfter+heartbeat)
	if friendOnline(t, nodes[(victim+2)%len(nodes)], watcher, passive.ID) {
		t.Error("GET /friends still shows the dead node's user online")
	}

	allAckedCh := make(chan struct{})
	go func() { ackedAll.Wait(); close(allAckedCh) }()
	select {
	case <-allAckedCh:
	case <-time.After(60 * time.Second):
		t.Fatalf("after 60 s only %d of %d messages are acked", totalAcked(ms), len(ms)*count)
	}

	// Every acked message is stored once, and held by every member of its
	// conversation.
	want := map[uint64]map[uint64]string{}
	for _, m := range ms {
		m.mu.Lock()
		for cmid, msg := range m.acked {
			if want[msg.ConversationID] == nil {
				want[msg.ConversationID] = map[uint64]string{}
			}
			want[msg.ConversationID][msg.Seq] = cmid
		}
		m.mu.Unlock()
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		missing := 0
		for _, m := range ms {
			missing += m.holds(want)
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, m := range ms {
				t.Logf("%s misses %d", m.name, m.holds(want))
			}
			t.Fatalf("20 s after the last ack, %d acked messages are still missing from members", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()

	var stored []model.Message
	convIDs := []uint64{group}
	for _, c := range private {
		convIDs = append(convIDs, c)
	}
	if err := db.Where("conversation_id IN ?", convIDs).Find(&stored).Error; err != nil {
		t.Fatal(err)
	}
	byCMID := map[string]int{}
	for _, s := range stored {
		byCMID[s.ClientMsgID]++
	}
	acked := 0
	for conv, seqs := range want {
		for seq, cmid := range seqs {
			acked++
			if byCMID[cmid] != 1 {
				t.Errorf("acked message %s (conversation %d seq %d) is stored %d times", cmid, conv, seq, byCMID[cmid])
			}
		}
	}
	if acked != len(ms)*count {
		t.Errorf("%d messages acked, want %d", acked, len(ms)*count)
	}
	var reconnected []string
	for _, m := range ms {
		m.mu.Lock()
		for _, p := range m.problems {
			t.Errorf("%s: %s", m.name, p)
		}
		if m.pushDups > 0 {
			t.Errorf("%s: %d messages were pushed twice on one socket", m.name, m.pushDups)
		}
		if m.home == victim {
			if m.reconnects == 0 || len(m.nodesUsed) < 2 {
				t.Errorf("%s was on %s and did not move (reconnects %d, nodes %v): %q", m.name, nodes[victim].name,
					m.reconnects, m.nodesUsed, m.events)
			}
			reconnected = append(reconnected, m.name)
		}
		m.mu.Unlock()
	}
	t.Logf("%d messages acked, each stored once and held by every member; %v moved off the dead node; %d rows in all",
		acked, reconnected, len(stored))
}

func totalAcked(ms []*member) int {
	n := 0
	for _, m := range ms {
		m.mu.Lock()
		n += len(m.acked)
		m.mu.Unlock()
	}
	return n
}

// restartRedis kills Redis: the nodes say the bus is degraded and keep
// delivering to their own sockets; a message for a member on another node is
// acked and stored. Redis starts again: the nodes reconnect by themselves, the
// sockets that may have missed frames are closed (1012) so that their clients
// resync, and delivery across nodes works again.
func restartRedis(t *testing.T, us *users, redis *redisServer, nodes []*node) {
	n1, n3 := nodes[0], nodes[2]
	ian, jo, kim := us.make(t), us.make(t), us.make(t)
	us.befriend(t, ian, jo)
	us.befriend(t, ian, kim)
	local := openPrivate(t, n1, ian, jo)
	remote := openPrivate(t, n1, ian, kim)
	i1 := mustDial(t, n1, "ian@1", ian.Token)
	j1 := mustDial(t, n1, "jo@1", jo.Token)
	k3 := mustDial(t, n3, "kim@3", kim.Token)
	i1.ack(t, remote, "before", "before the outage")
	k3.expect(t, "message.new", isMessage("before"), waitFrame)

	redis.kill()
	downAt := time.Now()
	for _, n := range nodes {
		eventually(t, 10*time.Second, n.name+" reporting the bus degraded", func() bool {
			bus, ready := health(n)
			return bus == "degraded" && ready == http.StatusServiceUnavailable
		})
	}
	t.Logf("every node reported the bus degraded %v after Redis died", time.Since(downAt).Round(time.Millisecond))
	if status, _ := n1.get("/healthz"); status != http.StatusOK {
		t.Errorf("/healthz is %d while only the bus is down: the node still serves", status)
	}
	// Local delivery goes on.
	i1.ack(t, local, "local-during", "same node, Redis down")
	j1.expect(t, "message.new", isMessage("local-during"), waitFrame)
	// A message for another node's member is stored and acked all the same.
	during := i1.ack(t, remote, "remote-during", "other node, Redis down")
	time.Sleep(1500 * time.Millisecond) // a real outage: every retry of that publish fails

	redis.start(t)
	upAt := time.Now()
	for _, n := range nodes {
		eventually(t, 15*time.Second, n.name+" ready again", func() bool {
			bus, ready := health(n)
			return bus == "ok" && ready == http.StatusOK
		})
	}
	t.Logf("every node was ready again %v after Redis came back", time.Since(upAt).Round(time.Millisecond))
	// kim's socket may have missed frames: it is closed so that the client
	// resyncs, and the resync brings the message.
	if code := k3.expectClose(t, 10*time.Second); code != websocket.CloseServiceRestart {
		t.Fatalf("kim@3 closed with %d, want 1012 (reconnect and resync)", code)
	}
	k := mustDial(t, n3, "kim@3 again", kim.Token)
	msgs, err := history(n3, kim.Token, remote, 0)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range msgs {
		found = found || (m.ClientMsgID == "remote-during" && m.Seq == during.Seq)
	}
	if !found {
		t.Fatalf("kim's resync lacks the message acked during the outage: %+v", msgs)
	}
	// Across nodes again, live. Ian's socket on node-1 was resynced too.
	i1.expectClose(t, 10*time.Second)
	i := mustDial(t, n1, "ian@1 again", ian.Token)
	i.ack(t, remote, "after", "after the outage")
	k.expect(t, "message.new", isMessage("after"), waitFrame)
	_, body := n1.get("/metrics")
	if v := metric(body, `lechat_bus_errors_total{op="publish"}`); v < 1 {
		t.Errorf("node-1 counts %v bus publish errors after an outage it published into", v)
	}
}

// metric reads one sample (name with labels, as exposed) from a /metrics body;
// -1 when absent.
func metric(body []byte, sample string) float64 {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(m[1])), 64)
	if err != nil {
		return -1
	}
	return v
}
