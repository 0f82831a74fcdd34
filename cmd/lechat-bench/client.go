package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// run is the shared state of one scenario's sockets.
type run struct {
	id    string    // unique per scenario run; prefixes client_msg_ids
	base  time.Time // the monotonic clock of send and receive times
	clock func() int64

	delivered atomic.Int64 // first arrivals, all streams
	acked     atomic.Int64
	failed    atomic.Int64
	readers   sync.WaitGroup
}

func newRun(id string) *run {
	r := &run{id: id, base: time.Now()}
	r.clock = func() int64 { return int64(time.Since(r.base)) }
	return r
}

// client is one socket. Its reader goroutine is the only writer of the
// receiving side (streams, order, counters); the scenario's sender goroutine
// is the only one that writes to the socket.
type client struct {
	idx  int
	user *user
	conn *websocket.Conn
	r    *run

	// Sending side.
	conv    uint64
	out     *outbox
	credits chan struct{} // one per ack or error: the ack window
	wbuf    []byte

	// Receiving side, owned by the reader.
	streams    []*stream
	order      seqOrder
	outOfOrder int
	unexpected int // message.new frames that are not this run's, or not meant for this socket
	badFrames  int
	pongs      atomic.Int64
	ready      atomic.Bool // the server's "ready" frame came: the socket is registered
	other      int         // frames of other types (presence, friend and group events)
	errCodes   map[string]int
	lastRecv   int64

	closing  atomic.Bool // set before the bench closes it
	done     chan struct{}
	closeErr error // why the reader stopped, once done is closed
}

// dialer makes small sockets: 10,000 of them share this machine with the server.
var dialer = &websocket.Dialer{
	HandshakeTimeout: 15 * time.Second,
	ReadBufferSize:   2048,
	WriteBufferSize:  1024,
	WriteBufferPool:  &sync.Pool{},
}

// dial opens a socket for u, lets prepare (when not nil) set up what the socket
// sends and expects, and starts its reader.
func dial(ctx context.Context, r *run, addr string, u *user, idx int, prepare func(*client)) (*client, error) {
	uri := "ws://" + addr + "/ws?token=" + url.QueryEscape(u.Token)
	conn, resp, err := dialer.DialContext(ctx, uri, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket handshake: HTTP %d", resp.StatusCode)
		}
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	c := &client{idx: idx, user: u, conn: conn, r: r, done: make(chan struct{})}
	if prepare != nil {
		prepare(c)
	}
	r.readers.Add(1)
	go c.read()
	return c, nil
}

// expect makes this socket account for messages from sender.
func (c *client) expect(sender, messages int) {
	c.streams = append(c.streams, newStream(sender, messages))
}

// prepareSend gives this socket messages to send in conv, with an ack window.
func (c *client) prepareSend(conv uint64, messages, window int) {
	c.conv = conv
	c.out = newOutbox(messages)
	c.credits = make(chan struct{}, max(window, 1))
	for range max(window, 1) {
		c.credits <- struct{}{}
	}
}

// send writes message n, stamped with sentAt (the run clock).
func (c *client) send(n int, sentAt int64) error {
	c.wbuf = appendSend(c.wbuf[:0], c.r.id, c.idx, n, c.conv, sentAt)
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.conn.WriteMessage(websocket.TextMessage, c.wbuf); err != nil {
		return err
	}
	c.out.sent++
	return nil
}

// ping writes a ping frame.
func (c *client) ping(k int) error {
	c.wbuf = appendPing(c.wbuf[:0], k)
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.conn.WriteMessage(websocket.TextMessage, c.wbuf)
}

// close closes the socket (the reader then stops).
func (c *client) close() {
	c.closing.Store(true)
	c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	c.conn.Close()
}

// alive reports whether the reader still runs.
func (c *client) alive() bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

func (c *client) read() {
	defer c.r.readers.Done()
	defer close(c.done)
	var (
		buf bytes.Buffer
		f   frame
	)
	for {
		_, rd, err := c.conn.NextReader()
		if err != nil {
			if !c.closing.Load() {
				c.closeErr = err
			}
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(rd); err != nil {
			if !c.closing.Load() {
				c.closeErr = err
			}
			return
		}
		now := c.r.clock()
		if err := parseFrame(buf.Bytes(), &f); err != nil {
			c.badFrames++
			continue
		}
		switch string(f.typ) {
		case "message.new":
			c.received(&f, now)
		case "ack":
			c.acked(&f, now)
		case "error":
			c.failed(&f)
		case "pong":
			c.pongs.Add(1)
		case "ready":
			c.ready.Store(true)
		default:
			c.other++
		}
	}
}

func (c *client) received(f *frame, now int64) {
	sender, n, sentAt, ok := parseContent(f.content)
	if !ok || f.escaped || !f.hasMsg {
		c.unexpected++
		return
	}
	var st *stream
	for _, s := range c.streams {
		if s.sender == sender {
			st = s
			break
		}
	}
	if st == nil {
		c.unexpected++
		return
	}
	first, ok := st.record(n, now-sentAt)
	if !ok {
		c.unexpected++
		return
	}
	if !c.order.observe(f.conv, f.seq) {
		c.outOfOrder++
	}
	c.lastRecv = now
	if first {
		c.r.delivered.Add(1)
	}
}

func (c *client) acked(f *frame, now int64) {
	if c.out == nil {
		c.unexpected++
		return
	}
	n, err := strconv.Atoi(string(f.id))
	_, _, sentAt, ok := parseContent(f.content)
	if err != nil || !ok {
		c.unexpected++
		return
	}
	if c.out.ack(n, now-sentAt) {
		c.r.acked.Add(1)
		c.credit()
	}
}

func (c *client) failed(f *frame) {
	if c.errCodes == nil {
		c.errCodes = map[string]int{}
	}
	c.errCodes[string(f.code)]++
	if c.out == nil || len(f.id) == 0 || f.id[0] == 'p' {
		return
	}
	if n, err := strconv.Atoi(string(f.id)); err == nil && c.out.fail(n) {
		c.r.failed.Add(1)
		c.credit()
	}
}

func (c *client) credit() {
	select {
	case c.credits <- struct{}{}:
	default:
	}
}

// closeReason describes why the server ended a socket the bench did not close.
func closeReason(err error) string {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("closed by server: %d %s", ce.Code, ce.Text)
	}
	return "connection lost: " + truncate(err.Error(), 80)
}

// dialAll opens one socket per entry of owners (a user may appear many times),
// at most conc handshakes at a time. It returns the sockets in order (nil where
// the handshake failed) and the failures by reason.
func dialAll(ctx context.Context, r *run, addr string, owners []*user, conc int, what string, prepare func(*client)) ([]*client, map[string]int) {
	clients := make([]*client, len(owners))
	var (
		mu    sync.Mutex
		fails = map[string]int{}
	)
	_ = forEach(ctx, len(owners), conc, what, func(ctx context.Context, i int) error {
		c, err := dial(ctx, r, addr, owners[i], i, prepare)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			mu.Lock()
			fails["dial: "+truncate(err.Error(), 80)]++
			mu.Unlock()
			return nil
		}
		clients[i] = c
		return nil
	})
	return clients, fails
}

// waitReady waits until every open socket has had the server's "ready" frame
// (sent once the socket is registered for delivery), for at most within. A
// server that sends no "ready" at all (older builds) is detected after
// noneWithin and not waited for. It returns how many sockets are ready and
// whether the server sends "ready".
func waitReady(ctx context.Context, clients []*client, noneWithin, within time.Duration) (ready int, sends bool) {
	start := time.Now()
	for {
		ready = 0
		open := 0
		for _, c := range clients {
			if c == nil {
				continue
			}
			open++
			if c.ready.Load() {
				ready++
			}
		}
		switch {
		case ready == open:
			return ready, ready > 0
		case ready == 0 && time.Since(start) > noneWithin:
			return 0, false
		case time.Since(start) > within || ctx.Err() != nil:
			return ready, true
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// closeAll closes every socket and waits for their readers.
func closeAll(r *run, clients []*client) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range clients {
		if c == nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			c.close()
			<-sem
		}()
	}
	wg.Wait()
	waitTimeout(&r.readers, 10*time.Second)
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	ch := make(chan struct{})
	go func() { wg.Wait(); close(ch) }()
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}
