package model

import "time"

// Upload limits. MaxImageSide (chat.go) bounds each side of an uploaded image.
const (
	// MaxUploadBytes is the default size limit of an uploaded file.
	MaxUploadBytes = 10 << 20
	// MaxImagePixels is the default limit of width × height: an image is refused
	// before it is decoded when it declares more (a decompression bomb).
	MaxImagePixels = 40_000_000
	// MaxThumbSide is the longest side of a thumbnail, in pixels.
	MaxThumbSide = 320
	// UploadURLPrefix starts the URL of every stored upload on this server.
	UploadURLPrefix = "/uploads/"
)

// Upload records one accepted image upload: who sent it, and the stored files of
// the image and of its thumbnail. File names are content addresses ("ab/<sha-256
// in hex>.png"), so an image uploaded twice is stored once and has two rows.
type Upload struct {
	ID          uint64
	UserID      uint64
	Name        string // the stored image (for JPEG and PNG a re-encoded copy)
	ThumbName   string // the stored thumbnail
	ContentType string // of the stored image: image/png, image/jpeg, image/gif or image/webp
	Width       int    // of the stored image, after EXIF orientation
	Height      int
	Bytes       int64 // size of the stored image
	CreatedAt   time.Time
}

// URL is where the image is served.
func (u *Upload) URL() string { return UploadURLPrefix + u.Name }

// ThumbURL is where the thumbnail is served.
func (u *Upload) ThumbURL() string { return UploadURLPrefix + u.ThumbName }

// Image is the content of an image message showing u.
func (u *Upload) Image() ImageContent {
	return ImageContent{URL: u.URL(), ThumbURL: u.ThumbURL(), Width: u.Width, Height: u.Height}
}
