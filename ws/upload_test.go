package ws_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"testing"
)

// upload posts a w×h PNG to the upload route as token's user and returns the
// answer ({url, thumb_url, width, height}), ready to be an image message's content.
func (h *harness) upload(t *testing.T, token string, w, hgt int) map[string]any {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, hgt))
	for x := range w {
		img.Set(x, 0, color.NRGBA{R: 200, A: 255})
	}
	var pic, body bytes.Buffer
	if err := png.Encode(&pic, img); err != nil {
		t.Fatal(err)
	}
	mw := multipart.NewWriter(&body)
	part, _ := mw.CreateFormFile("file", "pic.png")
	part.Write(pic.Bytes())
	mw.Close()
	req, _ := http.NewRequest("POST", h.base+"/api/v1/uploads/images", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := h.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	if res.StatusCode != http.StatusCreated || json.NewDecoder(res.Body).Decode(&out) != nil {
		t.Fatalf("upload: status %d", res.StatusCode)
	}
	return out
}
