package api_test

import (
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"gorm.io/gorm"

	"lechat/service/servicetest"
)

// forge re-signs token's claims, changed by edit, with method and secret.
func forge(t *testing.T, token string, method jwt.SigningMethod, secret any, edit func(*jwt.RegisteredClaims)) string {
	t.Helper()
	var c jwt.RegisteredClaims
	if _, _, err := jwt.NewParser().ParseUnverified(token, &c); err != nil {
		t.Fatalf("parse token: %v", err)
	}
	if edit != nil {
		edit(&c)
	}
	s, err := jwt.NewWithClaims(method, c).SignedString(secret)
	if err != nil {
		t.Fatalf("sign token: %v", err)
	}
	return s
}

// TestBadInputChangesNothing sends every kind of bad request and checks its
// answer, and that no row of the accounts tables appeared, vanished or changed.
// It is not parallel: it counts every row of those tables, so no other test may
// write meanwhile. Its two dialects use separate databases and run in parallel.
func TestBadInputChangesNothing(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		me, token := ts.activeUser(t, "", "Me")
		taken, _ := ts.activeUser(t, "", "")
		usedActivation := ts.Box.ActivationToken(t, taken.Email)
		pendingName := servicetest.Unique("pend")
		ts.register(t, pendingName, pendingName+"@example.com", servicetest.Password, "")
		loggedOut := ts.login(t, me.Username, servicetest.Password).Token
		expectStatus(t, ts.doJSON(t, "POST", "/api/v1/auth/logout", loggedOut, nil), http.StatusNoContent)
		ts.me(t, token)

		// expired is a genuine token in every respect but its expiry; resigned
		// differs from token only in its signature bytes, and works.
		resigned := forge(t, token, jwt.SigningMethodHS256, []byte(servicetest.Secret), nil)
		ts.me(t, resigned)
		expired := forge(t, token, jwt.SigningMethodHS256, []byte(servicetest.Secret), func(c *jwt.RegisteredClaims) {
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-2 * time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
		})
		otherSecret := forge(t, token, jwt.SigningMethodHS256, []byte("another-secret-0123456789abcdef0123"), nil)
		hs512 := forge(t, token, jwt.SigningMethodHS512, []byte(servicetest.Secret), nil)
		none := forge(t, token, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil)
		noExpiry := forge(t, token, jwt.SigningMethodHS256, []byte(servicetest.Secret), func(c *jwt.RegisteredClaims) {
			c.ExpiresAt = nil
		})
		otherIssuer := forge(t, token, jwt.SigningMethodHS256, []byte(servicetest.Secret), func(c *jwt.RegisteredClaims) {
			c.Issuer = "someone-else"
		})

		fresh := func(edit func(m map[string]any)) map[string]any {
			name := servicetest.Unique("bad")
			m := map[string]any{"username": name, "email": name + "@example.com", "password": servicetest.Password}
			if edit != nil {
				edit(m)
			}
			return m
		}
		validJSON := `{"username":"` + servicetest.Unique("bad") + `","email":"` + servicetest.Unique("bad") +
			`@example.com","password":"` + servicetest.Password + `"}`
		bearer := "Bearer " + token
		tomorrow := time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly)

		tests := []struct {
			name         string
			method, path string
			authz        string // the Authorization header, if any
			body         any
			status       int
			code, field  string
		}{
			// Bodies that are not one JSON object of the right shape.
			{"malformed JSON", "POST", "/api/v1/auth/register", "", `{"username": "abc" "email": "x"}`, 400, "invalid_request", ""},
			{"truncated JSON", "POST", "/api/v1/auth/register", "", `{"username": "abc",`, 400, "invalid_request", ""},
			{"not JSON", "POST", "/api/v1/auth/register", "", `username=abc&password=x`, 400, "invalid_request", ""},
			{"JSON array", "POST", "/api/v1/auth/register", "", `[` + validJSON + `]`, 400, "invalid_request", ""},
			{"JSON string", "POST", "/api/v1/auth/register", "", `"` + strings.ReplaceAll(validJSON, `"`, `\"`) + `"`, 400, "invalid_request", ""},
			{"JSON number", "POST", "/api/v1/auth/login", "", `42`, 400, "invalid_request", ""},
			{"JSON null", "POST", "/api/v1/auth/register", "", `null`, 400, "invalid_request", "username"},
			{"empty body", "POST", "/api/v1/auth/register", "", "", 400, "invalid_request", ""},
			{"empty body, login", "POST", "/api/v1/auth/login", "", "", 400, "invalid_request", ""},
			{"whitespace body", "POST", "/api/v1/auth/register", "", " \n\t", 400, "invalid_request", ""},
			{"trailing garbage", "POST", "/api/v1/auth/register", "", validJSON + ` x`, 400, "invalid_request", ""},
			{"trailing brace", "POST", "/api/v1/auth/register", "", validJSON + `}`, 400, "invalid_request", ""},
			{"two objects", "POST", "/api/v1/auth/register", "", validJSON + validJSON, 400, "invalid_request", ""},
			{"username is a number", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["username"] = 5 }), 400, "invalid_request", "username"},
			{"password is a boolean", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["password"] = true }), 400, "invalid_request", "password"},
			{"nickname is an object", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["nickname"] = map[string]any{} }), 400, "invalid_request", "nickname"},
			{"email is an array", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["email"] = []string{"a@example.com"} }), 400, "invalid_request", "email"},

			// Registration rules.
			{"missing username", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { delete(m, "username") }), 400, "invalid_request", "username"},
			{"missing email", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { delete(m, "email") }), 400, "invalid_request", "email"},
			{"missing password", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { delete(m, "password") }), 400, "invalid_request", "password"},
			{"email without @", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["email"] = "not-an-email" }), 400, "invalid_request", "email"},
			{"email without a dotted domain", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["email"] = "bob@localhost" }), 400, "invalid_request", "email"},
			{"email with a display name", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["email"] = "Bob <bob@example.com>" }), 400, "invalid_request", "email"},
			{"email with two @", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["email"] = "bob@@example.com" }), 400, "invalid_request", "email"},
			{"email with ..", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["email"] = "bob@example..com" }), 400, "invalid_request", "email"},
			{"password of 7 characters", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["password"] = "1234567" }), 400, "invalid_request", "password"},
			{"password of 73 bytes", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["password"] = strings.Repeat("a", 73) }), 400, "invalid_request", "password"},
			{"password of 25 characters, 75 bytes", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["password"] = strings.Repeat("密", 25) }), 400, "invalid_request", "password"},
			{"username with a space", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["username"] = "has space" }), 400, "invalid_request", "username"},
			{"username with a dash", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["username"] = "has-dash" }), 400, "invalid_request", "username"},
			{"username of 2 characters", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["username"] = "ab" }), 400, "invalid_request", "username"},
			{"username of 33 characters", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["username"] = strings.Repeat("a", 33) }), 400, "invalid_request", "username"},
			{"username with a non-ASCII letter", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["username"] = "ünïcode" }), 400, "invalid_request", "username"},
			{"nickname with a control character", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["nickname"] = "a\u0007b" }), 400, "invalid_request", "nickname"},
			{"taken username in upper case", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["username"] = strings.ToUpper(taken.Username) }), 409, "conflict", "username"},
			{"taken email in upper case", "POST", "/api/v1/auth/register", "", fresh(func(m map[string]any) { m["email"] = strings.ToUpper(taken.Email) }), 409, "conflict", "email"},

			// Login.
			{"login before activation", "POST", "/api/v1/auth/login", "", map[string]string{"login": pendingName, "password": servicetest.Password}, 403, "account_inactive", ""},
			{"login without password", "POST", "/api/v1/auth/login", "", map[string]string{"login": me.Username}, 400, "invalid_request", ""},
			{"login is a number", "POST", "/api/v1/auth/login", "", map[string]any{"login": 12, "password": "x"}, 400, "invalid_request", "login"},

			// Activation.
			{"unknown activation token", "POST", "/api/v1/auth/activate", "", map[string]string{"token": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}, 400, "invalid_request", "token"},
			{"used activation token", "POST", "/api/v1/auth/activate", "", map[string]string{"token": usedActivation}, 400, "invalid_request", "token"},
			{"empty activation token", "POST", "/api/v1/auth/activate", "", map[string]string{"token": ""}, 400, "invalid_request", "token"},
			{"overlong activation token", "POST", "/api/v1/auth/activate", "", map[string]string{"token": strings.Repeat("A", 129)}, 400, "invalid_request", "token"},
			{"activation token is a number", "POST", "/api/v1/auth/activate", "", map[string]any{"token": 123}, 400, "invalid_request", "token"},
			{"resend to a non-address", "POST", "/api/v1/auth/resend-activation", "", map[string]string{"email": "nobody"}, 400, "invalid_request", "email"},

			// Credentials.
			{"no Authorization", "GET", "/api/v1/me", "", nil, 401, "unauthorized", ""},
			{"Authorization without Bearer", "GET", "/api/v1/me", token, nil, 401, "unauthorized", ""},
			{"Authorization: Token", "GET", "/api/v1/me", "Token " + token, nil, 401, "unauthorized", ""},
			{"Authorization: Basic", "GET", "/api/v1/me", "Basic dXNlcjpwYXNz", nil, 401, "unauthorized", ""},
			{"empty bearer token", "GET", "/api/v1/me", "Bearer ", nil, 401, "unauthorized", ""},
			{"garbage token", "GET", "/api/v1/me", "Bearer not.a.jwt", nil, 401, "unauthorized", ""},
			{"token signed with another secret", "GET", "/api/v1/me", "Bearer " + otherSecret, nil, 401, "unauthorized", ""},
			{"token signed with HS512", "GET", "/api/v1/me", "Bearer " + hs512, nil, 401, "unauthorized", ""},
			{"unsigned token", "GET", "/api/v1/me", "Bearer " + none, nil, 401, "unauthorized", ""},
			{"expired token", "GET", "/api/v1/me", "Bearer " + expired, nil, 401, "unauthorized", ""},
			{"token without expiry", "GET", "/api/v1/me", "Bearer " + noExpiry, nil, 401, "unauthorized", ""},
			{"token of another issuer", "GET", "/api/v1/me", "Bearer " + otherIssuer, nil, 401, "unauthorized", ""},
			{"token of a logged-out session", "GET", "/api/v1/me", "Bearer " + loggedOut, nil, 401, "unauthorized", ""},
			{"bad token on PATCH /me", "PATCH", "/api/v1/me", "Bearer " + expired, map[string]string{"nickname": "x"}, 401, "unauthorized", ""},
			{"bad token on logout", "POST", "/api/v1/auth/logout", "Bearer " + otherSecret, nil, 401, "unauthorized", ""},

			// Profile rules.
			{"gender robot", "PATCH", "/api/v1/me", bearer, map[string]string{"gender": "robot"}, 400, "invalid_request", "gender"},
			{"gender in upper case", "PATCH", "/api/v1/me", bearer, map[string]string{"gender": "Male"}, 400, "invalid_request", "gender"},
			{"birthday with slashes", "PATCH", "/api/v1/me", bearer, map[string]string{"birthday": "2000/01/01"}, 400, "invalid_request", "birthday"},
			{"birthday day first", "PATCH", "/api/v1/me", bearer, map[string]string{"birthday": "01-02-2000"}, 400, "invalid_request", "birthday"},
			{"birthday on a missing day", "PATCH", "/api/v1/me", bearer, map[string]string{"birthday": "2001-02-29"}, 400, "invalid_request", "birthday"},
			{"birthday with a time", "PATCH", "/api/v1/me", bearer, map[string]string{"birthday": "2000-01-01T00:00:00Z"}, 400, "invalid_request", "birthday"},
			{"birthday in the future", "PATCH", "/api/v1/me", bearer, map[string]string{"birthday": tomorrow}, 400, "invalid_request", "birthday"},
			{"birthday before 1900", "PATCH", "/api/v1/me", bearer, map[string]string{"birthday": "1899-12-31"}, 400, "invalid_request", "birthday"},
			{"nickname of 33 characters", "PATCH", "/api/v1/me", bearer, map[string]string{"nickname": strings.Repeat("字", 33)}, 400, "invalid_request", "nickname"},
			{"nickname with BEL", "PATCH", "/api/v1/me", bearer, map[string]string{"nickname": "a\u0007b"}, 400, "invalid_request", "nickname"},
			{"nickname with a newline", "PATCH", "/api/v1/me", bearer, map[string]string{"nickname": "a\nb"}, 400, "invalid_request", "nickname"},
			{"nickname with NUL", "PATCH", "/api/v1/me", bearer, map[string]string{"nickname": "a\u0000b"}, 400, "invalid_request", "nickname"},
			{"nickname with RLO", "PATCH", "/api/v1/me", bearer, map[string]string{"nickname": "abc\u202Egnp.exe"}, 400, "invalid_request", "nickname"},
			{"nickname with an isolate", "PATCH", "/api/v1/me", bearer, map[string]string{"nickname": "ab\u2067c"}, 400, "invalid_request", "nickname"},
			{"nickname is an object", "PATCH", "/api/v1/me", bearer, map[string]any{"nickname": map[string]any{}}, 400, "invalid_request", "nickname"},
			{"signature of 141 characters", "PATCH", "/api/v1/me", bearer, map[string]string{"signature": strings.Repeat("😀", 141)}, 400, "invalid_request", "signature"},
			{"signature with a line separator", "PATCH", "/api/v1/me", bearer, map[string]string{"signature": "a\u2028b"}, 400, "invalid_request", "signature"},
			{"avatar javascript:", "PATCH", "/api/v1/me", bearer, map[string]string{"avatar_url": "javascript:alert(1)"}, 400, "invalid_request", "avatar_url"},
			{"avatar scheme-relative", "PATCH", "/api/v1/me", bearer, map[string]string{"avatar_url": "//evil.example/x.png"}, 400, "invalid_request", "avatar_url"},
			{"avatar data:", "PATCH", "/api/v1/me", bearer, map[string]string{"avatar_url": "data:image/png;base64,AAAA"}, 400, "invalid_request", "avatar_url"},
			{"avatar with user info", "PATCH", "/api/v1/me", bearer, map[string]string{"avatar_url": "https://user:pw@evil.example/x.png"}, 400, "invalid_request", "avatar_url"},
			{"avatar with a backslash", "PATCH", "/api/v1/me", bearer, map[string]string{"avatar_url": "/\\evil.example/x.png"}, 400, "invalid_request", "avatar_url"},
			{"good nickname with a bad gender", "PATCH", "/api/v1/me", bearer, map[string]string{"nickname": "Changed", "gender": "robot"}, 400, "invalid_request", "gender"},
			{"profile as an array", "PATCH", "/api/v1/me", bearer, `[]`, 400, "invalid_request", ""},

			// Password change.
			{"wrong old password", "PUT", "/api/v1/me/password", bearer, map[string]string{"old_password": "wrong password", "new_password": "another password"}, 403, "forbidden", "old_password"},
			{"missing old password", "PUT", "/api/v1/me/password", bearer, map[string]string{"new_password": "another password"}, 400, "invalid_request", "old_password"},
			{"short new password", "PUT", "/api/v1/me/password", bearer, map[string]string{"old_password": servicetest.Password, "new_password": "short"}, 400, "invalid_request", "new_password"},
			{"new password of 73 bytes", "PUT", "/api/v1/me/password", bearer, map[string]string{"old_password": servicetest.Password, "new_password": strings.Repeat("b", 73)}, 400, "invalid_request", "new_password"},
			{"new password is a number", "PUT", "/api/v1/me/password", bearer, map[string]any{"old_password": servicetest.Password, "new_password": 12345678}, 400, "invalid_request", "new_password"},

			// Search.
			{"search without q", "GET", "/api/v1/users", bearer, nil, 400, "invalid_request", "q"},
			{"search with a blank q", "GET", "/api/v1/users?q=%20%20", bearer, nil, 400, "invalid_request", "q"},
			{"search with 65 characters", "GET", "/api/v1/users?q=" + strings.Repeat("x", 65), bearer, nil, 400, "invalid_request", "q"},
			{"limit not a number", "GET", "/api/v1/users?q=a&limit=abc", bearer, nil, 400, "invalid_request", "limit"},
			{"limit 101", "GET", "/api/v1/users?q=a&limit=101", bearer, nil, 400, "invalid_request", "limit"},
			{"limit -1", "GET", "/api/v1/users?q=a&limit=-1", bearer, nil, 400, "invalid_request", "limit"},
			{"foreign cursor", "GET", "/api/v1/users?q=a&cursor=abc", bearer, nil, 400, "invalid_request", "cursor"},
		}

		// Login failures: wrong password and unknown user must read alike.
		loginFailures := []map[string]string{
			{"login": me.Username, "password": "wrong password"},
			{"login": me.Email, "password": "wrong password"},
			{"login": servicetest.Unique("nobody"), "password": servicetest.Password},
			{"login": servicetest.Unique("nobody") + "@example.com", "password": servicetest.Password},
		}

		rowBefore := userRow(t, db, me.ID)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := countRows(t, db)
				req := newRequest(t, tt.method, ts.URL+tt.path, "", tt.body)
				if tt.authz != "" {
					req.Header.Set("Authorization", tt.authz)
				}
				r := send(t, ts.Client, req)
				if tt.status == http.StatusUnauthorized && tt.path != "/api/v1/auth/login" {
					expectUnauthorized(t, r)
				} else {
					expectError(t, r, tt.status, tt.code, tt.field)
				}
				if after := countRows(t, db); !maps.Equal(before, after) {
					t.Errorf("rows before %v, after %v", before, after)
				}
				sameRow(t, rowBefore, userRow(t, db, me.ID))
			})
		}

		t.Run("wrong password and unknown user", func(t *testing.T) {
			before := countRows(t, db)
			var messages []string
			for _, body := range loginFailures {
				r := ts.doJSON(t, "POST", "/api/v1/auth/login", "", body)
				messages = append(messages, expectError(t, r, http.StatusUnauthorized, "unauthorized", ""))
			}
			for _, m := range messages[1:] {
				if m != messages[0] {
					t.Errorf("login failures read differently: %q", messages)
				}
			}
			if after := countRows(t, db); !maps.Equal(before, after) {
				t.Errorf("rows before %v, after %v", before, after)
			}
		})

		big := `{"username":"` + strings.Repeat("a", 2<<20) + `","email":"big@example.com","password":"` + servicetest.Password + `"}`
		for _, tc := range []struct {
			name    string
			body    string
			chunked bool
		}{
			{"2 MB body with Content-Length", big, false},
			{"2 MB chunked body", big, true},
			{"small object and 2 MB of spaces, chunked", validJSON + strings.Repeat(" ", 2<<20), true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := countRows(t, db)
				req := newRequest(t, "POST", ts.URL+"/api/v1/auth/register", "", tc.body)
				if req.ContentLength != int64(len(tc.body)) {
					t.Fatalf("Content-Length %d, want %d", req.ContentLength, len(tc.body))
				}
				if tc.chunked {
					req.Body = io.NopCloser(strings.NewReader(tc.body))
					req.ContentLength = -1
					req.TransferEncoding = []string{"chunked"}
				}
				r := send(t, ts.Client, req)
				expectError(t, r, http.StatusRequestEntityTooLarge, "payload_too_large", "")
				if after := countRows(t, db); !maps.Equal(before, after) {
					t.Errorf("rows before %v, after %v", before, after)
				}
			})
		}

		t.Run("expired activation token", func(t *testing.T) {
			late := newTestServer(t, db) // a server of its own, whose clock moves
			name := servicetest.Unique("late")
			u := late.register(t, name, name+"@example.com", servicetest.Password, "")
			late.Clock.Advance(25 * time.Hour) // activation links live 24 hours
			before, row := countRows(t, db), userRow(t, db, u.ID)
			r := late.doJSON(t, "POST", "/api/v1/auth/activate", "", map[string]string{"token": late.Box.ActivationToken(t, u.Email)})
			expectError(t, r, http.StatusBadRequest, "invalid_request", "token")
			if after := countRows(t, db); !maps.Equal(before, after) {
				t.Errorf("rows before %v, after %v", before, after)
			}
			sameRow(t, row, userRow(t, db, u.ID))
			r = late.doJSON(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": name, "password": servicetest.Password})
			expectError(t, r, http.StatusForbidden, "account_inactive", "")
		})

		// The bearer token outlived every refused request.
		ts.me(t, token)
	})
}
