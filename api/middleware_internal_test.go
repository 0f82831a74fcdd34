package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// lockedBuffer is a log sink that the server's goroutines and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRecoverPanics(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(withRequestID(), recoverPanics(slog.New(slog.NewJSONHandler(&logs, nil))), securityHeaders())
	r.GET("/panic-string", func(*gin.Context) { panic("secret: the db password is hunter2") })
	r.GET("/panic-error", func(*gin.Context) { panic(fmt.Errorf("query failed: %w", errors.New("hunter2 leaked"))) })
	r.GET("/panic-nil-map", func(*gin.Context) {
		var m map[string]int
		m["hunter2"]++
	})
	r.GET("/panic-after-writing", func(c *gin.Context) {
		c.String(http.StatusOK, "partial")
		panic("late hunter2")
	})
	r.GET("/abort", func(*gin.Context) { panic(http.ErrAbortHandler) })
	r.GET("/ok", func(c *gin.Context) { c.String(http.StatusOK, "fine") })
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.Timeout = time.Minute

	get := func(path string) (*http.Response, string) {
		t.Helper()
		res, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatalf("GET %s: read: %v", path, err)
		}
		return res, string(b)
	}

	for _, path := range []string{"/panic-string", "/panic-error", "/panic-nil-map"} {
		res, body := get(path)
		if res.StatusCode != http.StatusInternalServerError {
			t.Errorf("GET %s: status %d, want 500", path, res.StatusCode)
		}
		if want := `{"error":{"code":"internal","message":"internal error"}}`; body != want {
			t.Errorf("GET %s: body %s, want %s", path, body, want)
		}
		if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		if res.Header.Get(requestIDHeader) == "" {
			t.Errorf("GET %s: no X-Request-ID", path)
		}
		for _, leak := range []string{"hunter2", "goroutine", ".go:", "panic", "runtime"} {
			if strings.Contains(body, leak) {
				t.Errorf("GET %s: body shows %q: %s", path, leak, body)
			}
		}
	}

	// Once the answer has begun, it is left as it is: no envelope glued to it.
	if res, body := get("/panic-after-writing"); res.StatusCode != http.StatusOK || body != "partial" {
		t.Errorf("GET /panic-after-writing: %d %q, want 200 partial", res.StatusCode, body)
	}

	// http.ErrAbortHandler is net/http's way to drop the connection: it passes.
	if res, err := client.Get(srv.URL + "/abort"); err == nil {
		res.Body.Close()
		t.Errorf("GET /abort answered %d, want the connection dropped", res.StatusCode)
	}

	if res, body := get("/ok"); res.StatusCode != http.StatusOK || body != "fine" {
		t.Errorf("GET /ok after the panics: %d %q", res.StatusCode, body)
	}

	// The operator gets what the client does not: the panic and its stack.
	out := logs.String()
	for _, want := range []string{"panic in handler", "hunter2 leaked", "secret: the db password", "goroutine", "/panic-nil-map"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %q:\n%s", want, out)
		}
	}
}

func TestIPLimiter(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	l := newIPLimiter(Limit{PerMinute: 1, Burst: 2})
	steps := []struct {
		ip       string
		at       time.Duration // after t0
		wantWait bool
	}{
		{"10.0.0.1", 0, false},
		{"10.0.0.1", time.Second, false},
		{"10.0.0.1", 2 * time.Second, true},
		{"10.0.0.2", 2 * time.Second, false}, // each address has its own bucket
		{"10.0.0.1", 3 * time.Second, true},  // a refused request does not cost a token
		{"10.0.0.1", 61 * time.Second, false},
		{"10.0.0.1", 62 * time.Second, true},
		{"10.0.0.1", 20 * time.Minute, false}, // forgotten after idling, then a full bucket
		{"10.0.0.1", 20*time.Minute + time.Second, false},
		{"10.0.0.1", 20*time.Minute + 2*time.Second, true},
	}
	for i, s := range steps {
		wait := l.wait(s.ip, t0.Add(s.at))
		if (wait > 0) != s.wantWait {
			t.Errorf("step %d (%s at %v): wait %v, want waiting %v", i, s.ip, s.at, wait, s.wantWait)
		}
		if wait > time.Minute {
			t.Errorf("step %d: wait %v, more than a refill", i, wait)
		}
	}
	if n := len(l.buckets); n != 1 {
		t.Errorf("%d buckets after the sweep, want 1 (10.0.0.2 idled out)", n)
	}

	if w := newIPLimiter(Limit{}).wait("10.0.0.3", t0); w != time.Minute {
		t.Errorf("a zero limit: wait %v, want every request refused for a minute", w)
	}
}

func TestValidRequestID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"abc", true},
		{"A-b_c.9", true},
		{strings.Repeat("x", 64), true},
		{"", false},
		{strings.Repeat("x", 65), false},
		{"a b", false},
		{"a\tb", false},
		{"ä", false},
		{"a/b", false},
		{"a,b", false},
	}
	for _, tt := range tests {
		if got := validRequestID(tt.id); got != tt.want {
			t.Errorf("validRequestID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}
