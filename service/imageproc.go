package service

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"lechat/model"
)

// Image formats accepted for upload; the name is also the stored extension's stem.
const (
	formatPNG  = "png"
	formatJPEG = "jpeg"
	formatGIF  = "gif"
	formatWebP = "webp"
)

// Encoding settings of what is stored.
const (
	jpegQuality      = 85 // re-encoded JPEG originals
	thumbJPEGQuality = 80
)

// sniffHeadLen is how many leading bytes sniffImage needs.
const sniffHeadLen = 12

// sniffImage names the format of a file by its magic number, or returns "" when
// it is none of the accepted ones. The name and the declared type of a file are
// never consulted.
func sniffImage(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return formatJPEG
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return formatGIF
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return formatWebP
	}
	return ""
}

// extension returns the stored file extension of format.
func extension(format string) string {
	if format == formatJPEG {
		return "jpg"
	}
	return format
}

// contentTypeOfExt returns the media type of a stored file's extension, or "".
func contentTypeOfExt(ext string) string {
	switch ext {
	case "png":
		return "image/png"
	case "jpg":
		return "image/jpeg"
	case "gif":
		return "image/gif"
	case "webp":
		return "image/webp"
	}
	return ""
}

// processed is an accepted image, ready to store.
type processed struct {
	format        string
	data          []byte // the stored image
	thumb         []byte
	thumbFormat   string // formatJPEG, or formatPNG when the thumbnail has transparency
	width, height int    // of the stored image, after EXIF orientation
}

// processImage checks and prepares an image whose format sniffImage found:
//   - the declared dimensions are checked before anything is decoded, so a small
//     file that claims 50000×50000 pixels costs nothing (ErrTooLarge);
//   - JPEG and PNG are decoded and re-encoded, which drops every metadata
//     segment and chunk (EXIF with its GPS position, XMP, comments, text); the
//     EXIF orientation of a JPEG is applied to the pixels first;
//   - GIF keeps its bytes (and so its animation);
//   - WebP keeps its bytes but loses its EXIF and XMP chunks (there is no WebP
//     encoder in Go);
//   - every image gets a thumbnail whose longest side is at most MaxThumbSide.
//
// Content that does not decode as its format gets ErrMediaType.
func processImage(format string, data []byte, maxPixels int) (*processed, error) {
	unreadable := model.Errorf(model.ErrMediaType, "the file is not a readable %s image", formatLabel(format))
	cfg, err := decodeConfig(format, data)
	if err != nil || cfg.Width < 1 || cfg.Height < 1 {
		return nil, unreadable
	}
	if err := checkDimensions(cfg.Width, cfg.Height, maxPixels); err != nil {
		return nil, err
	}
	p := &processed{format: format}
	var img image.Image
	canvas := image.Rect(0, 0, cfg.Width, cfg.Height)
	switch format {
	case formatPNG:
		if img, err = png.Decode(bytes.NewReader(data)); err != nil {
			return nil, unreadable
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			return nil, fmt.Errorf("encode png: %w", err)
		}
		p.data = buf.Bytes()
	case formatJPEG:
		if img, err = jpeg.Decode(bytes.NewReader(data)); err != nil {
			return nil, unreadable
		}
		img = orient(img, exifOrientation(data))
		canvas = img.Bounds()
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
			return nil, fmt.Errorf("encode jpeg: %w", err)
		}
		p.data = buf.Bytes()
	case formatGIF:
		// Only the first frame is decoded, for the thumbnail; the stored file is the
		// one sent, frames and timing included.
		if img, err = gif.Decode(bytes.NewReader(data)); err != nil {
			return nil, unreadable
		}
		p.data = data
	case formatWebP:
		// x/image/webp reads still images only: an animated WebP is refused here.
		if img, err = webp.Decode(bytes.NewReader(data)); err != nil {
			return nil, unreadable
		}
		if p.data, err = stripWebPMetadata(data); err != nil {
			return nil, unreadable
		}
	default:
		return nil, fmt.Errorf("process image: unknown format %q", format)
	}
	p.width, p.height = canvas.Dx(), canvas.Dy()
	thumb := thumbnail(img, canvas)
	var buf bytes.Buffer
	if thumb.Opaque() {
		p.thumbFormat = formatJPEG
		err = jpeg.Encode(&buf, thumb, &jpeg.Options{Quality: thumbJPEGQuality})
	} else {
		p.thumbFormat = formatPNG
		err = (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, thumb)
	}
	if err != nil {
		return nil, fmt.Errorf("encode thumbnail: %w", err)
	}
	p.thumb = buf.Bytes()
	return p, nil
}

func formatLabel(format string) string {
	switch format {
	case formatPNG:
		return "PNG"
	case formatJPEG:
		return "JPEG"
	case formatGIF:
		return "GIF"
	case formatWebP:
		return "WebP"
	}
	return format
}

// decodeConfig reads only the header of an image of format.
func decodeConfig(format string, data []byte) (image.Config, error) {
	r := bytes.NewReader(data)
	switch format {
	case formatPNG:
		return png.DecodeConfig(r)
	case formatJPEG:
		return jpeg.DecodeConfig(r)
	case formatGIF:
		return gif.DecodeConfig(r)
	case formatWebP:
		return webp.DecodeConfig(r)
	}
	return image.Config{}, fmt.Errorf("unknown format %q", format)
}

// checkDimensions refuses an image larger than MaxImageSide on a side or than
// maxPixels in all, with ErrTooLarge: what the client must do about it is what it
// does about a file that is too big — send a smaller image.
func checkDimensions(w, h, maxPixels int) error {
	if w > model.MaxImageSide || h > model.MaxImageSide || int64(w)*int64(h) > int64(maxPixels) {
		return model.Errorf(model.ErrTooLarge, "the image is %d×%d pixels: at most %d pixels a side and %d pixels in all are accepted",
			w, h, model.MaxImageSide, maxPixels)
	}
	return nil
}

// thumbnail scales img, drawn at its place on canvas (a GIF's first frame may
// cover part of the screen only), so that the longest side is at most
// MaxThumbSide; a smaller image keeps its size. Uncovered parts stay transparent.
func thumbnail(img image.Image, canvas image.Rectangle) *image.RGBA {
	cw, ch := canvas.Dx(), canvas.Dy()
	tw, th := cw, ch
	if cw >= ch && cw > model.MaxThumbSide {
		tw, th = model.MaxThumbSide, max(1, (ch*model.MaxThumbSide+cw/2)/cw)
	} else if ch > cw && ch > model.MaxThumbSide {
		tw, th = max(1, (cw*model.MaxThumbSide+ch/2)/ch), model.MaxThumbSide
	}
	dst := image.NewRGBA(image.Rect(0, 0, tw, th))
	src := img.Bounds().Intersect(canvas)
	if src.Empty() {
		return dst
	}
	// Where src lands in dst, rounding outward so no seam stays uncovered.
	dr := image.Rect(
		(src.Min.X-canvas.Min.X)*tw/cw, (src.Min.Y-canvas.Min.Y)*th/ch,
		((src.Max.X-canvas.Min.X)*tw+cw-1)/cw, ((src.Max.Y-canvas.Min.Y)*th+ch-1)/ch)
	if tw == cw && th == ch {
		draw.Draw(dst, dr, img, src.Min, draw.Src)
	} else {
		draw.CatmullRom.Scale(dst, dr, img, src, draw.Src, nil)
	}
	return dst
}

// orient returns img turned as EXIF orientation o (1–8) says it is to be shown;
// orientations 5 to 8 swap width and height.
func orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	src := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(src, src.Rect, img, b.Min, draw.Src)
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for dy := 0; dy < dh; dy++ {
		row := dst.Pix[dy*dst.Stride:]
		for dx := 0; dx < dw; dx++ {
			var sx, sy int
			switch o {
			case 2: // mirrored
				sx, sy = w-1-dx, dy
			case 3: // upside down
				sx, sy = w-1-dx, h-1-dy
			case 4: // mirrored upside down
				sx, sy = dx, h-1-dy
			case 5: // mirrored, turned
				sx, sy = dy, dx
			case 6: // to be turned 90° clockwise
				sx, sy = dy, h-1-dx
			case 7: // mirrored, turned the other way
				sx, sy = w-1-dy, h-1-dx
			case 8: // to be turned 90° counter-clockwise
				sx, sy = w-1-dy, dx
			}
			si := sy*src.Stride + sx*4
			copy(row[dx*4:dx*4+4], src.Pix[si:si+4])
		}
	}
	return dst
}

// exifOrientation returns the orientation (1–8) in the Exif APP1 segment of a
// JPEG, or 1 when there is none or it cannot be read. It reads the segments
// before the image data only, checking every length against the bytes there are.
func exifOrientation(jpg []byte) int {
	if len(jpg) < 4 || jpg[0] != 0xFF || jpg[1] != 0xD8 {
		return 1
	}
	for i := 2; i+4 <= len(jpg); {
		if jpg[i] != 0xFF {
			return 1
		}
		marker := jpg[i+1]
		if marker == 0xFF { // fill byte
			i++
			continue
		}
		i += 2
		switch {
		case marker == 0x01 || marker >= 0xD0 && marker <= 0xD8: // no length, no payload
			continue
		case marker == 0xDA || marker == 0xD9: // image data or end: no Exif came before
			return 1
		}
		n := int(binary.BigEndian.Uint16(jpg[i:]))
		if n < 2 || i+n > len(jpg) {
			return 1
		}
		if seg := jpg[i+2 : i+n]; marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return tiffOrientation(seg[6:])
		}
		i += n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 (Orientation) of the first IFD of a TIFF
// structure (the body of an Exif segment), or returns 1.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	if bo.Uint16(t[2:]) != 42 {
		return 1
	}
	off := uint64(bo.Uint32(t[4:]))
	if off < 8 || off+2 > uint64(len(t)) {
		return 1
	}
	count := int(bo.Uint16(t[off:]))
	for k := range count {
		e := int(off) + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		var v uint32
		switch typ, n := bo.Uint16(t[e+2:]), bo.Uint32(t[e+4:]); {
		case typ == 3 && n == 1: // SHORT
			v = uint32(bo.Uint16(t[e+8:]))
		case typ == 4 && n == 1: // LONG, seen in the wild
			v = bo.Uint32(t[e+8:])
		}
		if v >= 1 && v <= 8 {
			return int(v)
		}
		return 1
	}
	return 1
}

// stripWebPMetadata returns a WebP file without its EXIF and XMP chunks, with the
// flags of its VP8X header and the RIFF size made to match. Bytes after the RIFF
// chunk are dropped. Returns an error when the chunk structure is broken.
func stripWebPMetadata(b []byte) ([]byte, error) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return nil, fmt.Errorf("not a RIFF WebP file")
	}
	end := 8 + uint64(binary.LittleEndian.Uint32(b[4:]))
	if end < 12 || end > uint64(len(b)) {
		return nil, fmt.Errorf("RIFF size %d does not fit the file", end-8)
	}
	out := make([]byte, 12, end)
	copy(out, b[:12])
	vp8x := -1
	for p := uint64(12); p < end; {
		if p+8 > end {
			return nil, fmt.Errorf("chunk header cut off")
		}
		id := string(b[p : p+4])
		n := uint64(binary.LittleEndian.Uint32(b[p+4:]))
		if p+8+n > end {
			return nil, fmt.Errorf("chunk %q larger than the file", id)
		}
		padded := p + 8 + n + n&1 // chunks are padded to an even size
		next := min(padded, end)
		switch id {
		case "EXIF", "XMP ":
		default:
			if id == "VP8X" {
				vp8x = len(out)
			}
			out = append(out, b[p:next]...)
			if padded > end { // the last chunk's pad byte is missing
				out = append(out, 0)
			}
		}
		p = next
	}
	const exifBit, xmpBit = 1 << 3, 1 << 2
	if vp8x >= 0 && vp8x+8 < len(out) {
		out[vp8x+8] &^= exifBit | xmpBit
	}
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out, nil
}
