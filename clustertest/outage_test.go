package clustertest

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"lechat/model"
)

// tcpProxy forwards loopback connections to upstream until it is cut: then it
// drops every open connection and refuses new ones (accepts and closes them) on
// the same port, until it is restored.
type tcpProxy struct {
	l        net.Listener
	upstream string
	mu       sync.Mutex
	cut      bool
	conns    map[net.Conn]bool
	wg       sync.WaitGroup
}

func startProxy(t *testing.T, upstream string) *tcpProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{l: l, upstream: upstream, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.setCut(true)
		p.wg.Wait()
	})
	return p
}

func (p *tcpProxy) addr() string { return p.l.Addr().String() }

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.upstream, 2*time.Second)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		pipe := func(dst, src net.Conn) {
			defer p.wg.Done()
			io.Copy(dst, src)
			dst.Close()
			src.Close()
			p.mu.Lock()
			delete(p.conns, dst)
			delete(p.conns, src)
			p.mu.Unlock()
		}
		go pipe(up, c)
		go pipe(c, up)
	}
}

// setCut cuts (dropping every open connection) or restores the proxy.
func (p *tcpProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
	}
}

// The database drops out for a few seconds under a node: message.send answers
// error frames with code unavailable and acks nothing that was not stored,
// /healthz and /readyz say so, the node does not crash, and once the database
// is back it recovers by itself: the resend is stored once and delivered.
func TestDatabaseOutage(t *testing.T) {
	needServices(t)
	watchdog(t, 4*time.Minute)
	db, dsn := database(t)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, cfg.Addr)
	cfg.Addr = proxy.addr()
	n := startNode(t, "node-db", nodeOptions{dsn: cfg.FormatDSN()})
	us := newUsers(t, db)
	alice, bob := us.make(t), us.make(t)
	us.befriend(t, alice, bob)
	conv := openPrivate(t, n, alice, bob)
	a := mustDial(t, n, "alice", alice.Token)
	b := mustDial(t, n, "bob", bob.Token)
	acked := map[string]uint64{} // client_msg_id → seq
	m := a.ack(t, conv, "before", "before the outage")
	acked[m.ClientMsgID] = m.Seq
	b.expect(t, "message.new", isMessage("before"), waitFrame)

	proxy.setCut(true)
	cutAt := time.Now()
	a.sendMessage(t, "during", conv, "during", "while the database is away")
	f := a.expect(t, "", byID("during"), 15*time.Second)
	var e struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
	json.Unmarshal(f.Data, &e)
	if f.Type != "error" || e.Code != "unavailable" || e.Message == "" {
		t.Fatalf("answer to a send while the database is away: %+v, want an error frame with code unavailable", f)
	}
	t.Logf("error frame %q %v after the cut", e.Code, time.Since(cutAt).Round(time.Millisecond))
	if status, _ := n.get("/readyz"); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz is %d while the database is away, want 503", status)
	}
	if status, _ := n.get("/healthz"); status != http.StatusServiceUnavailable {
		t.Errorf("/healthz is %d while the database is away, want 503", status)
	}
	// A ping still answers: the socket and the node live on.
	if err := a.send("ping", "p1", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	a.expect(t, "pong", byID("p1"), waitFrame)
	time.Sleep(time.Until(cutAt.Add(3 * time.Second)))

	proxy.setCut(false)
	restoredAt := time.Now()
	eventually(t, 20*time.Second, "the node ready again", func() bool {
		status, _ := n.get("/readyz")
		return status == http.StatusOK
	})
	t.Logf("ready %v after the database came back", time.Since(restoredAt).Round(time.Millisecond))
	if !n.alive() {
		t.Fatal("the node died")
	}
	// The client resends with the same client_msg_id: stored now, once.
	m = a.ack(t, conv, "during", "while the database is away")
	acked[m.ClientMsgID] = m.Seq
	b.expect(t, "message.new", isMessage("during"), waitFrame)
	m = a.ack(t, conv, "after", "after the outage")
	acked[m.ClientMsgID] = m.Seq
	b.expect(t, "message.new", isMessage("after"), waitFrame)

	var stored []model.Message
	if err := db.Where("conversation_id = ?", conv).Order("seq").Find(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(acked) {
		t.Fatalf("%d messages stored, %d acked: %+v", len(stored), len(acked), stored)
	}
	for i, s := range stored {
		if acked[s.ClientMsgID] != s.Seq || s.Seq != uint64(i+1) {
			t.Fatalf("stored %s as seq %d; acked %v", s.ClientMsgID, s.Seq, acked)
		}
	}
	if !n.alive() {
		t.Fatal("the node died")
	}
}
