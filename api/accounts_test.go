package api_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"lechat/service/servicetest"
)

func TestRegisterActivateLogin(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		name := servicetest.Unique("reg")
		email := name + "@example.com"

		start := time.Now()
		r := ts.doJSON(t, "POST", "/api/v1/auth/register", "", map[string]string{
			"username": strings.ToUpper(name), "email": "  " + strings.ToUpper(email) + " ",
			"password": servicetest.Password, "nickname": " 小明 "})
		expectStatus(t, r, http.StatusCreated)
		var reg userEnvelope
		decodeStrict(t, r.Body, &reg) // unknown fields (a password hash, say) fail here
		u := reg.User
		if u.ID == 0 || u.Username != name || u.Email != email || u.Nickname != "小明" || u.Activated {
			t.Errorf("registered user = %+v, want id, username %q, email %q, nickname 小明, not activated", u, name, email)
		}
		if u.CreatedAt.IsZero() || u.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at = %v, want a UTC time", u.CreatedAt)
		}
		if strings.Contains(string(r.Body), "$2a$") || strings.Contains(string(r.Body), "password") {
			t.Errorf("the registration answer shows the password hash: %s", r.Body)
		}
		if n := len(ts.Box.To(email)); n != 1 {
			t.Fatalf("%d activation mails to %s, want 1", n, email)
		}

		r = ts.doJSON(t, "POST", "/api/v1/auth/activate", "", map[string]string{"token": ts.Box.ActivationToken(t, email)})
		expectStatus(t, r, http.StatusOK)
		var act userEnvelope
		decodeStrict(t, r.Body, &act)
		if act.User.ID != u.ID || !act.User.Activated || act.User.Username != name {
			t.Errorf("activated user = %+v, want id %d, activated", act.User, u.ID)
		}

		byName := ts.login(t, strings.ToUpper(name), servicetest.Password)
		byEmail := ts.login(t, " "+strings.ToUpper(email[:1])+email[1:len(email)-3]+"COM", servicetest.Password)
		for _, res := range []loginJSON{byName, byEmail} {
			if res.User.ID != u.ID || res.User.Email != email || !res.User.Activated {
				t.Errorf("login user = %+v, want user %d", res.User, u.ID)
			}
			if !res.ExpiresAt.After(start) || res.ExpiresAt.After(time.Now().Add(time.Hour+time.Minute)) {
				t.Errorf("expires_at = %v, want about an hour from now", res.ExpiresAt)
			}
			if me := ts.me(t, res.Token); me.ID != u.ID || me.Email != email {
				t.Errorf("GET /me = %+v, want user %d", me, u.ID)
			}
		}
		if byName.Token == byEmail.Token {
			t.Error("two logins got the same token")
		}
	})
}

func TestResendActivation(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		resend := func(email string) []byte {
			t.Helper()
			r := ts.doJSON(t, "POST", "/api/v1/auth/resend-activation", "", map[string]string{"email": email})
			expectStatus(t, r, http.StatusAccepted)
			return r.Body
		}

		inactive := servicetest.Unique("ina") + "@example.com"
		ts.register(t, strings.TrimSuffix(inactive, "@example.com"), inactive, servicetest.Password, "")
		firstToken := ts.Box.ActivationToken(t, inactive)
		active, _ := ts.activeUser(t, "", "")
		unknown := servicetest.Unique("nobody") + "@example.com"

		// Within the cooldown of the registration mail: no new mail.
		resend(inactive)
		if n := len(ts.Box.To(inactive)); n != 1 {
			t.Fatalf("%d mails to %s after a resend within the cooldown, want 1", n, inactive)
		}

		ts.Clock.Advance(2 * time.Minute) // past the one-minute cooldown
		bodyInactive := resend(strings.ToUpper(inactive))
		bodyUnknown := resend(unknown)
		bodyActive := resend(active.Email)
		if string(bodyInactive) != string(bodyUnknown) || string(bodyInactive) != string(bodyActive) {
			t.Errorf("answers differ: inactive %s, unknown %s, active %s", bodyInactive, bodyUnknown, bodyActive)
		}
		if n := len(ts.Box.To(inactive)); n != 2 {
			t.Fatalf("%d mails to the inactive address, want 2", n)
		}
		if n := len(ts.Box.To(unknown)); n != 0 {
			t.Errorf("%d mails to an unknown address, want 0", n)
		}
		if n := len(ts.Box.To(active.Email)); n != 1 {
			t.Errorf("%d mails to an active account, want only its first", n)
		}

		resend(inactive) // within the cooldown of the second mail
		if n := len(ts.Box.To(inactive)); n != 2 {
			t.Errorf("%d mails to %s after a second resend within the cooldown, want 2", n, inactive)
		}

		newToken := ts.Box.ActivationToken(t, inactive)
		if newToken == firstToken {
			t.Fatal("the resent mail carries the old token")
		}
		r := ts.doJSON(t, "POST", "/api/v1/auth/activate", "", map[string]string{"token": firstToken})
		expectError(t, r, http.StatusBadRequest, "invalid_request", "token")
		r = ts.doJSON(t, "POST", "/api/v1/auth/activate", "", map[string]string{"token": newToken})
		expectStatus(t, r, http.StatusOK)
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		u, first := ts.activeUser(t, "", "")
		second := ts.login(t, u.Email, servicetest.Password).Token

		r := ts.doJSON(t, "POST", "/api/v1/auth/logout", first, nil)
		expectStatus(t, r, http.StatusNoContent)
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %q", r.Body)
		}
		expectUnauthorized(t, ts.doJSON(t, "GET", "/api/v1/me", first, nil))
		expectUnauthorized(t, ts.doJSON(t, "POST", "/api/v1/auth/logout", first, nil))
		if me := ts.me(t, second); me.ID != u.ID {
			t.Errorf("the other token is signed in as %d, want %d", me.ID, u.ID)
		}
	})
}

func TestProfileRoundTrip(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		u, token := ts.activeUser(t, "", "")
		_, otherToken := ts.activeUser(t, "", "")

		const (
			nickname  = "小明 👨‍👩‍👧‍👦 🇨🇳 👍🏽 🏴󠁧󠁢󠁳󠁣󠁴󠁿"
			signature = "你好，世界！こんにちは 안녕하세요 😀🎉 — «ünïcödé» 𠮷野家"
			location  = "上海 🌃"
		)
		patch := map[string]string{"nickname": nickname, "signature": signature, "location": location,
			"gender": "female", "birthday": "1990-02-28", "avatar_url": "https://cdn.example/a/b.png?x=1"}
		r := ts.doJSON(t, "PATCH", "/api/v1/me", token, patch)
		expectStatus(t, r, http.StatusOK)
		var got userJSON
		decodeStrict(t, r.Body, &got)
		want := u
		want.Nickname, want.Signature, want.Location = nickname, signature, location
		want.Gender, want.Birthday, want.AvatarURL = "female", "1990-02-28", "https://cdn.example/a/b.png?x=1"
		if got != want {
			t.Errorf("PATCH /me = %+v\nwant %+v", got, want)
		}
		if me := ts.me(t, token); me != want {
			t.Errorf("GET /me = %+v\nwant %+v", me, want)
		}
		row := userRow(t, db, u.ID)
		for col, v := range map[string]string{"nickname": nickname, "signature": signature, "location": location} {
			if s := rowString(t, row, col); s != v {
				t.Errorf("users.%s holds %q (% x), want %q (% x)", col, s, s, v, v)
			}
		}

		r = ts.doJSON(t, "GET", "/api/v1/users/"+strconv.FormatUint(u.ID, 10), otherToken, nil)
		expectStatus(t, r, http.StatusOK)
		var pub userJSON
		decodeStrict(t, r.Body, &pub)
		if pub.Nickname != nickname || pub.Signature != signature || pub.Location != location {
			t.Errorf("public profile = %+v, want the same text", pub)
		}

		// Absent fields stay; an empty birthday clears it.
		r = ts.doJSON(t, "PATCH", "/api/v1/me", token, map[string]string{"signature": "only this", "birthday": ""})
		expectStatus(t, r, http.StatusOK)
		decodeStrict(t, r.Body, &got)
		want.Signature, want.Birthday = "only this", ""
		if got != want {
			t.Errorf("partial PATCH /me = %+v\nwant %+v", got, want)
		}
	})
}

func TestNicknameMarkupIsText(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		u, token := ts.activeUser(t, "", "")
		_, otherToken := ts.activeUser(t, "", "")
		const nick = `<script>alert("x")</script>&`

		r := ts.doJSON(t, "PATCH", "/api/v1/me", token, map[string]string{"nickname": nick})
		expectStatus(t, r, http.StatusOK)
		for _, r := range []*response{r, ts.doJSON(t, "GET", "/api/v1/users/"+strconv.FormatUint(u.ID, 10), otherToken, nil)} {
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q, want JSON", ct)
			}
			if strings.Contains(string(r.Body), "<script>") {
				t.Errorf("the answer carries a raw <script> tag: %s", r.Body)
			}
			var got userJSON
			decodeStrict(t, r.Body, &got)
			if got.Nickname != nick {
				t.Errorf("nickname = %q, want the literal %q", got.Nickname, nick)
			}
		}
		if s := rowString(t, userRow(t, db, u.ID), "nickname"); s != nick {
			t.Errorf("users.nickname = %q, want the literal %q", s, nick)
		}
	})
}

func TestChangePassword(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		u, current := ts.activeUser(t, "", "")
		other := ts.login(t, u.Username, servicetest.Password).Token
		const newPassword = "新的密码 new password"

		r := ts.doJSON(t, "PUT", "/api/v1/me/password", current,
			map[string]string{"old_password": "not the password", "new_password": newPassword})
		expectError(t, r, http.StatusForbidden, "forbidden", "old_password")
		ts.me(t, other) // a refused change revokes nothing

		r = ts.doJSON(t, "PUT", "/api/v1/me/password", current,
			map[string]string{"old_password": servicetest.Password, "new_password": newPassword})
		expectStatus(t, r, http.StatusNoContent)
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %q", r.Body)
		}
		expectUnauthorized(t, ts.doJSON(t, "GET", "/api/v1/me", other, nil))
		if me := ts.me(t, current); me.ID != u.ID {
			t.Errorf("current token signed in as %d, want %d", me.ID, u.ID)
		}
		ts.login(t, u.Username, newPassword)
		r = ts.doJSON(t, "POST", "/api/v1/auth/login", "", map[string]string{"login": u.Username, "password": servicetest.Password})
		expectUnauthorized(t, r)
	})
}

type userPage struct {
	Items      []userJSON `json:"items"`
	NextCursor string     `json:"next_cursor"`
}

// search runs GET /users with the query values and returns the page.
func (ts *testServer) search(t *testing.T, token string, q url.Values) (userPage, *response) {
	t.Helper()
	r := ts.doJSON(t, "GET", "/api/v1/users?"+q.Encode(), token, nil)
	expectStatus(t, r, http.StatusOK)
	var p userPage
	decodeStrict(t, r.Body, &p)
	if p.Items == nil {
		t.Errorf("items is missing or null, want a list: %s", r.Body)
	}
	return p, r
}

func ids(users []userJSON) []uint64 {
	out := make([]uint64, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func TestSearchUsers(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		tag := servicetest.Unique("srch") // like srch12_0a1b2c
		_, token := ts.activeUser(t, tag+"_me", "")
		var matching []uint64
		for i := range 5 {
			u, _ := ts.activeUser(t, tag+"_"+strconv.Itoa(i), "")
			matching = append(matching, u.ID)
		}
		ts.register(t, tag+"_inactive", tag+"_inactive@example.com", servicetest.Password, "")
		byNick, _ := ts.activeUser(t, "", "小明"+tag+"👍")
		literal, _ := ts.activeUser(t, "", "100%_"+tag)

		t.Run("username prefix, paged", func(t *testing.T) {
			var got []uint64
			cursor := ""
			for page := 0; ; page++ {
				q := url.Values{"q": {tag + "_"}, "limit": {"2"}}
				if cursor != "" {
					q.Set("cursor", cursor)
				}
				p, r := ts.search(t, token, q)
				got = append(got, ids(p.Items)...)
				if page < 2 {
					if len(p.Items) != 2 || p.NextCursor == "" {
						t.Fatalf("page %d = %s, want 2 users and a cursor", page, r.Body)
					}
				} else {
					if len(p.Items) != 1 || strings.Contains(string(r.Body), "next_cursor") {
						t.Fatalf("last page = %s, want 1 user and no cursor", r.Body)
					}
					break
				}
				cursor = p.NextCursor
			}
			if !slices.Equal(got, matching) {
				t.Errorf("found %v, want %v (active, not the caller, in id order)", got, matching)
			}
			for _, u := range mustSearch(t, ts, token, tag+"_", "") {
				if u.Email != "" || u.Birthday != "" {
					t.Errorf("search shows private fields: %+v", u)
				}
			}
		})
		t.Run("upper-case query", func(t *testing.T) {
			if got := ids(mustSearch(t, ts, token, strings.ToUpper(tag)+"_", "100")); !slices.Equal(got, matching) {
				t.Errorf("found %v, want %v", got, matching)
			}
		})
		t.Run("nickname substring", func(t *testing.T) {
			if got := ids(mustSearch(t, ts, token, "明"+tag, "")); !slices.Equal(got, []uint64{byNick.ID}) {
				t.Errorf("found %v, want [%d]", got, byNick.ID)
			}
		})
		t.Run("percent and underscore are literal", func(t *testing.T) {
			if got := ids(mustSearch(t, ts, token, "%_"+tag, "")); !slices.Equal(got, []uint64{literal.ID}) {
				t.Errorf("q=%%_tag found %v, want only [%d]", got, literal.ID)
			}
			for _, q := range []string{tag + "%", tag + "__", "_" + tag[1:], "%" + tag + "%"} {
				p, r := ts.search(t, token, url.Values{"q": {q}})
				if len(p.Items) != 0 || !strings.Contains(string(r.Body), `"items":[]`) {
					t.Errorf("q=%q = %s, want no users", q, r.Body)
				}
			}
		})
	})
}

func mustSearch(t *testing.T, ts *testServer, token, q, limit string) []userJSON {
	t.Helper()
	v := url.Values{"q": {q}}
	if limit != "" {
		v.Set("limit", limit)
	}
	p, r := ts.search(t, token, v)
	if p.NextCursor != "" {
		t.Fatalf("q=%q: more than one page: %s", q, r.Body)
	}
	return p.Items
}

func TestGetUser(t *testing.T) {
	t.Parallel()
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ts := newTestServer(t, db)
		viewer, token := ts.activeUser(t, "", "")
		target, targetToken := ts.activeUser(t, "", "Target")
		r := ts.doJSON(t, "PATCH", "/api/v1/me", targetToken, map[string]string{
			"birthday": "1999-09-09", "signature": "hi", "gender": "other", "location": "Paris"})
		expectStatus(t, r, http.StatusOK)
		inactive := ts.register(t, servicetest.Unique("ina"), servicetest.Unique("ina")+"@example.com", servicetest.Password, "")

		r = ts.doJSON(t, "GET", "/api/v1/users/"+strconv.FormatUint(target.ID, 10), token, nil)
		expectStatus(t, r, http.StatusOK)
		var fields map[string]json.RawMessage
		decodeStrict(t, r.Body, &fields)
		var keys []string
		for k := range fields {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"avatar_url", "gender", "id", "is_friend", "location", "nickname", "signature", "username"}
		if !slices.Equal(keys, want) {
			t.Errorf("public profile fields %v, want %v", keys, want)
		}
		for _, secret := range []string{target.Email, "1999-09-09", "$2a$", "password"} {
			if strings.Contains(string(r.Body), secret) {
				t.Errorf("public profile shows %q: %s", secret, r.Body)
			}
		}
		var pub userJSON
		decodeStrict(t, r.Body, &pub)
		if pub.ID != target.ID || pub.Username != target.Username || pub.Nickname != "Target" ||
			pub.Signature != "hi" || pub.Gender != "other" || pub.Location != "Paris" || pub.IsFriend {
			t.Errorf("public profile = %+v", pub)
		}

		// A friend sees the same public fields, plus the friendship and a remark.
		servicetest.Befriend(t, db, viewer.ID, target.ID)
		r = ts.doJSON(t, "GET", "/api/v1/users/"+strconv.FormatUint(target.ID, 10), token, nil)
		expectStatus(t, r, http.StatusOK)
		pub = userJSON{}
		decodeStrict(t, r.Body, &pub)
		if !pub.IsFriend || pub.Remark == nil || pub.Username != target.Username {
			t.Errorf("profile of a friend = %s, want is_friend and a remark", r.Body)
		}
		for _, secret := range []string{target.Email, "1999-09-09", "$2a$", "password"} {
			if strings.Contains(string(r.Body), secret) {
				t.Errorf("a friend's profile shows %q: %s", secret, r.Body)
			}
		}

		for _, id := range []string{strconv.FormatUint(inactive.ID, 10), "999999999999", "abc", "0", "-1", "1e3"} {
			r := ts.doJSON(t, "GET", "/api/v1/users/"+id, token, nil)
			expectError(t, r, http.StatusNotFound, "not_found", "")
		}
	})
}
