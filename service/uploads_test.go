package service_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/webp"
	"gorm.io/gorm"

	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

// The WebP fixtures in testdata/ were made with cwebp 1.2.4 (Debian's webp
// package) from 48×32 PNGs drawn by Go: the left half red, the right half blue,
// and in the lossless one the bottom 8 rows fully transparent:
//
//	cwebp -lossless -exact -metadata none src.png -o lossless-alpha-48x32.webp
//	cwebp -q 80 -metadata none opaque.png -o lossy-48x32.webp
//
// Go has no WebP encoder, so these few bytes are committed.
const (
	webpLossless = "testdata/lossless-alpha-48x32.webp"
	webpLossy    = "testdata/lossy-48x32.webp"
)

// uploader is an uploads service on its own folder, and a signed-in user's ctx.
type uploader struct {
	up  *service.Uploads
	dir string
	ctx context.Context
	uid uint64
	db  *gorm.DB
}

func newUploader(t *testing.T, db *gorm.DB, cfg service.UploadsConfig) *uploader {
	t.Helper()
	dir := t.TempDir()
	acc, box := servicetest.Accounts(t, db)
	u, res := servicetest.ActiveUser(t, acc, box)
	return &uploader{up: service.NewUploads(db, service.LocalStorage{Dir: dir}, cfg, servicetest.Logger()),
		dir: dir, ctx: servicetest.As(context.Background(), t, acc, res.Token), uid: u.ID, db: db}
}

// another returns a ctx signed in as a second user of the same database.
func (u *uploader) another(t *testing.T) (context.Context, uint64) {
	t.Helper()
	acc, box := servicetest.Accounts(t, u.db)
	usr, res := servicetest.ActiveUser(t, acc, box)
	return servicetest.As(context.Background(), t, acc, res.Token), usr.ID
}

// read returns the bytes served for url.
func (u *uploader) read(t *testing.T, url string) (*service.UploadFile, []byte) {
	t.Helper()
	name, ok := strings.CutPrefix(url, "/uploads/")
	if !ok {
		t.Fatalf("url %q is not under /uploads/", url)
	}
	f, err := u.up.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(b)) != f.Size {
		t.Errorf("%s: size %d, read %d bytes", name, f.Size, len(b))
	}
	return f, b
}

// files lists the regular files under the storage folder.
func (u *uploader) files(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(u.dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// twoTone draws w×h pixels: red in the top-left quadrant, blue elsewhere; alpha
// 0 in the bottom rows when transparent.
func twoTone(w, h int, transparent bool) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{R: 30, G: 40, B: 220, A: 255}
			if x < w/2 && y < h/2 {
				c = color.NRGBA{R: 220, G: 30, B: 40, A: 255}
			}
			if transparent && y >= h*3/4 {
				c.A = 0
			}
			m.SetNRGBA(x, y, c)
		}
	}
	return m
}

func encodePNG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// animatedGIF has three w×h frames of different colours.
func animatedGIF(t *testing.T, w, h int) []byte {
	t.Helper()
	g := &gif.GIF{LoopCount: 0}
	for i, c := range []uint8{10, 100, 200} {
		fr := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		for p := range fr.Pix {
			fr.Pix[p] = c + uint8(p%7)
		}
		g.Image = append(g.Image, fr)
		g.Delay = append(g.Delay, 10*(i+1))
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeAs decodes b as format, failing the test when it is not.
func decodeAs(t *testing.T, format string, b []byte) image.Image {
	t.Helper()
	var (
		m   image.Image
		err error
	)
	switch format {
	case "png":
		m, err = png.Decode(bytes.NewReader(b))
	case "jpg":
		m, err = jpeg.Decode(bytes.NewReader(b))
	case "gif":
		m, err = gif.Decode(bytes.NewReader(b))
	case "webp":
		m, err = webp.Decode(bytes.NewReader(b))
	default:
		t.Fatalf("unknown format %q", format)
	}
	if err != nil {
		t.Fatalf("decode %s: %v", format, err)
	}
	return m
}

func TestSaveImageFormats(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{})
		gifBytes := animatedGIF(t, 400, 200)
		tests := []struct {
			name           string
			file           []byte
			ext, thumbExt  string // a transparent thumbnail is a PNG, else a JPEG
			width, height  int
			thumbW, thumbH int
			keepsOriginal  bool
			contentType    string
		}{
			{"png", encodePNG(t, twoTone(800, 600, false)), "png", "jpg", 800, 600, 320, 240, false, "image/png"},
			{"png with alpha", encodePNG(t, twoTone(100, 50, true)), "png", "png", 100, 50, 100, 50, false, "image/png"},
			{"jpeg", encodeJPEG(t, twoTone(640, 1280, false)), "jpg", "jpg", 640, 1280, 160, 320, false, "image/jpeg"},
			{"animated gif", gifBytes, "gif", "jpg", 400, 200, 320, 160, true, "image/gif"},
			{"webp lossless with alpha", readFile(t, webpLossless), "webp", "png", 48, 32, 48, 32, true, "image/webp"},
			{"webp lossy", readFile(t, webpLossy), "webp", "jpg", 48, 32, 48, 32, true, "image/webp"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				img, err := u.up.SaveImage(u.ctx, bytes.NewReader(tt.file))
				if err != nil {
					t.Fatalf("SaveImage: %v", err)
				}
				if img.Width != tt.width || img.Height != tt.height {
					t.Errorf("size %d×%d, want %d×%d", img.Width, img.Height, tt.width, tt.height)
				}
				if !strings.HasSuffix(img.URL, "."+tt.ext) || !strings.HasSuffix(img.ThumbURL, "."+tt.thumbExt) {
					t.Errorf("url %s, thumb_url %s: want .%s and .%s", img.URL, img.ThumbURL, tt.ext, tt.thumbExt)
				}
				if err := img.Validate(); err != nil {
					t.Errorf("the answer does not pass ImageContent.Validate: %v", err)
				}
				f, stored := u.read(t, img.URL)
				if f.ContentType != tt.contentType {
					t.Errorf("content type %q, want %q", f.ContentType, tt.contentType)
				}
				if tt.keepsOriginal && !bytes.Equal(stored, tt.file) {
					t.Errorf("the stored file is not the one uploaded")
				}
				m := decodeAs(t, tt.ext, stored)
				if b := m.Bounds(); b.Dx() != tt.width || b.Dy() != tt.height {
					t.Errorf("stored image is %v, want %d×%d", b, tt.width, tt.height)
				}
				_, thumbBytes := u.read(t, img.ThumbURL)
				th := decodeAs(t, tt.thumbExt, thumbBytes)
				if b := th.Bounds(); b.Dx() != tt.thumbW || b.Dy() != tt.thumbH || max(b.Dx(), b.Dy()) > model.MaxThumbSide {
					t.Errorf("thumbnail is %v, want %d×%d", b, tt.thumbW, tt.thumbH)
				}
				if tt.ext == "gif" {
					all, err := gif.DecodeAll(bytes.NewReader(stored))
					if err != nil || len(all.Image) != 3 {
						t.Errorf("stored gif: %v, %d frames, want 3", err, len(all.Image))
					}
				}
				if n := count(t, db, "uploads", "user_id = ? AND name = ? AND thumb_name = ?", u.uid,
					strings.TrimPrefix(img.URL, "/uploads/"), strings.TrimPrefix(img.ThumbURL, "/uploads/")); n != 1 {
					t.Errorf("%d upload rows for the user, want 1", n)
				}
			})
		}
	})
}

func TestSaveImageRefusals(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{MaxBytes: 64 << 10})
		noise := make([]byte, 2048)
		rand.Read(noise)
		big := image.NewNRGBA(image.Rect(0, 0, 256, 256))
		rand.Read(big.Pix) // noise does not compress: the PNG is over 64 KiB
		bigPNG := encodePNG(t, big)
		if len(bigPNG) <= 64<<10 {
			t.Fatalf("the big PNG is only %d bytes", len(bigPNG))
		}
		pngSig := encodePNG(t, twoTone(8, 8, false))[:33] // signature and IHDR: no data
		tests := []struct {
			name string
			file []byte
			kind error
		}{
			{"text", []byte("this is not an image, whatever its name says\n"), model.ErrMediaType},
			{"html", []byte("<html><script>alert(1)</script></html>"), model.ErrMediaType},
			{"random bytes", noise, model.ErrMediaType},
			{"tiny", []byte("GIF"), model.ErrMediaType},
			{"empty", nil, model.ErrInvalid},
			{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), model.ErrMediaType},
			{"png without pixels", pngSig, model.ErrMediaType},
			{"png magic then junk", append([]byte("\x89PNG\r\n\x1a\n"), noise...), model.ErrMediaType},
			{"over the limit", bigPNG, model.ErrTooLarge},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				img, err := u.up.SaveImage(u.ctx, bytes.NewReader(tt.file))
				if !errors.Is(err, tt.kind) {
					t.Fatalf("SaveImage = %v, %v; want kind %v", img, err, tt.kind)
				}
				if model.ErrorMessage(err) == "internal error" {
					t.Errorf("no message for the user: %v", err)
				}
			})
		}
		if files := u.files(t); len(files) != 0 {
			t.Errorf("refused uploads left files: %v", files)
		}
		if n := count(t, db, "uploads", "user_id = ?", u.uid); n != 0 {
			t.Errorf("refused uploads left %d rows", n)
		}
	})
}

func TestSaveImageNeedsASignedInUser(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{})
		_, err := u.up.SaveImage(context.Background(), bytes.NewReader(encodePNG(t, twoTone(4, 4, false))))
		if !errors.Is(err, model.ErrUnauthorized) {
			t.Fatalf("SaveImage without a user = %v, want ErrUnauthorized", err)
		}
	})
}

// chunk is a PNG chunk with its CRC.
func chunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngBomb is a well-formed PNG header declaring w×h RGB pixels, with a few bytes
// of image data.
func pngBomb(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8 bits, RGB, deflate, no filter, no interlace
	b := []byte("\x89PNG\r\n\x1a\n")
	b = append(b, chunk("IHDR", ihdr)...)
	b = append(b, chunk("IDAT", []byte{0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01})...)
	return append(b, chunk("IEND", nil)...)
}

// TestSaveImageRefusesBombs sends small files whose headers declare huge images.
// Each must be refused from its header: quickly, and without allocating what
// decoding would (gigabytes). It does not run in parallel, so that the memory
// statistics are its own.
func TestSaveImageRefusesBombs(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		u := newUploader(t, db, service.UploadsConfig{})

		gifBomb := []byte("GIF89a")
		gifBomb = binary.LittleEndian.AppendUint16(gifBomb, 20000) // each side allowed,
		gifBomb = binary.LittleEndian.AppendUint16(gifBomb, 20000) // 400 million pixels not
		gifBomb = append(gifBomb, 0, 0, 0, ';')

		jpegBomb := encodeJPEG(t, twoTone(16, 16, false))
		sof := bytes.Index(jpegBomb, []byte{0xFF, 0xC0})
		if sof < 0 {
			t.Fatal("no SOF0 in the JPEG")
		}
		binary.BigEndian.PutUint16(jpegBomb[sof+5:], 8000) // height
		binary.BigEndian.PutUint16(jpegBomb[sof+7:], 8000) // width: 64 million pixels

		webpBomb := readFile(t, webpLossless)
		if string(webpBomb[12:16]) != "VP8L" || webpBomb[20] != 0x2f {
			t.Fatalf("the lossless fixture is not a plain VP8L file")
		}
		bits := binary.LittleEndian.Uint32(webpBomb[21:])
		binary.LittleEndian.PutUint32(webpBomb[21:], bits|(1<<28-1)) // 16384×16384

		tests := []struct {
			name string
			file []byte
		}{
			{"png 50000×50000", pngBomb(50000, 50000)},
			{"png 20000×20000", pngBomb(20000, 20000)},
			{"gif 20000×20000", gifBomb},
			{"jpeg 8000×8000", jpegBomb},
			{"webp 16384×16384", webpBomb},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				_, err := u.up.SaveImage(u.ctx, bytes.NewReader(tt.file))
				took := time.Since(start)
				runtime.ReadMemStats(&after)
				if !errors.Is(err, model.ErrTooLarge) {
					t.Fatalf("SaveImage(%d bytes) = %v, want ErrTooLarge", len(tt.file), err)
				}
				if !strings.Contains(model.ErrorMessage(err), "pixels") {
					t.Errorf("the message does not say why: %q", model.ErrorMessage(err))
				}
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
					t.Errorf("refusing took %d MiB of allocations: it decoded", alloc>>20)
				}
				if took > 2*time.Second {
					t.Errorf("refusing took %v", took)
				}
			})
		}
		if files := u.files(t); len(files) != 0 {
			t.Errorf("bombs left files: %v", files)
		}
	})
}

// exifJPEG inserts after the SOI of jpg an Exif APP1 segment, written by hand: a
// big-endian TIFF structure whose IFD0 holds the orientation and a pointer to a
// GPS IFD with a latitude of 31° 14' and gpsSeconds/1000".
func exifJPEG(jpg []byte, orientation uint16, gpsSeconds uint32) []byte {
	be := binary.BigEndian
	t := []byte("MM\x00\x2a")
	t = be.AppendUint32(t, 8) // IFD0 at 8
	// IFD0: 2 entries, 30 bytes; the GPS IFD follows at 38.
	t = be.AppendUint16(t, 2)
	t = be.AppendUint16(t, 0x0112) // Orientation
	t = be.AppendUint16(t, 3)      // SHORT
	t = be.AppendUint32(t, 1)
	t = be.AppendUint16(t, orientation)
	t = be.AppendUint16(t, 0)
	t = be.AppendUint16(t, 0x8825) // GPSInfo IFD pointer
	t = be.AppendUint16(t, 4)      // LONG
	t = be.AppendUint32(t, 1)
	t = be.AppendUint32(t, 38)
	t = be.AppendUint32(t, 0) // no next IFD
	// GPS IFD: 2 entries, 30 bytes; the rationals follow at 68.
	t = be.AppendUint16(t, 2)
	t = be.AppendUint16(t, 0x0001) // GPSLatitudeRef
	t = be.AppendUint16(t, 2)      // ASCII
	t = be.AppendUint32(t, 2)
	t = append(t, 'N', 0, 0, 0)
	t = be.AppendUint16(t, 0x0002) // GPSLatitude
	t = be.AppendUint16(t, 5)      // RATIONAL
	t = be.AppendUint32(t, 3)
	t = be.AppendUint32(t, 68)
	t = be.AppendUint32(t, 0)
	for _, r := range [][2]uint32{{31, 1}, {14, 1}, {gpsSeconds, 1000}} {
		t = be.AppendUint32(t, r[0])
		t = be.AppendUint32(t, r[1])
	}
	payload := append([]byte("Exif\x00\x00"), t...)
	seg := []byte{0xFF, 0xE1}
	seg = be.AppendUint16(seg, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// jpegMarkers lists the markers of the segments before the image data.
func jpegMarkers(t *testing.T, b []byte) []byte {
	t.Helper()
	var out []byte
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xFF {
			t.Fatalf("no marker at %d", i)
		}
		m := b[i+1]
		out = append(out, m)
		if m == 0xDA {
			return out
		}
		i += 2 + int(binary.BigEndian.Uint16(b[i+2:]))
	}
	return out
}

func isRed(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r>>8 > 160 && g>>8 < 100 && b>>8 < 100
}

func TestSaveImageStripsEXIFAndAppliesOrientation(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{})
		// 64×32, red in the top-left quadrant; orientation 6 says: turn it 90°
		// clockwise to show it, so it shows 32×64 with red in the top-right quadrant.
		const gpsSeconds = 0x1C0FFEE
		file := exifJPEG(encodeJPEG(t, twoTone(64, 32, false)), 6, gpsSeconds)
		gps := binary.BigEndian.AppendUint32(nil, gpsSeconds)
		if !bytes.Contains(file, []byte("Exif\x00\x00MM")) || !bytes.Contains(file, gps) {
			t.Fatal("the test file has no EXIF")
		}
		if _, err := jpeg.Decode(bytes.NewReader(file)); err != nil {
			t.Fatalf("the test file is not a JPEG: %v", err)
		}

		img, err := u.up.SaveImage(u.ctx, bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if img.Width != 32 || img.Height != 64 {
			t.Errorf("size %d×%d, want 32×64 (orientation applied)", img.Width, img.Height)
		}
		for _, url := range []string{img.URL, img.ThumbURL} {
			_, stored := u.read(t, url)
			if bytes.Contains(stored, []byte("Exif")) || bytes.Contains(stored, gps) {
				t.Errorf("%s still holds the EXIF or its GPS latitude", url)
			}
			if markers := jpegMarkers(t, stored); bytes.IndexByte(markers, 0xE1) >= 0 {
				t.Errorf("%s has an APP1 segment: markers % x", url, markers)
			}
			m := decodeAs(t, "jpg", stored)
			b := m.Bounds()
			if b.Dx() != 32 || b.Dy() != 64 {
				t.Fatalf("%s is %v, want 32×64", url, b)
			}
			if !isRed(m.At(24, 16)) || isRed(m.At(8, 16)) || isRed(m.At(8, 48)) || isRed(m.At(24, 48)) {
				t.Errorf("%s is not turned clockwise: top-right %v, top-left %v, bottom-left %v, bottom-right %v",
					url, m.At(24, 16), m.At(8, 16), m.At(8, 48), m.At(24, 48))
			}
		}
	})
}

// TestSaveImageSurvivesBadEXIF: an Exif segment whose IFD claims more entries than
// there are bytes is ignored; the image is kept as it is.
func TestSaveImageSurvivesBadEXIF(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{})
		jpg := encodeJPEG(t, twoTone(64, 32, false))
		bad := map[string][]byte{}
		whole := exifJPEG(jpg, 6, 1)
		// The IFD0 count of the TIFF structure, after FFD8 FFE1 len "Exif\0\0" and 8 bytes.
		const countAt = 2 + 4 + 6 + 8
		huge := bytes.Clone(whole)
		binary.BigEndian.PutUint16(huge[countAt:], 0xFFFF)
		binary.BigEndian.PutUint16(huge[countAt+2:], 0x0100) // the orientation entry becomes ImageWidth
		bad["entry count past the end"] = huge
		offset := bytes.Clone(whole)
		binary.BigEndian.PutUint32(offset[2+4+6+4:], 0xFFFFFFF0)
		bad["IFD offset past the end"] = offset
		bad["orientation 9"] = exifJPEG(jpg, 9, 1)
		for name, file := range bad {
			t.Run(name, func(t *testing.T) {
				img, err := u.up.SaveImage(u.ctx, bytes.NewReader(file))
				if err != nil {
					t.Fatal(err)
				}
				if img.Width != 64 || img.Height != 32 {
					t.Errorf("size %d×%d, want 64×32 (no orientation)", img.Width, img.Height)
				}
			})
		}
	})
}

func TestSaveImageStripsPNGMetadata(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{})
		const secret = "GPS 31.2304N 121.4737E"
		plain := encodePNG(t, twoTone(40, 20, false))
		const afterIHDR = 8 + 25
		var file []byte
		file = append(file, plain[:afterIHDR]...)
		file = append(file, chunk("tEXt", []byte("Comment\x00"+secret))...)
		file = append(file, chunk("eXIf", []byte("MM\x00\x2a"+secret))...)
		file = append(file, plain[afterIHDR:]...)
		if _, err := png.Decode(bytes.NewReader(file)); err != nil {
			t.Fatalf("the test file is not a PNG: %v", err)
		}
		img, err := u.up.SaveImage(u.ctx, bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		_, stored := u.read(t, img.URL)
		for _, s := range []string{secret, "tEXt", "eXIf"} {
			if bytes.Contains(stored, []byte(s)) {
				t.Errorf("the stored PNG holds %q", s)
			}
		}
		decodeAs(t, "png", stored)
	})
}

// withWebPMetadata wraps the VP8L chunk of a plain lossless WebP in the extended
// format with EXIF and XMP chunks, as cameras and editors write it.
func withWebPMetadata(t *testing.T, plain []byte, w, h int, secret string) []byte {
	t.Helper()
	le := binary.LittleEndian
	if string(plain[12:16]) != "VP8L" {
		t.Fatal("not a plain VP8L file")
	}
	riffChunk := func(id string, data []byte) []byte {
		b := append([]byte(id), le.AppendUint32(nil, uint32(len(data)))...)
		b = append(b, data...)
		if len(data)%2 == 1 {
			b = append(b, 0)
		}
		return b
	}
	vp8x := []byte{1<<4 | 1<<3 | 1<<2, 0, 0, 0} // alpha, EXIF, XMP
	vp8x = append(vp8x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	body := []byte("WEBP")
	body = append(body, riffChunk("VP8X", vp8x)...)
	body = append(body, plain[12:]...) // the VP8L chunk as it was
	body = append(body, riffChunk("EXIF", []byte("MM\x00\x2a"+secret))...)
	body = append(body, riffChunk("XMP ", []byte("<x:xmpmeta>"+secret+"</x:xmpmeta>"))...)
	return append(append([]byte("RIFF"), le.AppendUint32(nil, uint32(len(body)))...), body...)
}

func TestSaveImageStripsWebPMetadata(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{})
		const secret = "GPS 31.2304N 121.4737E"
		file := withWebPMetadata(t, readFile(t, webpLossless), 48, 32, secret)
		if _, err := webp.Decode(bytes.NewReader(file)); err != nil {
			t.Fatalf("the test file is not a WebP: %v", err)
		}
		img, err := u.up.SaveImage(u.ctx, bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		_, stored := u.read(t, img.URL)
		if bytes.Contains(stored, []byte(secret)) || bytes.Contains(stored, []byte("EXIF")) || bytes.Contains(stored, []byte("XMP ")) {
			t.Errorf("the stored WebP keeps its metadata: %q", stored)
		}
		if flags := stored[20]; string(stored[12:16]) != "VP8X" || flags&(1<<3|1<<2) != 0 || flags&(1<<4) == 0 {
			t.Errorf("VP8X flags %08b: want alpha kept, EXIF and XMP cleared", flags)
		}
		if size := binary.LittleEndian.Uint32(stored[4:]); int(size) != len(stored)-8 {
			t.Errorf("RIFF size %d for %d bytes", size, len(stored))
		}
		m := decodeAs(t, "webp", stored)
		if b := m.Bounds(); b.Dx() != 48 || b.Dy() != 32 {
			t.Errorf("stored WebP is %v", b)
		}
	})
}

func TestSaveImageStoresOnce(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{})
		otherCtx, otherID := u.another(t)
		file := encodeJPEG(t, twoTone(500, 300, false))
		first, err := u.up.SaveImage(u.ctx, bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		second, err := u.up.SaveImage(otherCtx, bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if *first != *second {
			t.Errorf("the same image got %+v and %+v", first, second)
		}
		if files := u.files(t); len(files) != 2 {
			t.Errorf("files %v, want the image and its thumbnail once", files)
		}
		for _, id := range []uint64{u.uid, otherID} {
			if n := count(t, db, "uploads", "user_id = ?", id); n != 1 {
				t.Errorf("user %d has %d upload rows, want 1", id, n)
			}
		}
		// The name is the SHA-256 of the stored bytes.
		f, stored := u.read(t, first.URL)
		if !strings.Contains(first.URL, "/"+f.Hash+".") || len(f.Hash) != 64 {
			t.Errorf("hash %q does not name %s", f.Hash, first.URL)
		}
		if sum := sha256Hex(stored); sum != f.Hash {
			t.Errorf("stored bytes hash to %s, named %s", sum, f.Hash)
		}
	})
}

func TestKnown(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{})
		a, err := u.up.SaveImage(u.ctx, bytes.NewReader(encodePNG(t, twoTone(400, 100, false))))
		if err != nil {
			t.Fatal(err)
		}
		b, err := u.up.SaveImage(u.ctx, bytes.NewReader(encodePNG(t, twoTone(100, 400, true))))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := u.up.Known(ctx, *a); err != nil {
			t.Errorf("Known(an upload) = %v", err)
		}
		if err := u.up.Known(ctx, *b); err != nil {
			t.Errorf("Known(an upload) = %v", err)
		}
		tests := map[string]model.ImageContent{
			"outside url":    {URL: "https://evil.example/x.png", ThumbURL: a.ThumbURL, Width: a.Width, Height: a.Height},
			"outside thumb":  {URL: a.URL, ThumbURL: "https://evil.example/x.png", Width: a.Width, Height: a.Height},
			"protocol-less":  {URL: "//evil.example/x.png", ThumbURL: "//evil.example/t.png", Width: 1, Height: 1},
			"no such upload": {URL: "/uploads/none.png", ThumbURL: "/uploads/none.png", Width: 1, Height: 1},
			"unknown hash": {URL: "/uploads/00/" + strings.Repeat("0", 64) + ".png",
				ThumbURL: "/uploads/00/" + strings.Repeat("0", 64) + ".jpg", Width: 1, Height: 1},
			"traversal":   {URL: "/uploads/../lechat.db", ThumbURL: a.ThumbURL, Width: a.Width, Height: a.Height},
			"mixed pair":  {URL: a.URL, ThumbURL: b.ThumbURL, Width: a.Width, Height: a.Height},
			"swapped":     {URL: a.ThumbURL, ThumbURL: a.URL, Width: a.Width, Height: a.Height},
			"wrong size":  {URL: a.URL, ThumbURL: a.ThumbURL, Width: 20000, Height: 20000},
			"query added": {URL: a.URL + "?x=1", ThumbURL: a.ThumbURL, Width: a.Width, Height: a.Height},
		}
		for _, url := range []string{a.URL, a.ThumbURL, b.URL} {
			if err := u.up.KnownURL(ctx, "avatar_url", url); err != nil {
				t.Errorf("KnownURL(%s) = %v", url, err)
			}
		}
		for _, url := range []string{"https://evil.example/x.png", "/uploads/none.png", "", a.URL + "?x",
			"/uploads/00/" + strings.Repeat("0", 64) + ".png", "/uploads/../lechat.db"} {
			if err := u.up.KnownURL(ctx, "avatar_url", url); !errors.Is(err, model.ErrInvalid) || model.Field(err) != "avatar_url" {
				t.Errorf("KnownURL(%q) = %v, want ErrInvalid on avatar_url", url, err)
			}
		}
		for name, img := range tests {
			t.Run(name, func(t *testing.T) {
				err := u.up.Known(ctx, img)
				if !errors.Is(err, model.ErrInvalid) || model.Field(err) != "content" {
					t.Errorf("Known(%+v) = %v, want ErrInvalid on content", img, err)
				}
			})
		}
	})
}

func TestOpenRefusesNamesOutsideTheStore(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		u := newUploader(t, db, service.UploadsConfig{})
		// A file beside the storage folder that a traversal would reach.
		secret := filepath.Join(filepath.Dir(u.dir), "secret.png")
		os.WriteFile(secret, []byte("secret"), 0o600)
		t.Cleanup(func() { os.Remove(secret) })
		h := strings.Repeat("a", 64)
		for _, name := range []string{"", "../secret.png", "aa/../../secret.png", "/etc/passwd", "aa/" + h + ".txt",
			"bb/" + h + ".png", "aa/" + strings.ToUpper(h) + ".png", "aa/" + h + ".png", "aa\\" + h + ".png", "aa/" + h + ".png/"} {
			if f, err := u.up.Open(context.Background(), name); !errors.Is(err, model.ErrNotFound) {
				if f != nil {
					f.Close()
				}
				t.Errorf("Open(%q) = %v, want ErrNotFound", name, err)
			}
		}
		store := service.LocalStorage{Dir: u.dir}
		if err := store.Put(context.Background(), "../secret.png", strings.NewReader("x")); err == nil {
			t.Error("Put(../secret.png) succeeded")
		}
		if got := readFile(t, secret); string(got) != "secret" {
			t.Errorf("the file outside the store changed: %q", got)
		}
	})
}

func TestLocalStoragePutIsAtomicAndIdempotent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store := service.LocalStorage{Dir: dir}
	ctx := context.Background()
	data := []byte("content")
	name := sha256Hex(data)[:2] + "/" + sha256Hex(data) + ".png"
	if !service.ValidStorageName(name) {
		t.Fatalf("%s is not a valid name", name)
	}
	for range 2 {
		if err := store.Put(ctx, name, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	// A reader that fails half way leaves nothing behind.
	other := "ab/ab" + strings.Repeat("0", 62) + ".gif"
	if err := store.Put(ctx, other, io.MultiReader(strings.NewReader("half"), failingReader{})); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if _, _, err := store.Open(ctx, other); !errors.Is(err, model.ErrNotFound) {
		t.Errorf("Open after a failed Put = %v, want ErrNotFound", err)
	}
	f, size, err := store.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(f)
	if size != int64(len(data)) || !bytes.Equal(got, data) {
		t.Errorf("read back %q (size %d)", got, size)
	}
	var names []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, _ error) error {
		if !d.IsDir() {
			names = append(names, d.Name())
		}
		return nil
	})
	if len(names) != 1 {
		t.Errorf("files in the store: %v, want one (no temporary files)", names)
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("connection lost") }
