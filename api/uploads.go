package api

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"lechat/model"
)

// uploadImagesPath is the upload route; it limits its body itself (see limitBody).
const uploadImagesPath = "/api/v1/uploads/images"

// multipartOverhead is what a multipart body may carry besides the file: the
// boundaries, the part headers and a few small fields.
const multipartOverhead = 64 << 10

// maxUploadParts bounds the form fields read before the file.
const maxUploadParts = 8

// uploadCSP is the Content-Security-Policy of served uploads: an image opened on
// its own shows, but nothing in it runs or loads.
const uploadCSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"

func (s *Server) uploadRoutes(authed gin.IRoutes) {
	authed.POST(strings.TrimPrefix(uploadImagesPath, "/api/v1"), s.handle(s.uploadImage))
}

// uploadImage handles POST /uploads/images: multipart/form-data with the image in
// the field file. The body is read as a stream, never parsed into memory or temp
// files as a whole; a body whose Content-Length is over the limit is refused
// before any of it is read.
func (s *Server) uploadImage(c *gin.Context) error {
	limit := s.uploads.MaxBytes() + multipartOverhead
	if c.Request.ContentLength > limit {
		return s.uploads.TooLargeError()
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return model.Errorf(model.ErrInvalid, "send the image as multipart/form-data, in a field named file")
	}
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return errRequired("file")
		} else if err != nil {
			return s.bodyError(err)
		}
		if part.FormName() != "file" {
			if parts >= maxUploadParts {
				return model.Errorf(model.ErrInvalid, "too many form fields: send the image in a field named file")
			}
			if _, err := io.Copy(io.Discard, part); err != nil {
				return s.bodyError(err)
			}
			continue
		}
		body := &readErrors{r: part}
		img, err := s.uploads.SaveImage(c.Request.Context(), body)
		if err != nil {
			if body.err != nil { // the request, not the server, failed
				return s.bodyError(body.err)
			}
			return err
		}
		c.JSON(http.StatusCreated, img)
		return nil
	}
}

// bodyError is the answer to a request body that could not be read: over the
// limit, or not well-formed multipart.
func (s *Server) bodyError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return s.uploads.TooLargeError()
	}
	return model.Errorf(model.ErrInvalid, "the multipart body is malformed or cut off")
}

// readErrors remembers the error, other than EOF, that reading r met.
type readErrors struct {
	r   io.Reader
	err error
}

func (b *readErrors) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// serveUpload answers GET and HEAD /uploads/*name with a stored image. Names are
// content addresses, so an answer never changes: it may be cached for a year.
// A malformed or unknown name gets 404 in the error envelope.
func (s *Server) serveUpload(c *gin.Context) {
	f, err := s.uploads.Open(c.Request.Context(), strings.TrimPrefix(c.Param("name"), "/"))
	if err != nil {
		writeError(c, s.log, err)
		return
	}
	defer f.Close()
	h := c.Writer.Header()
	h.Set("Content-Type", f.ContentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", uploadCSP)
	h.Set("Content-Disposition", "inline")
	h.Set("ETag", `"`+f.Hash+`"`)
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, f)
}
