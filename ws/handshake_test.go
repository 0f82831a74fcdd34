package ws_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
	"gorm.io/gorm"

	"lechat/service/servicetest"
	"lechat/ws"
)

// A bad token is refused with 401 and the error envelope, before any upgrade.
func TestHandshakeRefusesBadTokens(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		u := h.newUser(t)
		loggedOut := h.login(t, u)
		h.doJSON(t, "POST", "/api/v1/auth/logout", loggedOut, nil, http.StatusNoContent, nil)

		for _, tt := range []struct{ name, token string }{
			{"no token", ""},
			{"garbage", "garbage"},
			{"forged", strings.Repeat("x", 40) + "." + strings.Repeat("y", 40) + "." + strings.Repeat("z", 40)},
			{"logged out", loggedOut},
		} {
			conn, res, err := h.dialRaw(tt.token, false)
			if err == nil {
				conn.Close()
				t.Fatalf("%s: the socket was upgraded", tt.name)
			}
			if res == nil {
				t.Fatalf("%s: dial failed without an answer: %v", tt.name, err)
			}
			body, _ := io.ReadAll(res.Body)
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s: Content-Type %q, want JSON", tt.name, ct)
			}
			checkErrorEnvelope(t, tt.name, res.StatusCode, body, http.StatusUnauthorized, "unauthorized")
		}

		c := h.dial(t, "good", u.Token) // dial fails the test unless it upgrades
		c.sync(t)
	})
}

// Logging out closes the sockets of that token only; changing the password
// closes every socket but those of the token that changed it.
func TestRevokedTokensCloseTheirSockets(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		u := h.newUser(t)
		phone, laptop := u.Token, h.login(t, u)
		onPhone := h.dial(t, "phone", phone)
		onLaptop := h.dial(t, "laptop", laptop)

		h.doJSON(t, "POST", "/api/v1/auth/logout", phone, nil, http.StatusNoContent, nil)
		onPhone.expectCloseCode(t, websocket.ClosePolicyViolation, waitFrame)
		onLaptop.sync(t) // still open and answering
		eventually(t, waitFrame, "the phone's socket row removed", func() bool { return h.socketRows(t, u.ID) == 1 })
		if _, res, err := h.dialRaw(phone, false); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial with the logged-out token: %v, %v; want 401", err, res)
		}

		// Device A changes the password: B's socket closes, A's stays.
		tokenA, tokenB := laptop, h.login(t, u)
		onB := h.dial(t, "B", tokenB)
		onB2 := h.dial(t, "B2", tokenB)
		h.doJSON(t, "PUT", "/api/v1/me/password", tokenA,
			map[string]string{"old_password": servicetest.Password, "new_password": "a brand new password"},
			http.StatusNoContent, nil)
		onB.expectCloseCode(t, websocket.ClosePolicyViolation, waitFrame)
		onB2.expectCloseCode(t, websocket.ClosePolicyViolation, waitFrame)
		onLaptop.sync(t)
		onLaptop.expectNone(t, "", nil, quiet) // and nothing else happened to it
		eventually(t, waitFrame, "B's socket rows removed", func() bool { return h.socketRows(t, u.ID) == 1 })
		if _, res, err := h.dialRaw(tokenB, false); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("dial with B's revoked token: %v, %v; want 401", err, res)
		}
		again := h.dial(t, "A again", tokenA)
		again.sync(t)
	})
}

// Browsers from other sites are refused; apps (no Origin), the server's own
// origin and configured origins are let in. Refusals use the error envelope.
func TestHandshakeChecksOrigin(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db, func(c *ws.Config) { c.AllowedOrigins = []string{"https://app.example"} })
		u := h.newUser(t)
		dial := func(origin string) (*websocket.Conn, *http.Response, error) {
			hdr := http.Header{}
			if origin != "" {
				hdr.Set("Origin", origin)
			}
			d := websocket.Dialer{HandshakeTimeout: waitFrame}
			return d.Dial(h.wsURL(u.Token), hdr)
		}
		for _, origin := range []string{"", h.base, "https://app.example"} {
			conn, _, err := dial(origin)
			if err != nil {
				t.Fatalf("origin %q: %v", origin, err)
			}
			h.wrap(t, "origin "+origin, conn, true)
		}
		for _, origin := range []string{"https://evil.example", "null", "https://app.example.evil.example"} {
			conn, res, err := dial(origin)
			if err == nil {
				conn.Close()
				t.Fatalf("origin %q was let in", origin)
			}
			if res == nil {
				t.Fatalf("origin %q: no answer: %v", origin, err)
			}
			if res.StatusCode != http.StatusForbidden {
				t.Fatalf("origin %q: status %d, want 403", origin, res.StatusCode)
			}
			body, _ := io.ReadAll(res.Body)
			if e, ok := envelope(body); !ok || e.Error.Code != "forbidden" {
				t.Errorf("origin %q: body %q, want the error envelope with code forbidden", origin, body)
			}
		}
	})
}

// A plain request to /ws (no upgrade) with a good token is refused with 400 in
// the error envelope.
func TestPlainRequestToSocket(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		h := newHarness(t, db)
		u := h.newUser(t)
		res, err := h.http.Get(h.base + "/ws?token=" + u.Token)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		checkErrorEnvelope(t, "GET /ws without upgrade", res.StatusCode, body, http.StatusBadRequest, "invalid_request")
	})
}
