package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"lechat/api"
	"lechat/service"
	"lechat/service/servicetest"
)

func TestMain(m *testing.M) { os.Exit(servicetest.Main(m)) }

// clock is the services' clock in these tests: real time plus an offset that a
// test moves forward. It is safe to read from the server's goroutines.
type clock struct{ offset atomic.Int64 }

func (c *clock) Now() time.Time          { return time.Now().Add(time.Duration(c.offset.Load())) }
func (c *clock) Advance(d time.Duration) { c.offset.Add(int64(d)) }

// testServer is the real router with real services on a real database, served
// over a real TCP listener.
type testServer struct {
	URL    string
	DB     *gorm.DB
	Acc    *service.Accounts
	Box    *servicetest.Mailbox
	Clock  *clock
	Client *http.Client
}

// newTestServer serves api.New on db with an accounts service whose mails land in
// Box and whose clock is Clock. mods may change the options before the router is
// built.
func newTestServer(t *testing.T, db *gorm.DB, mods ...func(*api.Options)) *testServer {
	t.Helper()
	acc, box := servicetest.Accounts(t, db)
	clk := &clock{}
	acc.Now = clk.Now // before the server starts: no request reads it yet
	o := api.Options{
		Log:      servicetest.Logger(),
		Accounts: acc,
		Health: func(ctx context.Context) error {
			sqlDB, err := db.DB()
			if err != nil {
				return err
			}
			return sqlDB.PingContext(ctx)
		},
	}
	for _, m := range mods {
		m(&o)
	}
	ts := &testServer{DB: db, Acc: acc, Box: box, Clock: clk}
	ts.URL, ts.Client = startServer(t, o)
	return ts
}

// startServer builds the router of o and serves it until the test ends.
func startServer(t *testing.T, o api.Options) (string, *http.Client) {
	t.Helper()
	h, err := api.New(o)
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.Timeout = time.Minute // a safety net against a hung server, not an assertion
	return srv.URL, c
}

// response is an answer read to its end.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

var generatedRequestID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// send runs req with client and reads the whole answer. Every answer of the
// server must carry an X-Request-ID and X-Content-Type-Options: nosniff, so send
// checks both.
func send(t *testing.T, client *http.Client, req *http.Request) *response {
	t.Helper()
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	if id := res.Header.Get("X-Request-ID"); id == "" {
		t.Errorf("%s %s: no X-Request-ID in the answer", req.Method, req.URL.Path)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("%s %s: X-Content-Type-Options = %q, want nosniff", req.Method, req.URL.Path, got)
	}
	return &response{Status: res.StatusCode, Header: res.Header, Body: body}
}

// newRequest builds a request to url. body may be nil (no body), a string or
// []byte (sent as they are) or any other value (sent as its JSON); a body gets
// Content-Type: application/json. token, when set, goes into Authorization.
func newRequest(t *testing.T, method, url, token string, body any) *http.Request {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("encode request body: %v", err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// doJSON sends method path (relative to the server) with body (see newRequest)
// and token, and returns the whole answer.
func (ts *testServer) doJSON(t *testing.T, method, path, token string, body any) *response {
	t.Helper()
	return send(t, ts.Client, newRequest(t, method, ts.URL+path, token, body))
}

// decodeStrict decodes b, which must be exactly one JSON value whose fields are
// all known to v.
func decodeStrict(t *testing.T, b []byte, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T from %s: %v", v, b, err)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value in %s", b)
	}
}

// expectStatus fails the test unless r has status want.
func expectStatus(t *testing.T, r *response, want int) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body %s", r.Status, want, r.Body)
	}
}

// errorEnvelope is the body of every error answer.
type errorEnvelope struct {
	Error struct {
		Code    string  `json:"code"`
		Message string  `json:"message"`
		Field   *string `json:"field"`
	} `json:"error"`
}

// expectError checks that r is an error answer with status, code and field ("" for
// none) in the contract's envelope, with no other fields and a message, which it
// returns.
func expectError(t *testing.T, r *response, status int, code, field string) string {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var e errorEnvelope
	decodeStrict(t, r.Body, &e)
	if e.Error.Code != code {
		t.Errorf("error code %q, want %q; body %s", e.Error.Code, code, r.Body)
	}
	if e.Error.Message == "" {
		t.Errorf("error without a message: %s", r.Body)
	}
	switch {
	case field == "" && e.Error.Field != nil:
		t.Errorf("error field %q, want none; body %s", *e.Error.Field, r.Body)
	case field != "" && (e.Error.Field == nil || *e.Error.Field != field):
		t.Errorf("error field is not %q; body %s", field, r.Body)
	}
	return e.Error.Message
}

// expectUnauthorized checks a 401 answer with its WWW-Authenticate challenge.
func expectUnauthorized(t *testing.T, r *response) string {
	t.Helper()
	msg := expectError(t, r, http.StatusUnauthorized, "unauthorized", "")
	if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer ") {
		t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
	}
	return msg
}

// userJSON is a user as the API shows it: to its owner (GET /me) or to another
// user (GET /users), each view leaving the other's fields empty.
type userJSON struct {
	ID        uint64 `json:"id"`
	Username  string `json:"username"`
	Nickname  string `json:"nickname"`
	AvatarURL string `json:"avatar_url"`
	Signature string `json:"signature"`
	Gender    string `json:"gender"`
	Location  string `json:"location"`
	// The owner's view.
	Email     string    `json:"email"`
	Birthday  string    `json:"birthday"`
	Activated bool      `json:"activated"`
	CreatedAt time.Time `json:"created_at"`
	// Another user's view.
	IsFriend bool    `json:"is_friend"`
	Remark   *string `json:"remark"`
}

type userEnvelope struct {
	User userJSON `json:"user"`
}

type loginJSON struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      userJSON  `json:"user"`
}

// register posts a registration and returns the created user; it fails the
// test on any other answer.
func (ts *testServer) register(t *testing.T, username, email, password, nickname string) userJSON {
	t.Helper()
	r := ts.doJSON(t, "POST", "/api/v1/auth/register", "", map[string]string{
		"username": username, "email": email, "password": password, "nickname": nickname})
	expectStatus(t, r, http.StatusCreated)
	var out userEnvelope
	decodeStrict(t, r.Body, &out)
	return out.User
}

// activate posts the newest activation token mailed to email.
func (ts *testServer) activate(t *testing.T, email string) userJSON {
	t.Helper()
	r := ts.doJSON(t, "POST", "/api/v1/auth/activate", "",
		map[string]string{"token": ts.Box.ActivationToken(t, email)})
	expectStatus(t, r, http.StatusOK)
	var out userEnvelope
	decodeStrict(t, r.Body, &out)
	return out.User
}

// login signs in and returns the answer; it fails the test unless it is a 200.
func (ts *testServer) login(t *testing.T, login, password string) loginJSON {
	t.Helper()
	r := ts.doJSON(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": login, "password": password})
	expectStatus(t, r, http.StatusOK)
	var out loginJSON
	decodeStrict(t, r.Body, &out)
	if out.Token == "" {
		t.Fatalf("login answered without a token: %s", r.Body)
	}
	return out
}

// activeUser makes an active user named username (a unique one when empty)
// through the API, with servicetest.Password, and signs it in.
func (ts *testServer) activeUser(t *testing.T, username, nickname string) (userJSON, string) {
	t.Helper()
	if username == "" {
		username = servicetest.Unique("u")
	}
	email := username + "@example.com"
	ts.register(t, username, email, servicetest.Password, nickname)
	ts.activate(t, email)
	res := ts.login(t, username, servicetest.Password)
	return res.User, res.Token
}

// me reads GET /me with token and fails the test unless it is a 200.
func (ts *testServer) me(t *testing.T, token string) userJSON {
	t.Helper()
	r := ts.doJSON(t, "GET", "/api/v1/me", token, nil)
	expectStatus(t, r, http.StatusOK)
	var u userJSON
	decodeStrict(t, r.Body, &u)
	return u
}

// dbState is what a rejected request must leave as it was: the number of rows of
// each table of accounts.
type dbState map[string]int64

// countRows counts the rows of the accounts tables. Only tests that run alone
// (not parallel with others on the same database) may compare two counts.
func countRows(t *testing.T, db *gorm.DB) dbState {
	t.Helper()
	s := dbState{}
	for _, table := range []string{"users", "activation_tokens", "auth_tokens"} {
		var n int64
		if err := db.Table(table).Count(&n).Error; err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		s[table] = n
	}
	return s
}

// userRow reads every column of the user's row, as the database holds it.
func userRow(t *testing.T, db *gorm.DB, id uint64) map[string]any {
	t.Helper()
	row := map[string]any{}
	if err := db.Table("users").Where("id = ?", id).Take(&row).Error; err != nil {
		t.Fatalf("read user %d: %v", id, err)
	}
	return row
}

// rowString returns column col of row as a string, whatever type the driver chose.
func rowString(t *testing.T, row map[string]any, col string) string {
	t.Helper()
	switch v := row[col].(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	default:
		t.Fatalf("column %s is a %T", col, v)
		return ""
	}
}

// sameRow fails the test unless the two reads of a user's row are equal.
func sameRow(t *testing.T, before, after map[string]any) {
	t.Helper()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("the user row changed:\nbefore %v\nafter  %v", before, after)
	}
}
