package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Setup goes over REST, concurrently but bounded: registering, activating and
// logging in users, friendships, conversations and groups. None of it is
// measured; it only has to be correct and not take all day.

// apiClient calls the REST API of one server.
type apiClient struct {
	base string
	http *http.Client

	mu      sync.Mutex
	retries map[string]int // "route: status code" -> retries, since the last takeRetries
}

func newAPIClient(addr string, conns int) *apiClient {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 30 * time.Second}
	return &apiClient{base: "http://" + addr + "/api/v1", http: &http.Client{Transport: tr, Timeout: 60 * time.Second},
		retries: map[string]int{}}
}

// callRetrying is call for requests that are safe to repeat: a 500 or 503 is
// retried up to 4 times with a short backoff, and counted, since the report
// must show that the server failed even though the setup went on.
func (c *apiClient) callRetrying(ctx context.Context, method, path, token string, in, out any) error {
	for attempt := 1; ; attempt++ {
		err := c.call(ctx, method, path, token, in, out)
		var ae *apiError
		if err == nil || attempt == 5 || !errors.As(err, &ae) || (ae.Status != 500 && ae.Status != 503) {
			return err
		}
		c.mu.Lock()
		c.retries[fmt.Sprintf("%s %s: HTTP %d %s", method, routeOf(path), ae.Status, ae.Code)]++
		c.mu.Unlock()
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
		}
	}
}

// takeRetries returns the retries counted since the last call and resets them.
func (c *apiClient) takeRetries() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.retries
	c.retries = map[string]int{}
	return r
}

// routeOf replaces the numbers in a path by :id, so counts group by route.
func routeOf(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 64); err == nil {
			parts[i] = ":id"
		}
	}
	return strings.Join(parts, "/")
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Code    string
	Message string
	Route   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s: HTTP %d %s: %s", e.Route, e.Status, e.Code, e.Message)
}

// call sends in as JSON (when not nil) and decodes a 2xx answer into out (when not nil).
func (c *apiClient) call(ctx context.Context, method, path, token string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(b, &e)
		return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message, Route: method + " " + path}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// user is a bench account, signed in.
type user struct {
	ID       uint64
	Username string
	Email    string
	Token    string
}

const benchPassword = "bench-password-1"

// forEach runs fn(i) for i in [0, n) on at most conc goroutines; it stops at
// the first error (returned) or when ctx ends, and reports progress.
func forEach(ctx context.Context, n, conc int, what string, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
	)
	stopProgress := progress(what, n, &done)
	defer stopProgress()
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(ctx, i); err != nil {
					cancel(err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// createUsers registers, activates and signs in n users named prefix_<i>.
func createUsers(ctx context.Context, api *apiClient, srv *server, prefix string, n, conc int) ([]*user, error) {
	users := make([]*user, n)
	err := forEach(ctx, n, conc, "users "+prefix, func(ctx context.Context, i int) error {
		u := &user{Username: prefix + "_" + strconv.Itoa(i)}
		u.Email = u.Username + "@bench.example.com"
		var reg struct {
			User struct {
				ID uint64 `json:"id"`
			} `json:"user"`
		}
		err := api.call(ctx, "POST", "/auth/register", "", map[string]string{
			"username": u.Username, "email": u.Email, "password": benchPassword}, &reg)
		if err != nil {
			return err
		}
		u.ID = reg.User.ID
		tok, err := srv.logs.token(ctx, u.Email, 30*time.Second)
		if err != nil {
			return err
		}
		if err := api.call(ctx, "POST", "/auth/activate", "", map[string]string{"token": tok}, nil); err != nil {
			return err
		}
		var login struct {
			Token string `json:"token"`
			User  struct {
				ID uint64 `json:"id"`
			} `json:"user"`
		}
		// Logging in twice is harmless, so a server error is retried (and reported).
		if err := api.callRetrying(ctx, "POST", "/auth/login", "", map[string]string{
			"login": u.Username, "password": benchPassword}, &login); err != nil {
			return err
		}
		if login.Token == "" || login.User.ID == 0 {
			return fmt.Errorf("login of %s: no token or user id in the answer", u.Username)
		}
		u.Token, u.ID = login.Token, login.User.ID
		users[i] = u
		return nil
	})
	return users, err
}

// befriend makes a and b friends: a asks, b accepts.
func befriend(ctx context.Context, api *apiClient, a, b *user) error {
	var req struct {
		ID uint64 `json:"id"`
	}
	if err := api.call(ctx, "POST", "/friend-requests", a.Token, map[string]any{"to_user_id": b.ID}, &req); err != nil {
		return err
	}
	if req.ID == 0 {
		return errors.New("POST /friend-requests: no id in the answer")
	}
	return api.call(ctx, "POST", "/friend-requests/"+strconv.FormatUint(req.ID, 10)+"/accept", b.Token, nil, nil)
}

// openPrivate returns the id of a's private conversation with b.
func openPrivate(ctx context.Context, api *apiClient, a, b *user) (uint64, error) {
	var conv struct {
		ID uint64 `json:"id"`
	}
	if err := api.call(ctx, "POST", "/conversations/private", a.Token, map[string]any{"user_id": b.ID}, &conv); err != nil {
		return 0, err
	}
	if conv.ID == 0 {
		return 0, errors.New("POST /conversations/private: no id in the answer")
	}
	return conv.ID, nil
}

// groupInfo is the part of a group the bench reads.
type groupInfo struct {
	ID             uint64  `json:"id"`
	MemberCount    int     `json:"member_count"`
	ConversationID *uint64 `json:"conversation_id"`
}

func createGroup(ctx context.Context, api *apiClient, owner *user, name string) (groupInfo, error) {
	var out struct {
		Group groupInfo `json:"group"`
	}
	err := api.call(ctx, "POST", "/groups", owner.Token, map[string]any{"name": name}, &out)
	return out.Group, err
}

func getGroup(ctx context.Context, api *apiClient, u *user, id uint64) (groupInfo, error) {
	var out struct {
		Group groupInfo `json:"group"`
	}
	err := api.call(ctx, "GET", "/groups/"+strconv.FormatUint(id, 10), u.Token, nil, &out)
	return out.Group, err
}

func joinGroup(ctx context.Context, api *apiClient, u *user, id uint64) error {
	return api.call(ctx, "POST", "/groups/"+strconv.FormatUint(id, 10)+"/join", u.Token, nil, nil)
}
