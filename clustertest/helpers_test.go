package clustertest

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"gorm.io/gorm"

	"lechat/migrations"
	"lechat/service"
	"lechat/service/servicetest"
)

func TestMain(m *testing.M) {
	code := servicetest.Main(m)
	cleanMu.Lock()
	for _, c := range cleans {
		c()
	}
	cleanMu.Unlock()
	os.Exit(code)
}

// Timing of the nodes under test: a heartbeat a second and rows stale after
// three, so that a killed node's users go offline within about four seconds.
const (
	heartbeat  = time.Second
	staleAfter = 3 * time.Second
	waitFrame  = 5 * time.Second // one expected frame: a safety net, not a measurement
)

// needServices skips the test when MariaDB or redis-server is missing, or fails
// it when services are required.
func needServices(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		skipOrFail(t, "redis-server is not on the PATH (apt-get install redis-server)")
	}
	dsn := mysqlDSN()
	db, err := sql.Open("mysql", dsn)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = db.PingContext(ctx)
		cancel()
		db.Close()
	}
	if err != nil {
		skipOrFail(t, fmt.Sprintf("MariaDB at LECHAT_TEST_MYSQL_DSN does not answer: %v", err))
	}
}

func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if servicetest.Required() {
		t.Fatalf("%s (LECHAT_TEST_REQUIRE_SERVICES=1)", why)
	}
	t.Skip(why)
}

func mysqlDSN() string {
	if dsn := os.Getenv("LECHAT_TEST_MYSQL_DSN"); dsn != "" {
		return dsn
	}
	return servicetest.DefaultMySQLDSN
}

// database returns this test binary's fresh MariaDB database (migrated; dropped
// when the binary ends) and the DSN for the nodes to reach it.
func database(t *testing.T) (*gorm.DB, string) {
	t.Helper()
	db := servicetest.DB(t, migrations.MySQL)
	var name string
	if err := db.Raw("SELECT DATABASE()").Scan(&name).Error; err != nil {
		t.Fatalf("database name: %v", err)
	}
	return db, servicetest.MySQLDSNFor(mysqlDSN(), name)
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// serverBinary is LECHAT_BIN, or the server built once for this test binary.
func serverBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("LECHAT_BIN"); bin != "" {
		return bin
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lechat-cluster-bin-")
		if err != nil {
			buildErr = err
			return
		}
		addCleanup(func() { os.RemoveAll(dir) })
		builtBin = filepath.Join(dir, "lechat")
		cmd := exec.Command("go", "build", "-o", builtBin, ".")
		cmd.Dir = ".." // the module's root: the server's main package
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

var (
	cleanMu sync.Mutex
	cleans  []func()
)

func addCleanup(f func()) {
	cleanMu.Lock()
	defer cleanMu.Unlock()
	cleans = append(cleans, f)
}

// watchdog ends the test binary when t runs longer than d: every wait has its
// own bound, this is the net under them (go test's own -timeout is 30 min).
func watchdog(t *testing.T, d time.Duration) {
	timer := time.AfterFunc(d, func() {
		panic(fmt.Sprintf("%s did not finish within %v", t.Name(), d))
	})
	t.Cleanup(func() { timer.Stop() })
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// redisServer is a redis-server child process of the test on a port of its own,
// never the machine's shared Redis.
type redisServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	r := &redisServer{port: freePort(t), dir: t.TempDir()}
	r.start(t)
	t.Cleanup(r.kill)
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

func (r *redisServer) start(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	r.cmd = exec.Command("redis-server", "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	r.cmd.Stdout, r.cmd.Stderr = log, log
	dieWithTest(r.cmd)
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	r.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { cmd.Wait(); close(done) }(r.cmd, r.done)
	eventually(t, 10*time.Second, "redis-server answering", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.port), time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		c.Write([]byte("PING\r\n"))
		b := make([]byte, 7)
		n, _ := io.ReadFull(c, b)
		return string(b[:n]) == "+PONG\r\n"
	})
}

// kill ends the server at once (SIGKILL) and waits for it.
func (r *redisServer) kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.done
}

// node is one LeChat server process.
type node struct {
	t    *testing.T
	name string
	addr string // 127.0.0.1:port
	bin  string
	env  []string
	log  string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // how the process ended; set before done closes
}

// nodeOptions say how to start a node.
type nodeOptions struct {
	dsn      string
	redisURL string // empty: a single node
}

// startNode starts a node named name and waits until it is ready.
func startNode(t *testing.T, name string, o nodeOptions) *node {
	t.Helper()
	dir := t.TempDir()
	// Few database connections per node: three nodes and the other test packages
	// share one MariaDB, whose default limit is 151 connections.
	cfg := fmt.Sprintf("realtime:\n  heartbeat_every: %s\n  stale_after: %s\ndatabase:\n  max_open_conns: 10\n", heartbeat, staleAfter)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, name: name, addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), bin: serverBinary(t),
		log: filepath.Join(dir, "server.log")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LECHAT_") {
			n.env = append(n.env, kv)
		}
	}
	n.env = append(n.env,
		"LECHAT_CONFIG="+filepath.Join(dir, "config.yaml"),
		"LECHAT_DATA_DIR="+filepath.Join(dir, "data"),
		"LECHAT_HTTP_ADDR="+n.addr,
		"LECHAT_PUBLIC_URL=http://"+n.addr,
		"LECHAT_DB_DRIVER=mysql",
		"LECHAT_DB_DSN="+o.dsn,
		"LECHAT_JWT_SECRET="+servicetest.Secret,
		"LECHAT_RATE_LIMITS=off",
		"LECHAT_NODE_ID="+name,
		"LECHAT_LOG_FORMAT=text",
	)
	if o.redisURL != "" {
		n.env = append(n.env, "LECHAT_REDIS_URL="+o.redisURL)
	}
	n.start(t)
	t.Cleanup(func() {
		n.signal(syscall.SIGKILL)
		if t.Failed() {
			b, _ := os.ReadFile(n.log)
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("log of %s (the end):\n%s", n.name, b)
		}
	})
	return n
}

// start runs the process (again) and waits until /readyz answers 200.
func (n *node) start(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(n.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	n.cmd = exec.Command(n.bin)
	n.cmd.Env = n.env
	n.cmd.Stdout, n.cmd.Stderr = log, log
	dieWithTest(n.cmd)
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", n.name, err)
	}
	done := make(chan struct{})
	n.done = done
	go func(cmd *exec.Cmd) { n.err = cmd.Wait(); close(done) }(n.cmd)
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _ := n.get("/readyz")
		if status == http.StatusOK {
			return
		}
		select {
		case <-done:
			b, _ := os.ReadFile(n.log)
			t.Fatalf("%s exited while starting: %v\n%s", n.name, n.err, b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is not ready after 30 s (last /readyz status %d)", n.name, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// signal sends sig to a running process and, for SIGKILL, waits for its end.
func (n *node) signal(sig syscall.Signal) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	select {
	case <-n.done:
		return
	default:
	}
	n.cmd.Process.Signal(sig)
	if sig == syscall.SIGKILL {
		<-n.done
	}
}

// alive reports whether the process still runs.
func (n *node) alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// get fetches path and returns the status (0 when the node does not answer) and body.
func (n *node) get(path string) (int, []byte) {
	res, err := httpClient.Get("http://" + n.addr + path)
	if err != nil {
		return 0, nil
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// do sends a REST request with token; body nil or a value sent as JSON.
func (n *node) do(method, path, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+n.addr+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

// doJSON is do that insists on status want and decodes the answer into v.
func (n *node) doJSON(t *testing.T, method, path, token string, body any, want int, v any) {
	t.Helper()
	status, b, err := n.do(method, path, token, body)
	if err != nil {
		t.Fatalf("%s %s on %s: %v", method, path, n.name, err)
	}
	if status != want {
		t.Fatalf("%s %s on %s: status %d, want %d; body %s", method, path, n.name, status, want, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, b, err)
		}
	}
}

// user is a signed-in test user.
type user struct {
	ID    uint64
	Name  string
	Token string
}

// users makes signed-in users directly in the database (the nodes share its JWT
// secret, so the tokens work on every node).
type users struct {
	db  *gorm.DB
	acc *service.Accounts
	box *servicetest.Mailbox
}

func newUsers(t *testing.T, db *gorm.DB) *users {
	acc, box := servicetest.Accounts(t, db)
	return &users{db: db, acc: acc, box: box}
}

func (us *users) make(t *testing.T) *user {
	t.Helper()
	u, res := servicetest.ActiveUser(t, us.acc, us.box)
	return &user{ID: u.ID, Name: u.Username, Token: res.Token}
}

// login signs u in once more (another device).
func (us *users) login(t *testing.T, u *user) string {
	t.Helper()
	res, err := us.acc.Login(context.Background(), u.Name, servicetest.Password)
	if err != nil {
		t.Fatalf("login %s: %v", u.Name, err)
	}
	return res.Token
}

func (us *users) befriend(t *testing.T, a, b *user) { servicetest.Befriend(t, us.db, a.ID, b.ID) }

// openPrivate returns the private conversation of a and b (friends), through n.
func openPrivate(t *testing.T, n *node, a, b *user) uint64 {
	t.Helper()
	var v struct {
		ID uint64 `json:"id"`
	}
	n.doJSON(t, "POST", "/api/v1/conversations/private", a.Token, map[string]any{"user_id": b.ID}, http.StatusOK, &v)
	return v.ID
}

// createGroup makes a group of owner's friends through n and returns its conversation.
func createGroup(t *testing.T, n *node, owner *user, members ...*user) uint64 {
	t.Helper()
	ids := make([]uint64, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	var v struct {
		Group struct {
			ConversationID uint64 `json:"conversation_id"`
		} `json:"group"`
	}
	n.doJSON(t, "POST", "/api/v1/groups", owner.Token, map[string]any{"name": "cluster test", "member_ids": ids},
		http.StatusCreated, &v)
	if v.Group.ConversationID == 0 {
		t.Fatal("the new group has no conversation_id")
	}
	return v.Group.ConversationID
}

// message is a message as the contract shows it.
type message struct {
	ID             uint64          `json:"id"`
	ConversationID uint64          `json:"conversation_id"`
	Seq            uint64          `json:"seq"`
	SenderID       uint64          `json:"sender_id"`
	Content        json.RawMessage `json:"content"`
	ClientMsgID    string          `json:"client_msg_id"`
}

// history fetches every message of conv after seq through n, page by page, as
// a client resyncs.
func history(n *node, token string, conv, after uint64) ([]message, error) {
	var out []message
	for {
		status, b, err := n.do("GET", fmt.Sprintf("/api/v1/conversations/%d/messages?after_seq=%d&limit=100", conv, after), token, nil)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("history of %d: status %d: %s", conv, status, b)
		}
		var page struct {
			Items []message `json:"items"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if len(page.Items) < 100 {
			return out, nil
		}
		after = page.Items[len(page.Items)-1].Seq
	}
}

// frame is every frame on the wire.
type frame struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

func (f frame) message() (message, bool) {
	var d struct {
		Message *message `json:"message"`
	}
	if json.Unmarshal(f.Data, &d) != nil || d.Message == nil {
		return message{}, false
	}
	return *d.Message, true
}

// client is one WebSocket connection. A reader goroutine feeds frames into in;
// frames an expectation skips stay in backlog.
type client struct {
	name    string
	node    *node
	conn    *websocket.Conn
	in      chan frame
	err     error // why the reader stopped; set before in closes
	wmu     sync.Mutex
	backlog []frame
}

// dial opens a socket of token on n and waits for its ready frame.
func dial(n *node, name, token string) (*client, error) {
	d := websocket.Dialer{HandshakeTimeout: waitFrame}
	conn, res, err := d.Dial("ws://"+n.addr+"/ws?token="+url.QueryEscape(token), nil)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		return nil, fmt.Errorf("dial %s on %s: %w (status %d)", name, n.name, err, status)
	}
	c := &client{name: name, node: n, conn: conn, in: make(chan frame, 65536)}
	go func() {
		defer close(c.in)
		for {
			_, b, err := conn.ReadMessage()
			if err != nil {
				c.err = err
				return
			}
			var f frame
			if json.Unmarshal(b, &f) != nil {
				f = frame{Type: "!unreadable"}
			}
			c.in <- f
		}
	}()
	select {
	case f, ok := <-c.in:
		if !ok || f.Type != "ready" {
			conn.Close()
			return nil, fmt.Errorf("%s on %s: first frame %+v (open %v, %v), want ready", name, n.name, f, ok, c.err)
		}
	case <-time.After(waitFrame):
		conn.Close()
		return nil, fmt.Errorf("%s on %s: no ready frame", name, n.name)
	}
	return c, nil
}

func mustDial(t *testing.T, n *node, name, token string) *client {
	t.Helper()
	c, err := dial(n, name, token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.conn.Close() })
	return c
}

func (c *client) send(typ, id string, data any) error {
	f := map[string]any{"type": typ, "data": data}
	if id != "" {
		f["id"] = id
	}
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.conn.SetWriteDeadline(time.Now().Add(waitFrame))
	return c.conn.WriteMessage(websocket.TextMessage, b)
}

func (c *client) sendMessage(t *testing.T, id string, conv uint64, clientMsgID, text string) {
	t.Helper()
	if err := c.send("message.send", id, map[string]any{"conversation_id": conv, "client_msg_id": clientMsgID,
		"kind": "text", "content": text}); err != nil {
		t.Fatalf("%s: send: %v", c.name, err)
	}
}

// expect returns the first frame of type typ ("" any) that match accepts (nil
// all) within timeout; other frames stay in the backlog.
func (c *client) expect(t *testing.T, typ string, match func(frame) bool, timeout time.Duration) frame {
	t.Helper()
	ok := func(f frame) bool { return (typ == "" || f.Type == typ) && (match == nil || match(f)) }
	for i, f := range c.backlog {
		if ok(f) {
			c.backlog = slices.Delete(c.backlog, i, i+1)
			return f
		}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case f, open := <-c.in:
			if !open {
				t.Fatalf("%s: the connection ended while waiting for %q: %v", c.name, typ, c.err)
			}
			if ok(f) {
				return f
			}
			c.backlog = append(c.backlog, f)
		case <-timer.C:
			t.Fatalf("%s: no %q frame within %v; other frames: %v", c.name, typ, timeout, c.backlog)
		}
	}
}

// expectNone fails if a frame of type typ that match accepts comes within d.
func (c *client) expectNone(t *testing.T, typ string, match func(frame) bool, d time.Duration) {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case f, open := <-c.in:
			if !open {
				return
			}
			if f.Type == typ && (match == nil || match(f)) {
				t.Fatalf("%s: unexpected frame %+v", c.name, f)
			}
			c.backlog = append(c.backlog, f)
		case <-timer.C:
			return
		}
	}
}

// expectClose waits for the connection to end and returns the close code (0
// without a close frame).
func (c *client) expectClose(t *testing.T, timeout time.Duration) int {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case f, open := <-c.in:
			if !open {
				var ce *websocket.CloseError
				if errors.As(c.err, &ce) {
					return ce.Code
				}
				return 0
			}
			c.backlog = append(c.backlog, f)
		case <-timer.C:
			t.Fatalf("%s: still connected after %v", c.name, timeout)
		}
	}
}

func byID(id string) func(frame) bool { return func(f frame) bool { return f.ID == id } }

// isMessage matches message.new and ack frames of the message with clientMsgID.
func isMessage(clientMsgID string) func(frame) bool {
	return func(f frame) bool {
		m, ok := f.message()
		return ok && m.ClientMsgID == clientMsgID
	}
}

// presenceOf matches presence frames about userID with online.
func presenceOf(userID uint64, online bool) func(frame) bool {
	return func(f frame) bool {
		var d struct {
			UserID uint64 `json:"user_id"`
			Online bool   `json:"online"`
		}
		return json.Unmarshal(f.Data, &d) == nil && d.UserID == userID && d.Online == online
	}
}

// ack sends a text message and waits for its ack.
func (c *client) ack(t *testing.T, conv uint64, clientMsgID, text string) message {
	t.Helper()
	id := "f-" + clientMsgID
	c.sendMessage(t, id, conv, clientMsgID, text)
	f := c.expect(t, "", byID(id), waitFrame)
	m, ok := f.message()
	if f.Type != "ack" || !ok {
		t.Fatalf("%s: answer to %s is %+v, want ack", c.name, id, f)
	}
	return m
}

// eventually polls cond until it holds, failing after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still not %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// friendOnline reports whether friend shows online in u's GET /friends on n.
func friendOnline(t *testing.T, n *node, u *user, friend uint64) bool {
	t.Helper()
	var page struct {
		Items []struct {
			User struct {
				ID uint64 `json:"id"`
			} `json:"user"`
			Online bool `json:"online"`
		} `json:"items"`
	}
	n.doJSON(t, "GET", "/api/v1/friends?limit=100", u.Token, nil, http.StatusOK, &page)
	for _, f := range page.Items {
		if f.User.ID == friend {
			return f.Online
		}
	}
	t.Fatalf("user %d is not in %s's friends", friend, u.Name)
	return false
}

// health reads /healthz's bus field and /readyz's status code on n.
func health(n *node) (bus string, ready int) {
	_, b := n.get("/healthz")
	var h struct {
		Bus string `json:"bus"`
	}
	json.Unmarshal(b, &h)
	ready, _ = n.get("/readyz")
	return h.Bus, ready
}
