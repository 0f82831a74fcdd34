package api_test

import (
	"io/fs"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"lechat/api"
	"lechat/service/servicetest"
)

const (
	indexHTML = `<!DOCTYPE html><html><head><script type="module" src="/assets/app-abc123.js"></script></head><body><div id="app"></div></body></html>`
	appJS     = `import{createApp as e}from"vue";console.log("LeChat");`
	unbuilt   = `<!DOCTYPE html><title>LeChat</title><p>The web app was not built.</p>`
)

// webServer serves the router with app as its front end; no route reached here
// needs a database.
func webServer(t *testing.T, app fs.FS) func(method, path string) *response {
	t.Helper()
	url, client := startServer(t, api.Options{Log: servicetest.Logger(), Frontend: app, UnbuiltPage: []byte(unbuilt)})
	return func(method, path string) *response {
		t.Helper()
		return send(t, client, newRequest(t, method, url+path, "", nil))
	}
}

func TestWebApp(t *testing.T) {
	t.Parallel()
	do := webServer(t, fstest.MapFS{
		"index.html":           {Data: []byte(indexHTML)},
		"assets/app-abc123.js": {Data: []byte(appJS)},
		"robots.txt":           {Data: []byte("User-agent: *\n")},
	})

	t.Run("pages get index.html", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/", "/profile", "/activate?token=x", "/chat/42", "/index.html", "/settings/"} {
			r := do("GET", path)
			expectStatus(t, r, http.StatusOK)
			if string(r.Body) != indexHTML {
				t.Errorf("GET %s = %q, want index.html", path, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("GET %s: Content-Type %q", path, ct)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("GET %s: Cache-Control %q, want no-cache", path, cc)
			}
			csp := r.Header.Get("Content-Security-Policy")
			for _, d := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, d) {
					t.Errorf("GET %s: Content-Security-Policy %q lacks %s", path, csp, d)
				}
			}
		}
		r := do("HEAD", "/profile")
		expectStatus(t, r, http.StatusOK)
		if len(r.Body) != 0 || r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("HEAD /profile: body %q, CSP %q", r.Body, r.Header.Get("Content-Security-Policy"))
		}
	})

	t.Run("assets", func(t *testing.T) {
		t.Parallel()
		r := do("GET", "/assets/app-abc123.js")
		expectStatus(t, r, http.StatusOK)
		if string(r.Body) != appJS {
			t.Errorf("body %q, want the file", r.Body)
		}
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/javascript") && !strings.HasPrefix(ct, "application/javascript") {
			t.Errorf("Content-Type %q, want JavaScript", ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("Cache-Control %q, want a year, immutable", cc)
		}
		r = do("GET", "/robots.txt")
		expectStatus(t, r, http.StatusOK)
		if string(r.Body) != "User-agent: *\n" || strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
			t.Errorf("GET /robots.txt = %q, Cache-Control %q", r.Body, r.Header.Get("Cache-Control"))
		}
	})

	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		for _, tc := range []struct{ method, path string }{
			{"GET", "/assets/missing.js"},
			{"GET", "/favicon.ico"},
			{"GET", "/api/v1/nope"},
			{"GET", "/api/v1/nope.html"},
			{"GET", "/ws/nope"},
			{"POST", "/profile"},
			{"DELETE", "/"},
			{"PUT", "/assets/app-abc123.js"},
		} {
			r := do(tc.method, tc.path)
			expectError(t, r, http.StatusNotFound, "not_found", "")
			if strings.Contains(string(r.Body), "<!DOCTYPE") {
				t.Errorf("%s %s answered the app", tc.method, tc.path)
			}
		}
	})
}

func TestWebAppUnbuilt(t *testing.T) {
	t.Parallel()
	for name, app := range map[string]fs.FS{
		"no front end":     nil,
		"no index.html":    fstest.MapFS{"assets/app-abc123.js": {Data: []byte(appJS)}},
		"empty file tree":  fstest.MapFS{},
		"index.html a dir": fstest.MapFS{"index.html/x": {Data: []byte("x")}},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			do := webServer(t, app)
			for _, path := range []string{"/", "/profile", "/activate?token=x", "/assets/app-abc123.js"} {
				r := do("GET", path)
				expectStatus(t, r, http.StatusOK)
				if string(r.Body) != unbuilt {
					t.Errorf("GET %s = %q, want the unbuilt page", path, r.Body)
				}
				if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("GET %s: Content-Type %q", path, ct)
				}
			}
			expectError(t, do("GET", "/api/v1/nope"), http.StatusNotFound, "not_found", "")
			expectError(t, do("POST", "/profile"), http.StatusNotFound, "not_found", "")
		})
	}
}
