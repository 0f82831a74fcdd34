package api

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// pageCSP is the Content-Security-Policy of the web app's pages.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data: blob: https:; connect-src 'self' ws: wss:; font-src 'self' data:; " +
	"object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"

// webApp serves the built single-page app: files as they are, and index.html for
// every other page path so that history-mode routes load the app.
type webApp struct {
	files   fs.FS // nil when not built
	index   []byte
	unbuilt []byte
}

func newWebApp(files fs.FS, unbuilt []byte) *webApp {
	w := &webApp{files: files, unbuilt: unbuilt}
	if files != nil {
		if b, err := fs.ReadFile(files, "index.html"); err == nil {
			w.index = b
		} else {
			w.files = nil
		}
	}
	return w
}

// isAPIPath reports paths that belong to the server, never to the app.
func isAPIPath(p string) bool {
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/ws" || strings.HasPrefix(p, "/ws/") ||
		p == "/uploads" || strings.HasPrefix(p, "/uploads/")
}

// serve answers a GET or HEAD for the app; it returns false when it has nothing
// for the request (another method, or a missing asset file).
func (w *webApp) serve(c *gin.Context) bool {
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		return false
	}
	h := c.Writer.Header()
	if w.files == nil {
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		c.Data(http.StatusOK, "text/html; charset=utf-8", w.unbuilt)
		return true
	}
	name := strings.TrimPrefix(path.Clean("/"+c.Request.URL.Path), "/")
	if name != "" && name != "index.html" {
		if st, err := fs.Stat(w.files, name); err == nil && !st.IsDir() {
			if strings.HasPrefix(name, "assets/") { // names carry a content hash
				h.Set("Cache-Control", "public, max-age=31536000, immutable")
			} else {
				h.Set("Cache-Control", "public, max-age=3600")
			}
			http.ServeFileFS(c.Writer, c.Request, w.files, name)
			return true
		}
		if path.Ext(name) != "" { // a missing file, not a page
			return false
		}
	}
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", pageCSP)
	http.ServeContent(c.Writer, c.Request, "index.html", time.Time{}, bytes.NewReader(w.index))
	return true
}
