package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"strings"
	"time"

	"gorm.io/gorm"

	"lechat/model"
)

// UploadsConfig holds the limits of image uploads. Zero values take the defaults.
type UploadsConfig struct {
	MaxBytes  int64 // largest file accepted; default model.MaxUploadBytes (10 MiB)
	MaxPixels int   // largest width × height; default model.MaxImagePixels
	// Workers bounds how many images are decoded at once, and so the memory that
	// decoding takes (up to ~10 bytes a pixel each); default 2.
	Workers int
}

// Uploads accepts images from signed-in users, keeps them in a Storage under
// content-addressed names, records who uploaded what, and tells the chat
// service whether an image message shows one of them.
type Uploads struct {
	db    *gorm.DB
	store Storage
	cfg   UploadsConfig
	log   *slog.Logger
	slots chan struct{} // one per image being decoded
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// NewUploads returns the uploads service, keeping files in store.
func NewUploads(db *gorm.DB, store Storage, cfg UploadsConfig, log *slog.Logger) *Uploads {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = model.MaxUploadBytes
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = model.MaxImagePixels
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	return &Uploads{db: db, store: store, cfg: cfg, log: log,
		slots: make(chan struct{}, cfg.Workers), Now: time.Now}
}

// MaxBytes is the size limit of an uploaded file.
func (s *Uploads) MaxBytes() int64 { return s.cfg.MaxBytes }

// SaveImage reads an image file from r, checks it, stores it with a thumbnail and
// records the upload for the signed-in user. The type is decided by the content:
// PNG, JPEG, GIF and WebP are accepted. JPEG and PNG are stored re-encoded, which
// drops their metadata (EXIF and its location, text chunks); a JPEG's EXIF
// orientation is applied first. GIF and WebP are stored as sent (WebP without its
// EXIF and XMP chunks). The same image stored twice is one file.
//
// Returns ErrUnauthorized (nobody signed in), ErrInvalid (an empty file),
// ErrMediaType (not one of the accepted types, or not readable as its type) or
// ErrTooLarge (more than MaxBytes, or more pixels than the limits allow: this is
// checked on the image's header, before it is decoded). An error reading r is
// returned wrapped: the caller knows what it means.
func (s *Uploads) SaveImage(ctx context.Context, r io.Reader) (*model.ImageContent, error) {
	uid := model.UserID(ctx)
	if uid == 0 {
		return nil, model.Errorf(model.ErrUnauthorized, "sign in to upload images")
	}
	data, format, err := s.readImage(r)
	if err != nil {
		return nil, err
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p, err := processImage(format, data, s.cfg.MaxPixels)
	<-s.slots
	if err != nil {
		return nil, err
	}
	up := model.Upload{UserID: uid, Name: contentName(p.data, extension(p.format)),
		ThumbName: contentName(p.thumb, extension(p.thumbFormat)), ContentType: contentTypeOfExt(extension(p.format)),
		Width: p.width, Height: p.height, Bytes: int64(len(p.data)), CreatedAt: s.Now().UTC().Truncate(time.Millisecond)}
	// Files first: a row never names a file that is not there.
	if err := s.store.Put(ctx, up.Name, bytes.NewReader(p.data)); err != nil {
		return nil, fmt.Errorf("store image: %w", err)
	}
	if err := s.store.Put(ctx, up.ThumbName, bytes.NewReader(p.thumb)); err != nil {
		return nil, fmt.Errorf("store thumbnail: %w", err)
	}
	if err := s.db.WithContext(ctx).Create(&up).Error; err != nil {
		return nil, unavailableIfDown(fmt.Errorf("record upload: %w", dbErr(err)))
	}
	s.log.InfoContext(ctx, "image uploaded", "user_id", uid, "upload_id", up.ID, "name", up.Name,
		"type", up.ContentType, "bytes", up.Bytes, "width", up.Width, "height", up.Height)
	img := up.Image()
	return &img, nil
}

// readImage sniffs the type of the file r holds, then reads it whole, up to
// MaxBytes. A file of another type is refused before the rest is read.
func (s *Uploads) readImage(r io.Reader) ([]byte, string, error) {
	head := make([]byte, sniffHeadLen)
	n, err := io.ReadFull(r, head)
	switch {
	case errors.Is(err, io.EOF):
		return nil, "", model.Errorf(model.ErrInvalid, "the file is empty")
	case errors.Is(err, io.ErrUnexpectedEOF): // a tiny file: sniff what there is
	case err != nil:
		return nil, "", fmt.Errorf("read upload: %w", err)
	}
	format := sniffImage(head[:n])
	if format == "" {
		return nil, "", model.Errorf(model.ErrMediaType, "only PNG, JPEG, GIF and WebP images are accepted")
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	buf.Write(head[:n])
	if _, err := io.Copy(&buf, io.LimitReader(r, s.cfg.MaxBytes+1-int64(n))); err != nil {
		return nil, "", fmt.Errorf("read upload: %w", err)
	}
	if int64(buf.Len()) > s.cfg.MaxBytes {
		return nil, "", s.TooLargeError()
	}
	return buf.Bytes(), format, nil
}

// TooLargeError is the ErrTooLarge of a file over MaxBytes, for callers that
// find out first (from a Content-Length).
func (s *Uploads) TooLargeError() error {
	return model.Errorf(model.ErrTooLarge, "the file is larger than %s", sizeText(s.cfg.MaxBytes))
}

// sizeText writes a byte count for people: "10 MiB", "512 KiB", "1500 bytes".
func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// contentName is the storage name of data: its SHA-256 in hex, in the folder of
// the hash's first two digits, with ext.
func contentName(data []byte, ext string) string {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	return h[:2] + "/" + h + "." + ext
}

// Known checks that img shows an image uploaded to this server: url and
// thumb_url are the pair of one upload, with its width and height. Returns
// ErrInvalid otherwise, so that a message cannot point its receivers' apps at an
// address outside this server.
func (s *Uploads) Known(ctx context.Context, img model.ImageContent) error {
	notOurs := model.FieldErrorf(model.ErrInvalid, "content", "the image must be uploaded to this server first")
	name, ok1 := strings.CutPrefix(img.URL, model.UploadURLPrefix)
	thumb, ok2 := strings.CutPrefix(img.ThumbURL, model.UploadURLPrefix)
	if !ok1 || !ok2 || !ValidStorageName(name) || !ValidStorageName(thumb) {
		return notOurs
	}
	var up model.Upload
	err := s.db.WithContext(ctx).Select("width", "height").
		Where("name = ? AND thumb_name = ?", name, thumb).Take(&up).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notOurs
	} else if err != nil {
		return unavailableIfDown(fmt.Errorf("find upload: %w", err))
	}
	if up.Width != img.Width || up.Height != img.Height {
		return model.FieldErrorf(model.ErrInvalid, "content", "the image is %d×%d pixels, not %d×%d",
			up.Width, up.Height, img.Width, img.Height)
	}
	return nil
}

// KnownURL checks that url is the image or the thumbnail of an upload to this
// server, for fields that hold one URL (avatars). Returns ErrInvalid on field
// otherwise.
func (s *Uploads) KnownURL(ctx context.Context, field, url string) error {
	notOurs := model.FieldErrorf(model.ErrInvalid, field, "%s must be an image uploaded to this server", field)
	name, ok := strings.CutPrefix(url, model.UploadURLPrefix)
	if !ok || !ValidStorageName(name) {
		return notOurs
	}
	var up model.Upload
	err := s.db.WithContext(ctx).Select("id").Where("name = ? OR thumb_name = ?", name, name).Take(&up).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return notOurs
	} else if err != nil {
		return unavailableIfDown(fmt.Errorf("find upload: %w", err))
	}
	return nil
}

// UploadFile is a stored file opened for serving.
type UploadFile struct {
	io.ReadSeekCloser
	Size        int64
	ContentType string // from the name's extension
	Hash        string // the content address: the SHA-256 of the bytes, in hex
}

// Open opens the stored file name ("ab/ab12….png", as in an upload's URL after
// /uploads/). Returns ErrNotFound, also for a name no stored file can have.
func (s *Uploads) Open(ctx context.Context, name string) (*UploadFile, error) {
	if !ValidStorageName(name) {
		return nil, model.Errorf(model.ErrNotFound, "no such image")
	}
	f, size, err := s.store.Open(ctx, name)
	if errors.Is(err, model.ErrNotFound) {
		return nil, model.Errorf(model.ErrNotFound, "no such image")
	} else if err != nil {
		return nil, err
	}
	base := path.Base(name)
	ext := path.Ext(base)
	return &UploadFile{ReadSeekCloser: f, Size: size, ContentType: contentTypeOfExt(ext[1:]),
		Hash: strings.TrimSuffix(base, ext)}, nil
}
