package model_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"lechat/model"
)

// Real emoji sequences of every kind: they must pass as emoji messages and
// round-trip everywhere text is stored.
var emojiSequences = []string{
	"😀", "👍", "👍🏽", "👍🏿", // modifiers
	"👨‍👩‍👧‍👦", "🧑‍💻", "🏳️‍🌈", "🐦‍🔥", "❤️‍🔥", // ZWJ sequences
	"🇨🇳", "🇺🇸", "🇯🇵", // flags
	"🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁷󠁬󠁳󠁿", // subdivision flags (tag sequences)
	"1️⃣", "#️⃣", "*️⃣", // keycaps
	"❤️", "☀️", "⭐", "©️", "↔️", "🫨", "🫶🏻", // text-style with VS16, newer emoji
}

func TestValidateEmoji(t *testing.T) {
	for _, e := range emojiSequences {
		if err := model.ValidateEmoji(e); err != nil {
			t.Errorf("ValidateEmoji(%q) = %v", e, err)
		}
	}
	for _, name := range model.Stickers {
		if err := model.ValidateEmoji("sticker:" + name); err != nil {
			t.Errorf("sticker %s: %v", name, err)
		}
	}
	for _, bad := range []string{"", "hello", "😀 hi", "a😀", "sticker:", "sticker:nope", "sticker:WAVE",
		"sticker:../x", strings.Repeat("😀", 11), "\u200d", "\ufe0f", "<script>", "😀\n", "1", "12"} {
		if err := model.ValidateEmoji(bad); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("ValidateEmoji(%q) = %v, want invalid", bad, err)
		}
	}
}

func raw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func TestNewMessageNormalize(t *testing.T) {
	img := map[string]any{"url": "/uploads/ab/abcd.png", "thumb_url": "/uploads/ab/abcd_t.jpg", "width": 640, "height": 480}
	tests := []struct {
		name  string
		in    model.NewMessage
		want  string
		field string // "" means valid
	}{
		{"text", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "text", Content: raw("你好\n👋")}, "你好\n👋", ""},
		{"script is text", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "text", Content: raw("<script>alert(1)</script>")}, "<script>alert(1)</script>", ""},
		{"emoji", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "emoji", Content: raw("👨‍👩‍👧‍👦")}, "👨‍👩‍👧‍👦", ""},
		{"sticker", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "emoji", Content: raw("sticker:wave")}, "sticker:wave", ""},
		{"image", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "image", Content: raw(img)},
			`{"url":"/uploads/ab/abcd.png","thumb_url":"/uploads/ab/abcd_t.jpg","width":640,"height":480}`, ""},
		{"no conversation", model.NewMessage{ClientMsgID: "c1", Kind: "text", Content: raw("x")}, "", "conversation_id"},
		{"no client id", model.NewMessage{ConversationID: 1, Kind: "text", Content: raw("x")}, "", "client_msg_id"},
		{"client id too long", model.NewMessage{ConversationID: 1, ClientMsgID: strings.Repeat("a", 65), Kind: "text", Content: raw("x")}, "", "client_msg_id"},
		{"client id with space", model.NewMessage{ConversationID: 1, ClientMsgID: "a b", Kind: "text", Content: raw("x")}, "", "client_msg_id"},
		{"no kind", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Content: raw("x")}, "", "kind"},
		{"unknown kind", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "video", Content: raw("x")}, "", "kind"},
		{"no content", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "text"}, "", "content"},
		{"null content", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "text", Content: raw(nil)}, "", "content"},
		{"text as number", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "text", Content: raw(5)}, "", "content"},
		{"blank text", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "text", Content: raw(" \n\t ")}, "", "content"},
		{"text too long", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "text", Content: raw(strings.Repeat("字", 4001))}, "", "content"},
		{"text with NUL", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "text", Content: raw("a\x00b")}, "", "content"},
		{"emoji that is text", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "emoji", Content: raw("hello")}, "", "content"},
		{"image from outside", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "image",
			Content: raw(map[string]any{"url": "https://evil.example/x.png", "thumb_url": "/uploads/t.jpg", "width": 1, "height": 1})}, "", "content"},
		{"image protocol-relative", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "image",
			Content: raw(map[string]any{"url": "//evil.example/x.png", "thumb_url": "/uploads/t.jpg", "width": 1, "height": 1})}, "", "content"},
		{"image with extra field", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "image",
			Content: raw(map[string]any{"url": "/uploads/a.png", "thumb_url": "/uploads/t.jpg", "width": 1, "height": 1, "onload": "x"})}, "", "content"},
		{"image zero size", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "image",
			Content: raw(map[string]any{"url": "/uploads/a.png", "thumb_url": "/uploads/t.jpg", "width": 0, "height": 1})}, "", "content"},
		{"image as string", model.NewMessage{ConversationID: 1, ClientMsgID: "c1", Kind: "image", Content: raw("/uploads/a.png")}, "", "content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.Normalize()
			if tt.field == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Normalize = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, model.ErrInvalid) || model.Field(err) != tt.field {
				t.Errorf("Normalize = %v (field %q), want invalid_request on %s", err, model.Field(err), tt.field)
			}
		})
	}
}

func TestMessageJSON(t *testing.T) {
	m := model.Message{ID: 1, ConversationID: 2, Seq: 3, SenderID: 4, Kind: model.KindImage, ClientMsgID: "c",
		Content: `{"url":"/uploads/a.png","thumb_url":"/uploads/t.jpg","width":2,"height":3}`}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"content":{"url":"/uploads/a.png"`) {
		t.Errorf("image content is not an object: %s", b)
	}
	var back model.Message
	if err := json.Unmarshal(b, &back); err != nil || back.Content != m.Content {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	m.Kind, m.Content = model.KindText, `{"looks":"like json"}`
	b, _ = json.Marshal(m)
	if !strings.Contains(string(b), `"content":"{\"looks\":\"like json\"}"`) {
		t.Errorf("text content must stay a string: %s", b)
	}
}

func TestTruncateText(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"abcdef", 3, "abc…"},
		{"乐聊乐聊", 4, "乐…"}, // 3 bytes each: never half a character
		{"😀😀", 5, "😀…"},
	} {
		if got := model.TruncateText(tt.in, tt.n); got != tt.want {
			t.Errorf("TruncateText(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}
