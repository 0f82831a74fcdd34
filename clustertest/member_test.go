package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"
)

// member is a client that follows docs/protocol.md the way the apps do: one
// socket, on a node of its choosing; when the socket ends it connects to the
// next node that answers, waits for ready, fetches every conversation after the
// last contiguous seq it holds, and resends its unacked messages with their
// original client_msg_id; a pushed message more than one past what it holds
// makes it fetch the gap. It sends count text messages, alternating over its
// conversations, with at most window unacked.
type member struct {
	name  string
	u     *user
	nodes []*node
	home  int // the node it tries first
	convs []uint64

	mu         sync.Mutex
	held       map[uint64]map[uint64]string // conversation → seq → client_msg_id
	acked      map[string]message           // its own acked messages by client_msg_id
	pushDups   int                          // a seq pushed twice on one socket
	reconnects int
	nodesUsed  map[string]bool
	problems   []string
	events     []string // connection history, shown when the test fails
}

func (m *member) event(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.events) < 50 {
		m.events = append(m.events, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
	}
}

func newMember(name string, u *user, nodes []*node, home int, convs ...uint64) *member {
	m := &member{name: name, u: u, nodes: nodes, home: home, convs: convs,
		held: map[uint64]map[uint64]string{}, acked: map[string]message{}, nodesUsed: map[string]bool{}}
	for _, c := range convs {
		m.held[c] = map[uint64]string{}
	}
	return m
}

func (m *member) problem(format string, args ...any) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.problems) < 20 {
		m.problems = append(m.problems, fmt.Sprintf(format, args...))
	}
}

// contiguous is the highest seq of conv such that every seq up to it is held.
func (m *member) contiguous(conv uint64) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var k uint64
	for m.held[conv][k+1] != "" {
		k++
	}
	return k
}

// hold records a message; false when it contradicts what is held.
func (m *member) hold(msg message) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.held[msg.ConversationID]
	if h == nil {
		return
	}
	if prev := h[msg.Seq]; prev != "" && prev != msg.ClientMsgID {
		m.problems = append(m.problems, fmt.Sprintf("seq %d of %d is %s and %s", msg.Seq, msg.ConversationID, prev, msg.ClientMsgID))
	}
	h[msg.Seq] = msg.ClientMsgID
}

// holds reports whether every message of want (conversation → seq → id) that
// belongs to m's conversations is held.
func (m *member) holds(want map[uint64]map[uint64]string) (missing int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for conv, seqs := range want {
		h, mine := m.held[conv]
		if !mine {
			continue
		}
		for seq, id := range seqs {
			if h[seq] != id {
				missing++
			}
		}
	}
	return missing
}

// outgoing is a message sent and not yet acked.
type outgoing struct {
	conv   uint64
	cmid   string
	text   string
	sentAt time.Time // zero: to be (re)sent
}

// run sends count messages, then keeps the socket (reconnecting as needed) and
// its pushes until ctx ends. sent is called once all are acked.
func (m *member) run(ctx context.Context, count, window int, interval time.Duration, allAcked func()) {
	var (
		c       *client
		pending []*outgoing
		next    int
		seq     int // frame ids
		pushed  map[uint64]bool
		byFrame = map[string]*outgoing{}
		done    bool
	)
	defer func() {
		if c != nil {
			c.conn.Close()
		}
	}()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	sendOne := func(o *outgoing) {
		seq++
		id := fmt.Sprintf("%s-%d", m.name, seq)
		byFrame[id] = o
		o.sentAt = time.Now()
		if err := c.send("message.send", id, map[string]any{"conversation_id": o.conv, "client_msg_id": o.cmid,
			"kind": "text", "content": o.text}); err != nil {
			o.sentAt = time.Time{} // the reader will see the connection end
		}
	}
	connect := func() bool {
		for i := range m.nodes {
			n := m.nodes[(m.home+i)%len(m.nodes)]
			if !n.alive() {
				continue
			}
			cl, err := dial(n, m.name, m.u.Token)
			if err != nil {
				m.event("%v", err)
				continue
			}
			m.event("connected to %s", n.name)
			c, pushed = cl, map[uint64]bool{}
			m.mu.Lock()
			m.nodesUsed[n.name] = true
			m.mu.Unlock()
			// Resync after ready: everything after what is held, then resend.
			for _, conv := range m.convs {
				msgs, err := history(n, m.u.Token, conv, m.contiguous(conv))
				if err != nil {
					m.event("resync on %s: %v", n.name, err)
					c.conn.Close()
					c = nil
					return false
				}
				for _, msg := range msgs {
					m.hold(msg)
				}
			}
			for _, o := range pending {
				sendOne(o)
			}
			return true
		}
		return false
	}
	for ctx.Err() == nil {
		if c == nil {
			if !connect() {
				select {
				case <-ctx.Done():
				case <-time.After(200 * time.Millisecond):
				}
			}
			continue
		}
		select {
		case <-ctx.Done():
		case f, open := <-c.in:
			if !open {
				m.event("connection to %s ended: %v", c.node.name, c.err)
				c.conn.Close()
				c = nil
				m.mu.Lock()
				m.reconnects++
				m.mu.Unlock()
				continue
			}
			m.handle(c, f, byFrame, &pending, pushed)
		case <-tick.C:
			now := time.Now()
			for _, o := range pending { // unanswered for long, or refused as unavailable: resend
				if o.sentAt.IsZero() || now.Sub(o.sentAt) > 3*time.Second {
					sendOne(o)
				}
			}
			if next < count && len(pending) < window {
				conv := m.convs[next%len(m.convs)]
				o := &outgoing{conv: conv, cmid: fmt.Sprintf("%s-m%d", m.name, next), text: fmt.Sprintf("%s says %d", m.name, next)}
				next++
				pending = append(pending, o)
				sendOne(o)
			}
			if !done && next == count && len(pending) == 0 {
				done = true
				allAcked()
			}
		}
	}
}

// handle takes one frame of the member's socket.
func (m *member) handle(c *client, f frame, byFrame map[string]*outgoing, pending *[]*outgoing, pushed map[uint64]bool) {
	switch f.Type {
	case "ack":
		o := byFrame[f.ID]
		msg, ok := f.message()
		if o == nil || !ok || msg.ClientMsgID != o.cmid {
			m.problem("ack %s does not match a send: %s", f.ID, f.Data)
			return
		}
		m.mu.Lock()
		if prev, seen := m.acked[o.cmid]; seen && prev.Seq != msg.Seq {
			m.problems = append(m.problems, fmt.Sprintf("%s acked as seq %d and %d", o.cmid, prev.Seq, msg.Seq))
		}
		m.acked[o.cmid] = msg
		m.mu.Unlock()
		m.hold(msg)
		*pending = slices.DeleteFunc(*pending, func(x *outgoing) bool { return x == o })
	case "error":
		o := byFrame[f.ID]
		var e struct {
			Code string `json:"code"`
		}
		json.Unmarshal(f.Data, &e)
		if o != nil && e.Code == "unavailable" {
			o.sentAt = time.Time{}
			return
		}
		m.problem("error frame %s: %s", f.ID, f.Data)
	case "message.new":
		msg, ok := f.message()
		if !ok {
			m.problem("message.new without a message: %s", f.Data)
			return
		}
		key := msg.ConversationID<<32 | msg.Seq
		if pushed[key] {
			m.mu.Lock()
			m.pushDups++
			m.mu.Unlock()
		}
		pushed[key] = true
		held := m.contiguous(msg.ConversationID)
		m.hold(msg)
		if msg.Seq > held+1 { // a gap: fetch what is missing
			msgs, err := history(c.node, m.u.Token, msg.ConversationID, held)
			if err != nil {
				return // the node is going away; the reconnect resyncs
			}
			for _, x := range msgs {
				m.hold(x)
			}
		}
	}
}
