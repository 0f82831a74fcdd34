package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"lechat/api"
	"lechat/service"
	"lechat/service/servicetest"
)

// uploadServer is a test server with the uploads service on a data folder laid
// out as in production: the database file beside the uploads folder.
type uploadServer struct {
	*testServer
	dataDir string
}

func newUploadServer(t *testing.T, db *gorm.DB, cfg service.UploadsConfig) *uploadServer {
	t.Helper()
	dataDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dataDir, "lechat.db"), []byte("SQLite format 3\x00 secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	up := service.NewUploads(db, service.LocalStorage{Dir: filepath.Join(dataDir, "uploads")}, cfg, servicetest.Logger())
	ts := newTestServer(t, db, func(o *api.Options) { o.Uploads = up })
	return &uploadServer{testServer: ts, dataDir: dataDir}
}

type imageJSON struct {
	URL      string `json:"url"`
	ThumbURL string `json:"thumb_url"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
}

// multipartFile is a multipart/form-data body with one file part in field,
// named filename and declared as contentType, and its Content-Type header.
func multipartFile(t *testing.T, field, filename, contentType string, data []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.WriteField("caption", "holiday"); err != nil {
		t.Fatal(err)
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+filename+`"`)
	h.Set("Content-Type", contentType)
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}

// upload posts body with contentType and token to the upload route.
func (us *uploadServer) upload(t *testing.T, token string, body io.Reader, contentType string) *response {
	t.Helper()
	req, err := http.NewRequest("POST", us.URL+"/api/v1/uploads/images", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, us.Client, req)
}

func (us *uploadServer) uploadFile(t *testing.T, token, filename, contentType string, data []byte) *response {
	t.Helper()
	body, ct := multipartFile(t, "file", filename, contentType, data)
	return us.upload(t, token, bytes.NewReader(body), ct)
}

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.SetNRGBA(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: 128, A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// noisePNG is a PNG of random pixels: it does not compress, so it is about
// 4×w×h bytes.
func noisePNG(t *testing.T, w, h int) []byte {
	t.Helper()
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	rand.Read(m.Pix)
	for i := 3; i < len(m.Pix); i += 4 {
		m.Pix[i] = 255
	}
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

const uploadCSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

func TestUploadImage(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us := newUploadServer(t, db, service.UploadsConfig{})
		_, token := us.activeUser(t, "", "")

		// Over the 1 MiB limit of JSON bodies, under the upload limit.
		file := noisePNG(t, 800, 500)
		if len(file) < 1<<20 {
			t.Fatalf("the test PNG is only %d bytes", len(file))
		}
		r := us.uploadFile(t, token, "photo.jpg", "application/octet-stream", file) // name and type are ignored
		expectStatus(t, r, http.StatusCreated)
		var img imageJSON
		decodeStrict(t, r.Body, &img)
		if img.Width != 800 || img.Height != 500 || !strings.HasPrefix(img.URL, "/uploads/") ||
			!strings.HasSuffix(img.URL, ".png") || !strings.HasSuffix(img.ThumbURL, ".jpg") {
			t.Fatalf("answer %s", r.Body)
		}

		for _, tc := range []struct {
			url, contentType string
			w, h             int
			decode           func(io.Reader) (image.Image, error)
		}{
			{img.URL, "image/png", 800, 500, png.Decode},
			{img.ThumbURL, "image/jpeg", 320, 200, jpeg.Decode},
		} {
			r := us.doJSON(t, "GET", tc.url, "", nil) // images load without a token (<img src>)
			expectStatus(t, r, http.StatusOK)
			h := r.Header
			if got := h.Get("Content-Type"); got != tc.contentType {
				t.Errorf("%s: Content-Type %q, want %q", tc.url, got, tc.contentType)
			}
			if got := h.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("%s: Cache-Control %q", tc.url, got)
			}
			if got := h.Get("Content-Security-Policy"); got != uploadCSP {
				t.Errorf("%s: Content-Security-Policy %q", tc.url, got)
			}
			if got := h.Get("Content-Disposition"); got != "inline" {
				t.Errorf("%s: Content-Disposition %q", tc.url, got)
			}
			etag := h.Get("ETag")
			if len(etag) != 66 || !strings.Contains(tc.url, strings.Trim(etag, `"`)) {
				t.Errorf("%s: ETag %q is not the content address", tc.url, etag)
			}
			m, err := tc.decode(bytes.NewReader(r.Body))
			if err != nil {
				t.Fatalf("%s: %v", tc.url, err)
			}
			if b := m.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("%s is %v, want %d×%d", tc.url, b, tc.w, tc.h)
			}

			req := newRequest(t, "HEAD", us.URL+tc.url, "", nil)
			head := send(t, us.Client, req)
			expectStatus(t, head, http.StatusOK)
			if len(head.Body) != 0 || head.Header.Get("Content-Length") != strconv.Itoa(len(r.Body)) ||
				head.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("HEAD %s: %d body bytes, Content-Length %q, Content-Type %q", tc.url, len(head.Body),
					head.Header.Get("Content-Length"), head.Header.Get("Content-Type"))
			}

			req = newRequest(t, "GET", us.URL+tc.url, "", nil)
			req.Header.Set("If-None-Match", etag)
			expectStatus(t, send(t, us.Client, req), http.StatusNotModified)
		}

		// The same file again: the same answer.
		r = us.uploadFile(t, token, "again.png", "image/png", file)
		expectStatus(t, r, http.StatusCreated)
		var again imageJSON
		decodeStrict(t, r.Body, &again)
		if again != img {
			t.Errorf("the same image twice: %+v then %+v", img, again)
		}
	})
}

func TestUploadImageRefusals(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us := newUploadServer(t, db, service.UploadsConfig{MaxBytes: 256 << 10})
		user, token := us.activeUser(t, "", "")
		small := testPNG(t, 16, 16)

		t.Run("no token", func(t *testing.T) {
			expectUnauthorized(t, us.uploadFile(t, "", "a.png", "image/png", small))
		})
		t.Run("text named .png", func(t *testing.T) {
			r := us.uploadFile(t, token, "cat.png", "image/png", []byte("I am text, not a cat.\n"))
			expectError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "")
		})
		t.Run("html named .gif", func(t *testing.T) {
			r := us.uploadFile(t, token, "x.gif", "image/gif", []byte("<html><script>alert(1)</script>"))
			expectError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type", "")
		})
		t.Run("no file field", func(t *testing.T) {
			body, ct := multipartFile(t, "image", "a.png", "image/png", small)
			expectError(t, us.upload(t, token, bytes.NewReader(body), ct), http.StatusBadRequest, "invalid_request", "file")
		})
		t.Run("not multipart", func(t *testing.T) {
			r := us.doJSON(t, "POST", "/api/v1/uploads/images", token, map[string]string{"file": "x"})
			expectError(t, r, http.StatusBadRequest, "invalid_request", "")
		})
		t.Run("cut off", func(t *testing.T) {
			body, ct := multipartFile(t, "file", "a.png", "image/png", small)
			r := us.upload(t, token, bytes.NewReader(body[:len(body)-40]), ct)
			expectError(t, r, http.StatusBadRequest, "invalid_request", "")
		})
		t.Run("file over the limit", func(t *testing.T) {
			big := noisePNG(t, 300, 300) // about 360 KiB
			r := us.uploadFile(t, token, "big.png", "image/png", big)
			expectError(t, r, http.StatusRequestEntityTooLarge, "payload_too_large", "")
		})
		t.Run("file over the limit, no Content-Length", func(t *testing.T) {
			body, ct := multipartFile(t, "file", "big.png", "image/png", noisePNG(t, 300, 300))
			r := us.upload(t, token, io.MultiReader(bytes.NewReader(body)), ct) // unknown length: chunked
			expectError(t, r, http.StatusRequestEntityTooLarge, "payload_too_large", "")
		})
		t.Run("body far over the limit, no Content-Length", func(t *testing.T) {
			// More than the file limit plus the multipart allowance, in a field that
			// is not the file: the body limit stops it.
			body, ct := multipartFile(t, "padding", "pad.bin", "application/octet-stream", make([]byte, 400<<10))
			r := us.upload(t, token, io.MultiReader(bytes.NewReader(body)), ct)
			expectError(t, r, http.StatusRequestEntityTooLarge, "payload_too_large", "")
		})
		if n := countUploads(t, db, user.ID); n != 0 {
			t.Errorf("refused uploads left %d rows", n)
		}
		if entries, _ := os.ReadDir(filepath.Join(us.dataDir, "uploads")); len(entries) != 0 {
			t.Errorf("refused uploads left files: %v", entries)
		}
	})
}

// countUploads counts the upload rows of user id.
func countUploads(t *testing.T, db *gorm.DB, id uint64) int64 {
	t.Helper()
	var n int64
	if err := db.Table("uploads").Where("user_id = ?", id).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// gatedBody serves prefix and then zeros, limit bytes in all, then blocks until it
// is closed or ctx ends: a server that waited for the rest would never answer.
type gatedBody struct {
	ctx    context.Context
	mu     sync.Mutex
	prefix []byte
	served int64
	limit  int64
	closed chan struct{}
	once   sync.Once
}

func (g *gatedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	left := g.limit - g.served
	if left <= 0 {
		g.mu.Unlock()
		select {
		case <-g.closed:
		case <-g.ctx.Done():
		}
		g.mu.Lock()
		return 0, io.ErrClosedPipe
	}
	n := min(int64(len(p)), left)
	clear(p[:n])
	if g.served < int64(len(g.prefix)) {
		copy(p[:n], g.prefix[g.served:])
	}
	g.served += n
	return int(n), nil
}

func (g *gatedBody) Close() error {
	g.once.Do(func() { close(g.closed) })
	return nil
}

func TestUploadImageRefusesBigContentLengthUnread(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us := newUploadServer(t, db, service.UploadsConfig{})
		_, token := us.activeUser(t, "", "")

		// A well-formed start of a PNG in the file field: a server that read on
		// would wait for the rest.
		prefix := "--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n" +
			"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n"
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		body := &gatedBody{ctx: ctx, prefix: []byte(prefix), limit: 1 << 20, closed: make(chan struct{})}
		req, err := http.NewRequestWithContext(ctx, "POST", us.URL+"/api/v1/uploads/images", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = 1 << 30
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		r := send(t, us.Client, req)
		expectError(t, r, http.StatusRequestEntityTooLarge, "payload_too_large", "")
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("the refusal took %v", took)
		}
		body.mu.Lock()
		defer body.mu.Unlock()
		if body.served > 1<<20 {
			t.Errorf("%d bytes of the body were read", body.served)
		}
	})
}

func TestServeUploadNotFound(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		us := newUploadServer(t, db, service.UploadsConfig{})
		_, token := us.activeUser(t, "", "")
		r := us.uploadFile(t, token, "a.png", "image/png", testPNG(t, 10, 10))
		expectStatus(t, r, http.StatusCreated)
		var img imageJSON
		decodeStrict(t, r.Body, &img)
		hash := strings.TrimSuffix(filepath.Base(img.URL), ".png")

		for _, p := range []string{
			"/uploads/../lechat.db",
			"/uploads/..%2flechat.db",
			"/uploads/%2e%2e/lechat.db",
			"/uploads/" + hash[:2] + "/../../lechat.db",
			"/uploads/none.png",
			"/uploads/",
			"/uploads/00/" + strings.Repeat("0", 64) + ".png",
			"/uploads/" + hash[:2] + "/" + hash + ".txt",
			"/uploads/" + hash[:2] + "/" + hash + ".jpg",
			"/uploads/" + hash + ".png",
			img.URL + "/",
			img.URL + "/..",
		} {
			for _, method := range []string{"GET", "HEAD"} {
				req, err := http.NewRequest(method, us.URL+"/", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.URL.Opaque = p // sent as it is, not cleaned
				res := send(t, us.Client, req)
				if method == "HEAD" {
					if res.Status != http.StatusNotFound {
						t.Errorf("HEAD %s: status %d, want 404", p, res.Status)
					}
					continue
				}
				expectError(t, res, http.StatusNotFound, "not_found", "")
				if bytes.Contains(res.Body, []byte("secret")) {
					t.Errorf("GET %s: the database file leaked", p)
				}
			}
		}
	})
}
