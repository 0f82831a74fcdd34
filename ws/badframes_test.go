package ws_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"gorm.io/gorm"

	"lechat/service/servicetest"
	"lechat/ws"
)

// Every malformed frame gets an error frame (invalid_request, echoing the id when
// the frame has a readable one), stores and delivers nothing, and leaves the
// socket usable.
func TestBadFramesGetErrors(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		alice, bob, conv := h.pair(t)
		a := h.dial(t, "alice", alice.Token)
		b := h.dial(t, "bob", bob.Token)
		a.sync(t)
		a.drop() // Bob's presence

		// send is a message.send frame: a good one changed by kv (key, value
		// pairs; a nil value removes the key).
		send := func(kv ...any) string {
			data := map[string]any{"conversation_id": conv, "client_msg_id": "ok", "kind": "text", "content": "hi"}
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(data, kv[i].(string))
				} else {
					data[kv[i].(string)] = kv[i+1]
				}
			}
			return string(mustJSON(t, map[string]any{"type": "message.send", "id": "f", "data": data}))
		}
		image := func(url string) map[string]any {
			return map[string]any{"url": url, "thumb_url": "/uploads/t.png", "width": 10, "height": 10}
		}
		longID := strings.Repeat("i", 65)
		tests := []struct {
			name  string
			frame string
			id    string // the id the error must echo
			field string // the field it must name, "" for any
		}{
			{"not JSON", `hello`, "", ""},
			{"truncated JSON", `{"type":"ping","id":"f"`, "", ""},
			{"JSON array", `[{"type":"ping"}]`, "", ""},
			{"JSON string", `"ping"`, "", ""},
			{"JSON number", `42`, "", ""},
			{"JSON null", `null`, "", ""},
			{"empty object", `{}`, "", "type"},
			{"type is a number", `{"type":5,"id":"f"}`, "f", ""},
			{"id is a number", `{"type":"ping","id":7}`, "", ""},
			{"missing type", `{"id":"f","data":{}}`, "f", "type"},
			{"unknown type", `{"type":"message.delete","id":"f","data":{}}`, "f", "type"},
			{"server-only type", `{"type":"message.new","id":"f","data":{}}`, "f", "type"},
			{"send without data", `{"type":"message.send","id":"f"}`, "f", "data"},
			{"send with null data", `{"type":"message.send","id":"f","data":null}`, "f", "data"},
			{"send with array data", `{"type":"message.send","id":"f","data":[1]}`, "f", ""},
			{"conversation_id is a string", send("conversation_id", "x"), "f", "conversation_id"},
			{"conversation_id missing", send("conversation_id", nil), "f", "conversation_id"},
			{"conversation_id negative", send("conversation_id", -1), "f", "conversation_id"},
			{"content is a number", send("content", 5), "f", "content"},
			{"missing client_msg_id", send("client_msg_id", nil), "f", "client_msg_id"},
			{"empty client_msg_id", send("client_msg_id", ""), "f", "client_msg_id"},
			{"client_msg_id of 65 chars", send("client_msg_id", strings.Repeat("c", 65)), "f", "client_msg_id"},
			{"client_msg_id with a space", send("client_msg_id", "a b"), "f", "client_msg_id"},
			{"unknown kind", send("kind", "video"), "f", "kind"},
			{"missing kind", send("kind", nil), "f", "kind"},
			{"missing content", send("content", nil), "f", "content"},
			{"empty text", send("kind", "text", "content", ""), "f", "content"},
			{"whitespace text", send("kind", "text", "content", " \t\n\u3000 "), "f", "content"},
			{"text over 4000 characters", send("kind", "text", "content", strings.Repeat("汉", 4001)), "f", "content"},
			{"text with a NUL", send("kind", "text", "content", "a\x00b"), "f", "content"},
			{"text with an escape", send("kind", "text", "content", "a\x1b[31mb"), "f", "content"},
			{"emoji kind with a word", send("kind", "emoji", "content", "hello"), "f", "content"},
			{"emoji kind with text around", send("kind", "emoji", "content", "ok 👍"), "f", "content"},
			{"image from outside", send("kind", "image", "content", image("https://evil.example/x.png")), "f", "content"},
			{"image protocol-relative", send("kind", "image", "content", image("//evil.example/x.png")), "f", "content"},
			{"image javascript", send("kind", "image", "content", image("javascript:alert(1)")), "f", "content"},
			{"image as a string", send("kind", "image", "content", "/uploads/a.png"), "f", "content"},
			{"image with extra fields", send("kind", "image", "content", map[string]any{"url": "/u/a.png", "thumb_url": "/u/t.png", "width": 1, "height": 1, "onload": "x"}), "f", "content"},
			{"image of size 0", send("kind", "image", "content", map[string]any{"url": "/u/a.png", "thumb_url": "/u/t.png", "width": 0, "height": 1}), "f", "content"},
			{"frame id over 64 chars", `{"type":"ping","id":"` + longID + `","data":{}}`, "", ""},
			{"read beyond last_seq", fmt.Sprintf(`{"type":"read","id":"f","data":{"conversation_id":%d,"seq":99}}`, conv), "f", "seq"},
			{"read without data", `{"type":"read","id":"f"}`, "f", "data"},
			{"read with a negative seq", fmt.Sprintf(`{"type":"read","id":"f","data":{"conversation_id":%d,"seq":-1}}`, conv), "f", "seq"},
			{"typing without data", `{"type":"typing","id":"f"}`, "f", "data"},
			{"typing with a string id", `{"type":"typing","id":"f","data":{"conversation_id":"1"}}`, "f", "conversation_id"},
		}
		for i, tt := range tests {
			// A distinct id per case, so that no answer is taken for another's.
			frame := tt.frame
			want := tt.id
			if want != "" {
				want = fmt.Sprintf("bad-%d", i)
				frame = strings.Replace(frame, `"id":"f"`, `"id":"`+want+`"`, 1)
			}
			a.sendRaw(t, []byte(frame))
			f := a.expect(t, "error", nil, waitFrame)
			e := decode[errorData](t, f)
			if f.ID != want || e.Code != "invalid_request" || e.Message == "" || (tt.field != "" && e.Field != tt.field) {
				t.Errorf("%s: got %v, want invalid_request with id %q and field %q", tt.name, f, want, tt.field)
			}
			a.sync(t) // still usable, and nothing else came back
			a.expectNone(t, "", nil, 0)
		}
		if n := h.storedMessages(t, conv); n != 0 {
			t.Fatalf("%d messages stored, want none", n)
		}
		b.sync(t)
		b.expectNone(t, "", nil, 0)

		// The socket still works for real messages, at the limits.
		if m := a.sendText(t, conv, strings.Repeat("汉", 4000)); m.Seq != 1 {
			t.Fatalf("a text of 4000 characters got seq %d", m.Seq)
		}
		up := h.upload(t, alice.Token, 10, 10)
		img := a.expectAck(t, a.sendMessage(t, conv, "img-ok", "image", up))
		var got map[string]any
		if err := json.Unmarshal(img.Content, &got); err != nil || got["url"] != up["url"] || got["width"] != 10.0 {
			t.Fatalf("image content %s (%v)", img.Content, err)
		}
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A frame over MaxFrameBytes closes that socket with 1009; one of exactly that
// size is read; other sockets go on.
func TestOversizedFrameClosesSocket(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		if h.cfg.MaxFrameBytes != 64<<10 {
			t.Fatalf("MaxFrameBytes %d, want 64 KiB", h.cfg.MaxFrameBytes)
		}
		u := h.newUser(t)
		big := h.dial(t, "big", u.Token)
		other := h.dial(t, "other", h.login(t, u))

		// Exactly 64 KiB: a ping padded with an ignored field.
		head, tail := `{"type":"ping","id":"max","data":{"pad":"`, `"}}`
		exact := head + strings.Repeat("p", 64<<10-len(head)-len(tail)) + tail
		big.sendRaw(t, []byte(exact))
		if f := big.expect(t, "", byID("max"), waitFrame); f.Type != "pong" {
			t.Fatalf("answer to a 64 KiB ping: %v", f)
		}

		over := head + strings.Repeat("p", 64<<10-len(head)-len(tail)+1) + tail
		big.sendRaw(t, []byte(over))
		big.expectCloseCode(t, websocket.CloseMessageTooBig, waitFrame)

		other.sync(t)
		eventually(t, waitFrame, "the closed socket's row removed", func() bool { return h.socketRows(t, u.ID) == 1 })
		again := h.dial(t, "again", u.Token)
		again.sync(t)
	})
}

// With the rate limit on, the frames over the burst get rate_limited errors and
// the socket stays open.
func TestFrameRateLimit(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db, func(c *ws.Config) {
			c.RateLimit, c.FramesPerSec, c.FrameBurst = true, 5, 5
		})
		u := h.newUser(t)
		c := h.dial(t, "c", u.Token) // its ping took one token
		const n = 20
		for i := range n {
			c.send(t, "ping", fmt.Sprintf("rl-%d", i), map[string]any{})
		}
		pongs, limited := 0, 0
		for i := range n {
			f := c.expect(t, "", byID(fmt.Sprintf("rl-%d", i)), waitFrame)
			switch f.Type {
			case "pong":
				pongs++
			case "error":
				if e := decode[errorData](t, f); e.Code != "rate_limited" {
					t.Fatalf("frame %d: %+v", i, e)
				}
				limited++
			default:
				t.Fatalf("frame %d: %v", i, f)
			}
		}
		// The burst is 5, one went to the dial's ping; a slow machine may refill a few.
		if pongs < 4 || limited < 10 {
			t.Fatalf("%d pongs and %d rate_limited of %d frames, want about 4 and 16", pongs, limited, n)
		}
		// Once the bucket refills, the same socket is answered again.
		deadline := time.Now().Add(waitFrame)
		for i := 0; ; i++ {
			id := fmt.Sprintf("later-%d", i)
			c.send(t, "ping", id, map[string]any{})
			if f := c.expect(t, "", byID(id), waitFrame); f.Type == "pong" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the socket is still rate limited")
			}
			time.Sleep(250 * time.Millisecond) // let a token come back
		}
	})
}

// The protocol is text frames of JSON; a binary frame is bad input like any
// other and must be answered (an error frame, or closing with 1003), not ignored.
func TestBinaryFrameIsAnswered(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		c := h.dial(t, "c", h.newUser(t).Token)
		c.wmu.Lock()
		err := c.conn.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping","id":"bin"}`))
		c.wmu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		timer := time.NewTimer(waitFrame)
		defer timer.Stop()
		select {
		case f, open := <-c.in:
			if !open {
				var ce *websocket.CloseError
				if !errors.As(c.err, &ce) || ce.Code != websocket.CloseUnsupportedData {
					t.Fatalf("the connection ended with %v, want an error frame or close 1003", c.err)
				}
				return
			}
			if f.Type != "error" || decode[errorData](t, f).Code != "invalid_request" {
				t.Fatalf("answer to a binary frame: %v, want an invalid_request error", f)
			}
			c.sync(t)
		case <-timer.C:
			t.Fatalf("no answer to a binary frame within %v: it was silently ignored", waitFrame)
		}
	})
}
