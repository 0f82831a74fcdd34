package api_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"lechat/api"
	"lechat/service/servicetest"
)

// allowed splits an Allow or Access-Control-Allow-* header into sorted items.
func allowed(h string) []string {
	var out []string
	for _, s := range strings.Split(h, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, strings.ToLower(s))
		}
	}
	slices.Sort(out)
	return out
}

func TestUnknownRoutesAndMethods(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		_, token := ts.activeUser(t, "", "")

		for _, tc := range []struct{ method, path string }{
			{"GET", "/api/v1/nope"},
			{"POST", "/api/v1/nope"},
			{"GET", "/api"},
			{"GET", "/api/v2/me"},
			{"GET", "/api/v1/users/1/extra"},
			{"DELETE", "/api/v1/auth/nope"},
			{"GET", "/ws/x"},
		} {
			r := ts.doJSON(t, tc.method, tc.path, token, nil)
			msg := expectError(t, r, http.StatusNotFound, "not_found", "")
			if !strings.Contains(msg, tc.path) {
				t.Errorf("%s %s: message %q does not name the path", tc.method, tc.path, msg)
			}
		}

		for _, tc := range []struct {
			method, path string
			allow        []string
		}{
			{"GET", "/api/v1/auth/login", []string{"post"}},
			{"PUT", "/api/v1/auth/register", []string{"post"}},
			{"DELETE", "/api/v1/me", []string{"get", "patch"}},
			{"POST", "/api/v1/me/password", []string{"put"}},
			{"PATCH", "/api/v1/users/7", []string{"get"}},
			{"POST", "/healthz", []string{"get", "head"}},
		} {
			r := ts.doJSON(t, tc.method, tc.path, token, nil)
			expectError(t, r, http.StatusMethodNotAllowed, "invalid_request", "")
			if got := allowed(r.Header.Get("Allow")); !slices.Equal(got, tc.allow) {
				t.Errorf("%s %s: Allow %q, want %v", tc.method, tc.path, r.Header.Get("Allow"), tc.allow)
			}
		}
	})
}

func TestRequestID(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		get := func(path, id string) *response {
			t.Helper()
			req := newRequest(t, "GET", ts.URL+path, "", nil)
			if id != "" {
				req.Header.Set("X-Request-ID", id)
			}
			return send(t, ts.Client, req)
		}
		paths := []string{"/healthz", "/api/v1/me", "/api/v1/nope", "/api/v1/auth/login"}
		sane := []string{"abc-DEF_123.x", "0f8fad5b-d9cb-469f-a165-70867728950e", strings.Repeat("a", 64)}
		insane := []string{strings.Repeat("a", 200), strings.Repeat("b", 65), "has space", `quote"d`, "中文", "a/b", "<script>"}
		for _, path := range paths {
			for _, id := range sane {
				if got := get(path, id).Header.Get("X-Request-ID"); got != id {
					t.Errorf("GET %s with X-Request-ID %q: answered %q, want it echoed", path, id, got)
				}
			}
			for _, id := range insane {
				if got := get(path, id).Header.Get("X-Request-ID"); got == id || !generatedRequestID.MatchString(got) {
					t.Errorf("GET %s with X-Request-ID %q: answered %q, want a fresh id", path, id, got)
				}
			}
			a, b := get(path, "").Header.Get("X-Request-ID"), get(path, "").Header.Get("X-Request-ID")
			if !generatedRequestID.MatchString(a) || a == b {
				t.Errorf("GET %s without an id: answered %q and %q, want two fresh ids", path, a, b)
			}
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		// send checks X-Content-Type-Options on every answer; these are the others.
		for _, r := range []*response{
			ts.doJSON(t, "GET", "/healthz", "", nil),
			ts.doJSON(t, "GET", "/api/v1/me", "", nil),
			ts.doJSON(t, "POST", "/api/v1/auth/login", "", `{`),
			ts.doJSON(t, "GET", "/api/v1/nope", "", nil),
			ts.doJSON(t, "GET", "/", "", nil),
		} {
			if got := r.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options = %q, want DENY", got)
			}
			if got := r.Header.Get("Referrer-Policy"); got != "no-referrer" {
				t.Errorf("Referrer-Policy = %q, want no-referrer", got)
			}
		}
	})
}

func TestCORS(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db, func(o *api.Options) { o.CORSOrigins = []string{"https://localhost"} })
		u, token := ts.activeUser(t, "", "")
		preflight := func(origin, method, path string) *response {
			t.Helper()
			req := newRequest(t, "OPTIONS", ts.URL+path, "", nil)
			req.Header.Set("Origin", origin)
			req.Header.Set("Access-Control-Request-Method", method)
			req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
			return send(t, ts.Client, req)
		}
		withOrigin := func(origin, method, path, token string, body any) *response {
			t.Helper()
			req := newRequest(t, method, ts.URL+path, token, body)
			req.Header.Set("Origin", origin)
			return send(t, ts.Client, req)
		}
		login := map[string]string{"login": u.Username, "password": servicetest.Password}

		t.Run("allowed origin", func(t *testing.T) {
			for _, tc := range []struct{ method, path string }{
				{"POST", "/api/v1/auth/login"}, {"PATCH", "/api/v1/me"}, {"PUT", "/api/v1/me/password"},
			} {
				r := preflight("https://localhost", tc.method, tc.path)
				expectStatus(t, r, http.StatusNoContent)
				if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://localhost" {
					t.Errorf("preflight %s %s: Access-Control-Allow-Origin %q", tc.method, tc.path, got)
				}
				methods := allowed(r.Header.Get("Access-Control-Allow-Methods"))
				for _, m := range []string{"get", "post", "put", "patch", "delete"} {
					if !slices.Contains(methods, m) {
						t.Errorf("preflight: Access-Control-Allow-Methods %v lacks %s", methods, m)
					}
				}
				headers := allowed(r.Header.Get("Access-Control-Allow-Headers"))
				for _, h := range []string{"authorization", "content-type"} {
					if !slices.Contains(headers, h) {
						t.Errorf("preflight: Access-Control-Allow-Headers %v lacks %s", headers, h)
					}
				}
				if !slices.Contains(r.Header.Values("Vary"), "Origin") {
					t.Errorf("preflight: Vary %q lacks Origin", r.Header.Values("Vary"))
				}
				if len(r.Body) != 0 {
					t.Errorf("preflight answered a body: %s", r.Body)
				}
			}

			r := withOrigin("https://localhost", "POST", "/api/v1/auth/login", "", login)
			expectStatus(t, r, http.StatusOK)
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://localhost" {
				t.Errorf("login: Access-Control-Allow-Origin %q", got)
			}
			if got := allowed(r.Header.Get("Access-Control-Expose-Headers")); !slices.Contains(got, "x-request-id") {
				t.Errorf("login: Access-Control-Expose-Headers %v lacks X-Request-ID", got)
			}
			// Error answers must be readable too, or the app cannot show them.
			r = withOrigin("https://localhost", "GET", "/api/v1/me", "", nil)
			expectUnauthorized(t, r)
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://localhost" {
				t.Errorf("401: Access-Control-Allow-Origin %q", got)
			}
			r = withOrigin("https://localhost", "GET", "/api/v1/me", token, nil)
			expectStatus(t, r, http.StatusOK)
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "https://localhost" {
				t.Errorf("GET /me: Access-Control-Allow-Origin %q", got)
			}
		})

		t.Run("other origins", func(t *testing.T) {
			for _, origin := range []string{"https://evil.example", "http://localhost", "https://localhost.evil.example", "null"} {
				r := preflight(origin, "POST", "/api/v1/auth/login")
				if r.Status == http.StatusNoContent {
					t.Errorf("preflight from %s answered 204", origin)
				}
				for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers"} {
					if got := r.Header.Get(h); got != "" {
						t.Errorf("preflight from %s: %s %q", origin, h, got)
					}
				}
				r = withOrigin(origin, "POST", "/api/v1/auth/login", "", login)
				expectStatus(t, r, http.StatusOK) // served; the browser withholds it
				if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
					t.Errorf("login from %s: Access-Control-Allow-Origin %q", origin, got)
				}
			}
			r := ts.doJSON(t, "GET", "/api/v1/me", token, nil) // no Origin at all
			expectStatus(t, r, http.StatusOK)
			if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
				t.Errorf("without Origin: Access-Control-Allow-Origin %q", got)
			}
		})
	})
}

func TestHealthz(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		r := ts.doJSON(t, "GET", "/healthz", "", nil)
		expectStatus(t, r, http.StatusOK)
		var body struct {
			Status string `json:"status"`
		}
		decodeStrict(t, r.Body, &body)
		if body.Status != "ok" {
			t.Errorf("GET /healthz = %s, want status ok", r.Body)
		}
		r = ts.doJSON(t, "HEAD", "/healthz", "", nil)
		expectStatus(t, r, http.StatusOK)
		if len(r.Body) != 0 {
			t.Errorf("HEAD /healthz answered a body: %q", r.Body)
		}
	})

	t.Run("database down", func(t *testing.T) {
		t.Parallel()
		url, client := startServer(t, api.Options{Log: servicetest.Logger(),
			Health: func(context.Context) error { return errors.New("dial tcp 10.9.8.7:3306: secret detail") }})
		r := send(t, client, newRequest(t, "GET", url+"/healthz", "", nil))
		expectError(t, r, http.StatusServiceUnavailable, "unavailable", "")
		if strings.Contains(string(r.Body), "secret detail") || strings.Contains(string(r.Body), "10.9.8.7") {
			t.Errorf("the answer shows the cause: %s", r.Body)
		}
	})

	t.Run("a panic becomes a 500", func(t *testing.T) {
		t.Parallel()
		// With no Health func, /healthz calls a nil func: a real panic inside the
		// real router, which its recovery must turn into the plain envelope.
		url, client := startServer(t, api.Options{Log: servicetest.Logger()})
		r := send(t, client, newRequest(t, "GET", url+"/healthz", "", nil))
		expectError(t, r, http.StatusInternalServerError, "internal", "")
		if want := `{"error":{"code":"internal","message":"internal error"}}`; string(r.Body) != want {
			t.Errorf("body %s, want %s", r.Body, want)
		}
		// The server still serves.
		expectError(t, send(t, client, newRequest(t, "GET", url+"/api/v1/nope", "", nil)), http.StatusNotFound, "not_found", "")
	})
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db, func(o *api.Options) {
			o.RateLimits = api.RateLimits{Enabled: true,
				Register: api.Limit{PerMinute: 60, Burst: 10},
				Login:    api.Limit{PerMinute: 1, Burst: 2},
				Resend:   api.Limit{PerMinute: 60, Burst: 10}}
		})
		u, _ := servicetest.ActiveUser(t, ts.Acc, ts.Box) // not through the limited routes
		login := func(password string) *response {
			t.Helper()
			return ts.doJSON(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": u.Username, "password": password})
		}

		r := login(servicetest.Password)
		expectStatus(t, r, http.StatusOK)
		var first loginJSON
		decodeStrict(t, r.Body, &first)
		expectError(t, login("wrong password"), http.StatusUnauthorized, "unauthorized", "")

		r = login(servicetest.Password)
		expectError(t, r, http.StatusTooManyRequests, "rate_limited", "")
		secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || secs < 1 || secs > 60 {
			t.Errorf("Retry-After %q, want 1 to 60 seconds", r.Header.Get("Retry-After"))
		}
		if strings.Contains(string(r.Body), `"token"`) {
			t.Errorf("a refused login carries a token: %s", r.Body)
		}

		// A forged X-Forwarded-For does not buy a new bucket: no proxy is trusted.
		req := newRequest(t, "POST", ts.URL+"/api/v1/auth/login", "",
			map[string]string{"login": u.Username, "password": servicetest.Password})
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		req.Header.Set("X-Real-IP", "203.0.113.9")
		expectError(t, send(t, ts.Client, req), http.StatusTooManyRequests, "rate_limited", "")

		// Other routes are not affected.
		if me := ts.me(t, first.Token); me.ID != u.ID {
			t.Errorf("GET /me = user %d, want %d", me.ID, u.ID)
		}
		name := servicetest.Unique("rl")
		ts.register(t, name, name+"@example.com", servicetest.Password, "")
		expectStatus(t, ts.doJSON(t, "POST", "/api/v1/auth/resend-activation", "", map[string]string{"email": name + "@example.com"}), http.StatusAccepted)
		expectStatus(t, ts.doJSON(t, "GET", "/healthz", "", nil), http.StatusOK)
		expectStatus(t, ts.doJSON(t, "GET", "/api/v1/users?q=x", first.Token, nil), http.StatusOK)
	})
}

func TestAuthorizationSchemeAndVary(t *testing.T) {
	t.Parallel()
	db := servicetest.DB(t, "sqlite")
	ts := newTestServer(t, db, func(o *api.Options) { o.CORSOrigins = []string{"https://localhost"} })
	_, token := ts.activeUser(t, "", "")
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		req := newRequest(t, "GET", ts.URL+"/api/v1/me", "", nil)
		req.Header.Set("Authorization", scheme+" "+token)
		r := send(t, ts.Client, req)
		expectStatus(t, r, http.StatusOK)
		// A cache must not hand this answer to another origin: it varies by Origin
		// even when the request had none.
		if !strings.Contains(strings.Join(r.Header.Values("Vary"), ","), "Origin") {
			t.Errorf("Vary = %q, want Origin", r.Header.Values("Vary"))
		}
	}
	for _, h := range []string{"Basic " + token, token, "Bearer", "Bearer  "} {
		req := newRequest(t, "GET", ts.URL+"/api/v1/me", "", nil)
		req.Header.Set("Authorization", h)
		expectUnauthorized(t, send(t, ts.Client, req))
	}
}
