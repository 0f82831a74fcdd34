package ws_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"gorm.io/gorm"

	"lechat/api"
	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
	"lechat/ws"
)

func TestMain(m *testing.M) { os.Exit(servicetest.Main(m)) }

// Bounds of every wait in these tests. They are safety nets against a hung
// server, not measurements: a healthy server answers in milliseconds.
const (
	waitFrame = 5 * time.Second  // one expected frame
	waitBulk  = 30 * time.Second // a whole batch of frames
	quiet     = 300 * time.Millisecond
)

// harness is the real stack of main.go on one database: services, the hub as
// every service's Notifier, and the router with the hub at /ws, served over TCP.
type harness struct {
	db      *gorm.DB
	acc     *service.Accounts
	box     *servicetest.Mailbox
	friends *service.Friends
	groups  *service.Groups
	chat    *service.Chat
	robot   *service.Robot
	uploads *service.Uploads
	sockets *service.Sockets
	hub     *ws.Hub
	cfg     ws.Config
	base    string // http://host:port
	http    *http.Client
}

// testConfig is the hub's configuration in these tests: the production defaults
// (the write timeout too: a loaded CI machine must not cut healthy clients off)
// with a short heartbeat, and no rate limit unless a test turns it on.
func testConfig() ws.Config {
	cfg := ws.DefaultConfig()
	cfg.PongWait = 30 * time.Second
	cfg.PingPeriod = 10 * time.Second
	cfg.HeartbeatEvery = time.Second
	cfg.RateLimit = false
	return cfg
}

// newHarness wires the services like main.go does and serves them until the
// test ends. mods may change the hub's configuration first.
func newHarness(t *testing.T, db *gorm.DB, mods ...func(*ws.Config)) *harness {
	t.Helper()
	log := servicetest.Logger()
	cfg := testConfig()
	for _, m := range mods {
		m(&cfg)
	}
	acc, box := servicetest.Accounts(t, db)
	uploads := service.NewUploads(db, service.LocalStorage{Dir: t.TempDir()}, service.UploadsConfig{}, log)
	acc.Images = uploads
	friends := service.NewFriends(db, log)
	groups := service.NewGroups(db, service.GroupsConfig{}, log)
	groups.Images = uploads
	chat := service.NewChat(db, log)
	chat.Images = uploads
	// As main.go: sends are written in batches, by one writer on SQLite.
	batch := service.BatchConfig{Workers: 2, MaxBatch: 256}
	if db.Dialector.Name() == "sqlite" {
		batch.Workers = 1
	}
	chat.Start(batch)
	robot, err := service.NewRobot(db, chat, &service.RuleBot{Location: time.UTC}, service.RobotConfig{}, log)
	if err != nil {
		t.Fatalf("NewRobot: %v", err)
	}
	sockets := service.NewSockets(db, servicetest.Unique("test-node-"), 70*time.Second, log)
	friends.Sockets = sockets
	hub := ws.New(cfg, acc, chat, sockets, log)
	for _, n := range []*service.Notifier{&acc.Notifier, &friends.Notifier, &groups.Notifier, &chat.Notifier, &sockets.Notifier} {
		*n = hub
	}
	if err := hub.Start(context.Background()); err != nil {
		t.Fatalf("hub.Start: %v", err)
	}
	handler, err := api.New(api.Options{
		Log:       log,
		Accounts:  acc,
		Friends:   friends,
		Groups:    groups,
		Chat:      chat,
		Uploads:   uploads,
		WebSocket: hub,
		Health: func(ctx context.Context) error {
			sqlDB, err := db.DB()
			if err != nil {
				return err
			}
			return sqlDB.PingContext(ctx)
		},
	})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	srv := httptest.NewServer(handler)
	// Cleanups run last first: the hub's sockets, then the server, then the
	// writers and the robot.
	t.Cleanup(chat.Close)
	t.Cleanup(robot.Close)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Close(ctx)
	})
	c := srv.Client()
	c.Timeout = 30 * time.Second // a safety net, not an assertion
	return &harness{db: db, acc: acc, box: box, friends: friends, groups: groups, chat: chat, robot: robot, uploads: uploads,
		sockets: sockets, hub: hub, cfg: cfg, base: srv.URL, http: c}
}

// user is a signed-in test user; Token is its first device's token.
type user struct {
	ID    uint64
	Name  string
	Token string
}

func (h *harness) newUser(t *testing.T) *user {
	t.Helper()
	u, res := servicetest.ActiveUser(t, h.acc, h.box)
	return &user{ID: u.ID, Name: u.Username, Token: res.Token}
}

// login signs u in once more (another device) and returns that token.
func (h *harness) login(t *testing.T, u *user) string {
	t.Helper()
	res, err := h.acc.Login(context.Background(), u.Name, servicetest.Password)
	if err != nil {
		t.Fatalf("login %s: %v", u.Name, err)
	}
	return res.Token
}

// befriend makes a and b friends (a fixture: the friends service has its own tests).
func (h *harness) befriend(t *testing.T, a, b *user) {
	t.Helper()
	servicetest.Befriend(t, h.db, a.ID, b.ID)
}

// openPrivate opens (or gets) the private conversation of a with b over REST.
func (h *harness) openPrivate(t *testing.T, a, b *user) uint64 {
	t.Helper()
	var v struct {
		ID   uint64 `json:"id"`
		Type string `json:"type"`
	}
	h.doJSON(t, "POST", "/api/v1/conversations/private", a.Token, map[string]any{"user_id": b.ID}, http.StatusOK, &v)
	if v.ID == 0 || v.Type != "private" {
		t.Fatalf("POST /conversations/private = %+v", v)
	}
	return v.ID
}

// pair makes two friends with a private conversation.
func (h *harness) pair(t *testing.T) (alice, bob *user, convID uint64) {
	t.Helper()
	alice, bob = h.newUser(t), h.newUser(t)
	h.befriend(t, alice, bob)
	return alice, bob, h.openPrivate(t, alice, bob)
}

// do sends a REST request (body: nil, or a value sent as JSON) with the bearer
// token and returns the status and the whole body.
func (h *harness) do(t *testing.T, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatalf("encode body: %v", err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.base+path, r)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := h.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return res.StatusCode, b
}

// doJSON is do that insists on status want and decodes the body into v (when not nil).
func (h *harness) doJSON(t *testing.T, method, path, token string, body any, want int, v any) {
	t.Helper()
	status, b := h.do(t, method, path, token, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, status, want, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// errorBody is the REST error envelope.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// expectHTTPError checks a REST error answer's status and code.
func (h *harness) expectHTTPError(t *testing.T, method, path, token string, body any, status int, code string) {
	t.Helper()
	got, b := h.do(t, method, path, token, body)
	checkErrorEnvelope(t, method+" "+path, got, b, status, code)
}

// envelope decodes an error body; ok is false unless it is the envelope with a
// code and a message.
func envelope(b []byte) (errorBody, bool) {
	var e errorBody
	err := json.Unmarshal(b, &e)
	return e, err == nil && e.Error.Code != "" && e.Error.Message != ""
}

func checkErrorEnvelope(t *testing.T, what string, status int, b []byte, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("%s: status %d, want %d; body %s", what, status, wantStatus, b)
	}
	var e errorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: body %q is not the error envelope: %v", what, b, err)
	}
	if e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("%s: error %+v, want code %q with a message", what, e.Error, code)
	}
}

// history fetches GET /conversations/:id/messages?query as u.
func (h *harness) history(t *testing.T, token string, convID uint64, query string) []wireMessage {
	t.Helper()
	var page struct {
		Items []wireMessage `json:"items"`
	}
	h.doJSON(t, "GET", fmt.Sprintf("/api/v1/conversations/%d/messages?%s", convID, query), token, nil, http.StatusOK, &page)
	return page.Items
}

// conversationView is one entry of GET /conversations.
type conversationView struct {
	ID          uint64       `json:"id"`
	Type        string       `json:"type"`
	LastMessage *wireMessage `json:"last_message"`
	LastSeq     uint64       `json:"last_seq"`
	ReadSeq     uint64       `json:"read_seq"`
	Unread      uint64       `json:"unread"`
	Peer        *struct {
		ID uint64 `json:"id"`
	} `json:"peer"`
}

// conversation returns convID's entry in token's GET /conversations.
func (h *harness) conversation(t *testing.T, token string, convID uint64) conversationView {
	t.Helper()
	var page struct {
		Items []conversationView `json:"items"`
	}
	h.doJSON(t, "GET", "/api/v1/conversations", token, nil, http.StatusOK, &page)
	for _, v := range page.Items {
		if v.ID == convID {
			return v
		}
	}
	t.Fatalf("conversation %d is not in GET /conversations: %+v", convID, page.Items)
	return conversationView{}
}

// storedMessages counts the rows of a conversation in the messages table.
func (h *harness) storedMessages(t *testing.T, convID uint64) int64 {
	t.Helper()
	var n int64
	if err := h.db.Model(&model.Message{}).Where("conversation_id = ?", convID).Count(&n).Error; err != nil {
		t.Fatalf("count messages: %v", err)
	}
	return n
}

// socketRows counts the live socket rows of a user.
func (h *harness) socketRows(t *testing.T, userID uint64) int {
	t.Helper()
	rows, err := h.sockets.Sockets(context.Background(), userID)
	if err != nil {
		t.Fatalf("list sockets: %v", err)
	}
	return len(rows)
}

// eventually polls cond until it holds, failing after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still not %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// wsURL is the socket address for token ("" for none).
func (h *harness) wsURL(token string) string {
	u := "ws" + strings.TrimPrefix(h.base, "http") + "/ws"
	if token != "" {
		u += "?token=" + url.QueryEscape(token)
	}
	return u
}

// frame is every frame on the wire.
type frame struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

func (f frame) String() string {
	return fmt.Sprintf("{type:%s id:%q data:%s}", f.Type, f.ID, truncate(string(f.Data), 300))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// wireMessage is a message as the contract shows it.
type wireMessage struct {
	ID             uint64          `json:"id"`
	ConversationID uint64          `json:"conversation_id"`
	Seq            uint64          `json:"seq"`
	SenderID       uint64          `json:"sender_id"`
	Kind           string          `json:"kind"`
	Content        json.RawMessage `json:"content"`
	ClientMsgID    string          `json:"client_msg_id"`
	CreatedAt      time.Time       `json:"created_at"`
}

// text is the content of a text or emoji message.
func (m wireMessage) text(t *testing.T) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(m.Content, &s); err != nil {
		t.Fatalf("message %d content %s is not a string: %v", m.ID, m.Content, err)
	}
	return s
}

// errorData is the data of an error frame.
type errorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

// decode reads a frame's data.
func decode[T any](t *testing.T, f frame) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(f.Data, &v); err != nil {
		t.Fatalf("decode %T from %v: %v", v, f, err)
	}
	return v
}

// messageOf reads the {message} of an ack or message.new frame.
func messageOf(t *testing.T, f frame) wireMessage {
	t.Helper()
	d := decode[struct {
		Message *wireMessage `json:"message"`
	}](t, f)
	if d.Message == nil {
		t.Fatalf("%v has no message", f)
	}
	return *d.Message
}

// client is one WebSocket connection of a test user. A reader goroutine feeds
// the frames it reads into in; frames that a wait skips stay in backlog for
// later waits, so no frame is lost between expectations.
type client struct {
	name    string
	conn    *websocket.Conn
	in      chan frame
	err     error // why the reader stopped; set before in closes
	started atomic.Bool
	wmu     sync.Mutex // one writer at a time (gorilla's rule)
	backlog []frame
	ids     atomic.Uint64
}

type dialOption func(*dialSettings)

type dialSettings struct {
	noReader bool // the test starts the reader itself, or never
	smallTCP bool // small TCP segments (see smallSegments)
}

// withoutReader dials a client that reads nothing until startReader.
func withoutReader() dialOption { return func(s *dialSettings) { s.noReader = true } }

// withSmallSegments makes the connection's TCP buffers fill up fast.
func withSmallSegments() dialOption { return func(s *dialSettings) { s.smallTCP = true } }

// dialRaw dials /ws with token and returns what gorilla returns.
func (h *harness) dialRaw(token string, smallTCP bool) (*websocket.Conn, *http.Response, error) {
	d := websocket.Dialer{HandshakeTimeout: waitFrame}
	if smallTCP && smallSegments != nil {
		d.NetDialContext = (&net.Dialer{Control: smallSegments}).DialContext
	}
	return d.Dial(h.wsURL(token), nil)
}

// dial connects token's socket and, unless withoutReader, waits until the hub
// has registered it: the server's "ready" frame says so.
func (h *harness) dial(t *testing.T, name, token string, opts ...dialOption) *client {
	t.Helper()
	var s dialSettings
	for _, o := range opts {
		o(&s)
	}
	conn, res, err := h.dialRaw(token, s.smallTCP)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", name, err, status)
	}
	return h.wrap(t, name, conn, !s.noReader)
}

// wrap makes a client of a dialed connection; with read, it starts the reader
// and waits until the hub has registered the socket (see dial).
func (h *harness) wrap(t *testing.T, name string, conn *websocket.Conn, read bool) *client {
	t.Helper()
	c := &client{name: name, conn: conn, in: make(chan frame, 16384)}
	t.Cleanup(func() { conn.Close() })
	if read {
		c.startReader()
		ready := c.expect(t, "ready", nil, 10*time.Second)
		var d struct {
			SocketID string `json:"socket_id"`
		}
		if json.Unmarshal(ready.Data, &d) != nil || len(d.SocketID) != 36 {
			t.Fatalf("%s: ready frame %v lacks a socket id", name, ready)
		}
	}
	return c
}

// startReader starts the goroutine that reads frames into c.in.
func (c *client) startReader() {
	if c.started.Swap(true) {
		return
	}
	go func() {
		defer close(c.in)
		for {
			typ, b, err := c.conn.ReadMessage()
			if err != nil {
				c.err = err
				return
			}
			var f frame
			if typ != websocket.TextMessage || json.Unmarshal(b, &f) != nil {
				f = frame{Type: "!unreadable", Data: json.RawMessage(fmt.Sprintf("%q", b))}
			}
			c.in <- f
		}
	}()
}

// nextID returns a frame id unique on this client.
func (c *client) nextID(prefix string) string {
	return fmt.Sprintf("%s-%s-%d", prefix, c.name, c.ids.Add(1))
}

// write writes one text frame as it is; safe from any goroutine.
func (c *client) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(waitFrame))
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("%s: write frame: %w", c.name, err)
	}
	return nil
}

// sendRaw writes one text frame as it is.
func (c *client) sendRaw(t *testing.T, b []byte) {
	t.Helper()
	if err := c.write(b); err != nil {
		t.Fatal(err)
	}
}

// encodeFrame is {type, id, data}; an empty id and a nil data are left out.
func encodeFrame(typ, id string, data any) []byte {
	f := map[string]any{"type": typ}
	if id != "" {
		f["id"] = id
	}
	if data != nil {
		f["data"] = data
	}
	b, err := json.Marshal(f)
	if err != nil {
		panic(err) // the tests' own values
	}
	return b
}

// send writes {type, id, data}; a nil data is left out.
func (c *client) send(t *testing.T, typ, id string, data any) {
	t.Helper()
	c.sendRaw(t, encodeFrame(typ, id, data))
}

// sendMessage sends message.send and returns the frame id.
func (c *client) sendMessage(t *testing.T, convID uint64, clientMsgID, kind string, content any) string {
	t.Helper()
	id := c.nextID("send")
	c.send(t, "message.send", id, map[string]any{"conversation_id": convID, "client_msg_id": clientMsgID,
		"kind": kind, "content": content})
	return id
}

// sendText sends a text message with a fresh client_msg_id and waits for its ack.
func (c *client) sendText(t *testing.T, convID uint64, text string) wireMessage {
	t.Helper()
	cmid := c.nextID("cm")
	id := c.sendMessage(t, convID, cmid, "text", text)
	return c.expectAck(t, id)
}

// expectAck waits for the ack of frame id and returns its message.
func (c *client) expectAck(t *testing.T, id string) wireMessage {
	t.Helper()
	f := c.expect(t, "", byID(id), waitFrame)
	if f.Type != "ack" {
		t.Fatalf("%s: answer to %s is %v, want ack", c.name, id, f)
	}
	return messageOf(t, f)
}

// expectError waits for the answer to frame id, which must be an error with
// code (and field, when not "").
func (c *client) expectError(t *testing.T, id, code, field string) errorData {
	t.Helper()
	f := c.expect(t, "", byID(id), waitFrame)
	if f.Type != "error" {
		t.Fatalf("%s: answer to %q is %v, want error %s", c.name, id, f, code)
	}
	e := decode[errorData](t, f)
	if e.Code != code || e.Message == "" || (field != "" && e.Field != field) {
		t.Fatalf("%s: answer to %q is error %+v, want code %q field %q with a message", c.name, id, e, code, field)
	}
	return e
}

func byID(id string) func(frame) bool { return func(f frame) bool { return f.ID == id } }

// take returns the first backlog frame of type typ ("" for any) that match
// accepts, removing it.
func (c *client) take(typ string, match func(frame) bool) (frame, bool) {
	for i, f := range c.backlog {
		if (typ == "" || f.Type == typ) && (match == nil || match(f)) {
			c.backlog = slices.Delete(c.backlog, i, i+1)
			return f, true
		}
	}
	return frame{}, false
}

// next reads one frame within d; ok is false on timeout, and the reader's end
// fails the test.
func (c *client) next(t *testing.T, d time.Duration) (frame, bool) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case f, open := <-c.in:
		if !open {
			t.Fatalf("%s: the connection ended: %v", c.name, c.err)
		}
		return f, true
	case <-timer.C:
		return frame{}, false
	}
}

// expect returns the first frame of type typ ("" for any) that match accepts (nil
// accepts all), waiting at most timeout; other frames stay in the backlog.
func (c *client) expect(t *testing.T, typ string, match func(frame) bool, timeout time.Duration) frame {
	t.Helper()
	if f, ok := c.take(typ, match); ok {
		return f
	}
	deadline := time.Now().Add(timeout)
	for {
		f, ok := c.next(t, time.Until(deadline))
		if !ok {
			t.Fatalf("%s: no %q frame within %v; unmatched frames: %v", c.name, typ, timeout, c.backlog)
		}
		if (typ == "" || f.Type == typ) && (match == nil || match(f)) {
			return f
		}
		c.backlog = append(c.backlog, f)
	}
}

// expectNone fails if a frame of type typ that match accepts is in the backlog
// or arrives within d.
func (c *client) expectNone(t *testing.T, typ string, match func(frame) bool, d time.Duration) {
	t.Helper()
	if f, ok := c.take(typ, match); ok {
		t.Fatalf("%s: unexpected frame %v", c.name, f)
	}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		f, ok := c.next(t, time.Until(deadline))
		if !ok {
			return
		}
		if (typ == "" || f.Type == typ) && (match == nil || match(f)) {
			t.Fatalf("%s: unexpected frame %v", c.name, f)
		}
		c.backlog = append(c.backlog, f)
	}
}

// sync pings and waits for the pong: every frame the server queued for this
// socket before it read the ping has then arrived (one queue per socket).
func (c *client) sync(t *testing.T) {
	t.Helper()
	id := c.nextID("sync")
	c.send(t, "ping", id, map[string]any{})
	f := c.expect(t, "", byID(id), waitFrame)
	if f.Type != "pong" {
		t.Fatalf("%s: answer to ping is %v, want pong", c.name, f)
	}
}

// drop forgets the backlog.
func (c *client) drop() { c.backlog = nil }

// expectClosed waits until the server ends the connection and returns the read
// error; frames read meanwhile go to the backlog.
func (c *client) expectClosed(t *testing.T, timeout time.Duration) error {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case f, open := <-c.in:
			if !open {
				return c.err
			}
			c.backlog = append(c.backlog, f)
		case <-timer.C:
			t.Fatalf("%s: the connection is still open after %v", c.name, timeout)
		}
	}
}

// expectCloseCode waits for the server's close frame with code.
func (c *client) expectCloseCode(t *testing.T, code int, timeout time.Duration) {
	t.Helper()
	err := c.expectClosed(t, timeout)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("%s: connection ended with %v, want a close frame with code %d", c.name, err, code)
	}
}

// close closes the connection from the client's side, politely.
func (c *client) close() {
	c.wmu.Lock()
	c.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
		time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.conn.Close()
}
