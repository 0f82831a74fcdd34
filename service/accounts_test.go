package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"lechat/model"
	"lechat/service"
	"lechat/service/servicetest"
)

func count(t *testing.T, db *gorm.DB, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Table(table).Where(where, args...).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRegisterRules(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		a, box := servicetest.Accounts(t, db)
		ctx := context.Background()
		taken := servicetest.Unique("taken")
		if _, err := a.Register(ctx, service.RegisterInput{Username: taken, Email: taken + "@example.com",
			Password: "password1"}); err != nil {
			t.Fatal(err)
		}
		fresh := func() string { return servicetest.Unique("r") }
		tests := []struct {
			name  string
			in    func() service.RegisterInput
			kind  error
			field string
		}{
			{"valid", func() service.RegisterInput {
				n := fresh()
				return service.RegisterInput{Username: strings.ToUpper(n), Email: n + "@Example.com", Password: "password1", Nickname: "小明 😀"}
			}, nil, ""},
			{"taken username, other case", func() service.RegisterInput {
				return service.RegisterInput{Username: strings.ToUpper(taken), Email: fresh() + "@example.com", Password: "password1"}
			}, model.ErrConflict, "username"},
			{"taken email, other case", func() service.RegisterInput {
				return service.RegisterInput{Username: fresh(), Email: strings.ToUpper(taken) + "@EXAMPLE.com", Password: "password1"}
			}, model.ErrConflict, "email"},
			{"short username", func() service.RegisterInput {
				return service.RegisterInput{Username: "ab", Email: fresh() + "@example.com", Password: "password1"}
			}, model.ErrInvalid, "username"},
			{"bad email", func() service.RegisterInput {
				return service.RegisterInput{Username: fresh(), Email: "not-an-email", Password: "password1"}
			}, model.ErrInvalid, "email"},
			{"short password", func() service.RegisterInput {
				return service.RegisterInput{Username: fresh(), Email: fresh() + "@example.com", Password: "short"}
			}, model.ErrInvalid, "password"},
			{"control character in nickname", func() service.RegisterInput {
				return service.RegisterInput{Username: fresh(), Email: fresh() + "@example.com", Password: "password1", Nickname: "a\x07b"}
			}, model.ErrInvalid, "nickname"},
		}
		for _, tt := range tests {
			in := tt.in()
			before := count(t, db, "users", "1 = 1")
			u, err := a.Register(ctx, in)
			if tt.kind == nil {
				if err != nil {
					t.Fatalf("%s: Register = %v", tt.name, err)
				}
				if u.Username != strings.ToLower(in.Username) || u.Email != strings.ToLower(in.Email) || u.Active() {
					t.Errorf("%s: stored %+v", tt.name, u)
				}
				if len(box.To(u.Email)) != 1 {
					t.Errorf("%s: %d activation mails, want 1", tt.name, len(box.To(u.Email)))
				}
				continue
			}
			if !errors.Is(err, tt.kind) || model.Field(err) != tt.field {
				t.Errorf("%s: Register = %v (field %q), want %v on %q", tt.name, err, model.Field(err), tt.kind, tt.field)
			}
			// Other tests run in parallel, so count only what this input could have made.
			if n := count(t, db, "users", "username = ? OR email = ?", strings.ToLower(in.Username), strings.ToLower(in.Email)); tt.kind == model.ErrConflict && n != 1 || tt.kind == model.ErrInvalid && n != 0 {
				t.Errorf("%s: %d matching users after a refused registration (before: %d in all)", tt.name, n, before)
			}
		}
	})
}

func TestPasswordAndTokenStoredOnlyAsHashes(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		a, box := servicetest.Accounts(t, db)
		name := servicetest.Unique("h")
		u, err := a.Register(context.Background(), service.RegisterInput{Username: name,
			Email: name + "@example.com", Password: "plain password"})
		if err != nil {
			t.Fatal(err)
		}
		var row model.User
		db.Take(&row, u.ID)
		if !strings.HasPrefix(row.PasswordHash, "$2a$") || strings.Contains(row.PasswordHash, "plain password") {
			t.Errorf("password stored as %q, want a bcrypt hash", row.PasswordHash)
		}
		token := box.ActivationToken(t, u.Email)
		if len(token) < 22 { // 16 bytes of base64 = 128 bits
			t.Errorf("activation token %q is shorter than 128 bits", token)
		}
		var tok model.ActivationToken
		db.Where("user_id = ?", u.ID).Take(&tok)
		sum := sha256.Sum256([]byte(token))
		if tok.TokenHash != hex.EncodeToString(sum[:]) {
			t.Errorf("stored %q, want the SHA-256 of the mailed token", tok.TokenHash)
		}
		if n := count(t, db, "activation_tokens", "token_hash = ?", token); n != 0 {
			t.Error("the raw token is stored")
		}
	})
}

func TestActivation(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		ctx := context.Background()
		register := func(a *service.Accounts) *model.User {
			name := servicetest.Unique("act")
			u, err := a.Register(ctx, service.RegisterInput{Username: name, Email: name + "@example.com", Password: "password1"})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}

		t.Run("single use", func(t *testing.T) {
			a, box := servicetest.Accounts(t, db)
			u := register(a)
			tok := box.ActivationToken(t, u.Email)
			got, err := a.Activate(ctx, tok)
			if err != nil || !got.Active() || got.ID != u.ID {
				t.Fatalf("Activate = %+v, %v", got, err)
			}
			if _, err := a.Activate(ctx, tok); !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "already been used") {
				t.Errorf("second Activate = %v, want invalid (used)", err)
			}
		})

		t.Run("expires after the lifetime", func(t *testing.T) {
			a, box := servicetest.Accounts(t, db)
			u := register(a)
			tok := box.ActivationToken(t, u.Email)
			a.Now = func() time.Time { return time.Now().Add(24*time.Hour + time.Second) }
			if _, err := a.Activate(ctx, tok); !errors.Is(err, model.ErrInvalid) || !strings.Contains(err.Error(), "expired") {
				t.Fatalf("Activate after 24h = %v, want invalid (expired)", err)
			}
			if n := count(t, db, "users", "id = ? AND activated_at IS NULL", u.ID); n != 1 {
				t.Error("an expired token activated the account")
			}
		})

		t.Run("unknown token", func(t *testing.T) {
			a, _ := servicetest.Accounts(t, db)
			for _, tok := range []string{"", "nope", strings.Repeat("x", 129), "' OR 1=1 --"} {
				if _, err := a.Activate(ctx, tok); !errors.Is(err, model.ErrInvalid) {
					t.Errorf("Activate(%q) = %v, want invalid", tok, err)
				}
			}
		})

		t.Run("resend replaces the link, respects the cooldown, tells nothing", func(t *testing.T) {
			a, box := servicetest.Accounts(t, db)
			u := register(a)
			first := box.ActivationToken(t, u.Email)
			if err := a.ResendActivation(ctx, strings.ToUpper(u.Email)); err != nil {
				t.Fatal(err)
			}
			if n := len(box.To(u.Email)); n != 1 {
				t.Fatalf("resend within the cooldown sent a mail (%d mails)", n)
			}
			later := time.Now().Add(2 * time.Minute)
			a.Now = func() time.Time { return later }
			if err := a.ResendActivation(ctx, u.Email); err != nil {
				t.Fatal(err)
			}
			if n := len(box.To(u.Email)); n != 2 {
				t.Fatalf("%d mails after the cooldown, want 2", n)
			}
			second := box.ActivationToken(t, u.Email)
			if second == first {
				t.Fatal("resend mailed the same token")
			}
			if _, err := a.Activate(ctx, first); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("the replaced link still works: %v", err)
			}
			if _, err := a.Activate(ctx, second); err != nil {
				t.Fatalf("the new link: %v", err)
			}
			// Active accounts and unknown addresses get the same silent answer.
			a.Now = func() time.Time { return later.Add(time.Hour) }
			for _, addr := range []string{u.Email, "nobody-" + servicetest.Unique("x") + "@example.com"} {
				if err := a.ResendActivation(ctx, addr); err != nil {
					t.Errorf("ResendActivation(%s) = %v", addr, err)
				}
			}
			if n := len(box.To(u.Email)); n != 2 {
				t.Errorf("an active account got another mail (%d)", n)
			}
			if err := a.ResendActivation(ctx, "not an address"); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("ResendActivation(garbage) = %v, want invalid", err)
			}
		})

		t.Run("concurrent use of one token activates once", func(t *testing.T) {
			a, box := servicetest.Accounts(t, db)
			u := register(a)
			tok := box.ActivationToken(t, u.Email)
			var wg sync.WaitGroup
			results := make(chan error, 8)
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := a.Activate(ctx, tok)
					results <- err
				}()
			}
			wg.Wait()
			close(results)
			ok := 0
			for err := range results {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, model.ErrInvalid):
					t.Errorf("concurrent Activate: %v", err)
				}
			}
			if ok != 1 {
				t.Errorf("%d activations succeeded, want exactly 1", ok)
			}
		})
	})
}

func TestLogin(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		a, box := servicetest.Accounts(t, db)
		ctx := context.Background()
		u, _ := servicetest.ActiveUser(t, a, box)
		name := servicetest.Unique("inactive")
		if _, err := a.Register(ctx, service.RegisterInput{Username: name, Email: name + "@example.com", Password: "password1"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name, login, password string
			kind                  error
		}{
			{"username", u.Username, servicetest.Password, nil},
			{"username upper case", strings.ToUpper(u.Username), servicetest.Password, nil},
			{"email", u.Email, servicetest.Password, nil},
			{"email upper case", " " + strings.ToUpper(u.Email) + " ", servicetest.Password, nil},
			{"wrong password", u.Username, "wrong password", model.ErrUnauthorized},
			{"unknown user", "nobody_" + name, servicetest.Password, model.ErrUnauthorized},
			{"inactive, right password", name, "password1", model.ErrAccountInactive},
			{"inactive, wrong password", name, "wrong password", model.ErrUnauthorized},
			{"empty", "", "", model.ErrInvalid},
			{"huge password", u.Username, strings.Repeat("x", 5000), model.ErrUnauthorized},
		}
		for _, tt := range tests {
			res, err := a.Login(ctx, tt.login, tt.password)
			if tt.kind == nil {
				if err != nil {
					t.Errorf("%s: Login = %v", tt.name, err)
					continue
				}
				if res.User.ID != u.ID || res.Token == "" || !res.ExpiresAt.After(time.Now()) {
					t.Errorf("%s: result %+v", tt.name, res)
				}
				continue
			}
			if !errors.Is(err, tt.kind) {
				t.Errorf("%s: Login = %v, want %v", tt.name, err, tt.kind)
			}
		}
		// Wrong password and unknown user say the same thing.
		_, e1 := a.Login(ctx, u.Username, "wrong password")
		_, e2 := a.Login(ctx, "nobody_"+name, "wrong password")
		if model.ErrorMessage(e1) != model.ErrorMessage(e2) {
			t.Errorf("messages differ: %q vs %q", model.ErrorMessage(e1), model.ErrorMessage(e2))
		}
	})
}

func TestTokens(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		a, box := servicetest.Accounts(t, db)
		ctx := context.Background()
		u, phone := servicetest.ActiveUser(t, a, box)
		pc, err := a.Login(ctx, u.Username, servicetest.Password)
		if err != nil {
			t.Fatal(err)
		}
		tablet, err := a.Login(ctx, u.Username, servicetest.Password)
		if err != nil {
			t.Fatal(err)
		}

		t.Run("logout revokes only its token", func(t *testing.T) {
			if err := a.Logout(servicetest.As(ctx, t, a, phone.Token)); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Authenticate(ctx, phone.Token); !errors.Is(err, model.ErrUnauthorized) {
				t.Errorf("logged-out token: %v", err)
			}
			if _, err := a.Authenticate(ctx, pc.Token); err != nil {
				t.Errorf("other device signed out too: %v", err)
			}
		})

		t.Run("password change revokes every other token", func(t *testing.T) {
			pcCtx := servicetest.As(ctx, t, a, pc.Token)
			if err := a.ChangePassword(pcCtx, "wrong old password", "new password 1"); !errors.Is(err, model.ErrForbidden) {
				t.Fatalf("wrong old password: %v", err)
			}
			if err := a.ChangePassword(pcCtx, servicetest.Password, "short"); !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("short new password: %v", err)
			}
			if _, err := a.Authenticate(ctx, tablet.Token); err != nil {
				t.Fatalf("a refused change revoked tokens: %v", err)
			}
			if err := a.ChangePassword(pcCtx, servicetest.Password, "new password 1"); err != nil {
				t.Fatal(err)
			}
			if _, err := a.Authenticate(ctx, tablet.Token); !errors.Is(err, model.ErrUnauthorized) {
				t.Errorf("other token after password change: %v", err)
			}
			if _, err := a.Authenticate(ctx, pc.Token); err != nil {
				t.Errorf("current token after password change: %v", err)
			}
			if _, err := a.Login(ctx, u.Username, servicetest.Password); !errors.Is(err, model.ErrUnauthorized) {
				t.Errorf("old password still works: %v", err)
			}
			if _, err := a.Login(ctx, u.Username, "new password 1"); err != nil {
				t.Errorf("new password: %v", err)
			}
		})

		t.Run("bad tokens", func(t *testing.T) {
			other, _ := servicetest.Accounts(t, db)
			otherSecret, err := service.NewAccounts(db, service.AccountsConfig{JWTSecret: "another secret",
				TokenTTL: time.Hour, ActivationTTL: time.Hour, BcryptCost: 4, PublicURL: "http://x"}, box, servicetest.Logger())
			if err != nil {
				t.Fatal(err)
			}
			forged, err := otherSecret.Login(ctx, u.Username, "new password 1")
			if err != nil {
				t.Fatal(err)
			}
			expired := func() string {
				old, _ := servicetest.Accounts(t, db)
				old.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) }
				res, err := old.Login(ctx, u.Username, "new password 1")
				if err != nil {
					t.Fatal(err)
				}
				return res.Token
			}()
			parts := strings.Split(pc.Token, ".")
			for name, tok := range map[string]string{
				"empty":             "",
				"garbage":           "garbage",
				"three dots":        "a.b.c",
				"other secret":      forged.Token,
				"expired":           expired,
				"alg none":          "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".",
				"tampered payload":  parts[0] + "." + parts[1] + "x." + parts[2],
				"huge":              strings.Repeat("a", 5000),
				"signed, no record": forged.Token,
			} {
				if _, err := other.Authenticate(ctx, tok); !errors.Is(err, model.ErrUnauthorized) {
					t.Errorf("%s token: %v, want unauthorized", name, err)
				}
			}
		})
	})
}

func TestProfileRoundTrip(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		a, box := servicetest.Accounts(t, db)
		ctx := context.Background()
		u, res := servicetest.ActiveUser(t, a, box)
		me := servicetest.As(ctx, t, a, res.Token)
		nick := "小明 👨‍👩‍👧‍👦🇨🇳👍🏽🏴󠁧󠁢󠁳󠁣󠁴󠁿"
		sig := "𠮷野家 🍜 <script>alert(1)</script> 한국어 العربية"
		loc := "北京市 🏙️"
		_, err := a.UpdateProfile(me, model.ProfilePatch{Nickname: &nick, Signature: &sig, Location: &loc})
		if err != nil {
			t.Fatal(err)
		}
		var row model.User
		if err := db.Take(&row, u.ID).Error; err != nil {
			t.Fatal(err)
		}
		if row.Nickname != nick || row.Signature != sig || row.Location != loc {
			t.Errorf("stored %q / %q / %q, want %q / %q / %q", row.Nickname, row.Signature, row.Location, nick, sig, loc)
		}
		bad := "robot"
		if _, err := a.UpdateProfile(me, model.ProfilePatch{Nickname: new(string), Gender: &bad}); !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("bad gender: %v", err)
		}
		got, err := a.Me(me)
		if err != nil || got.Nickname != nick {
			t.Errorf("a refused patch changed the profile: %+v, %v", got, err)
		}
	})
}

func TestSearchUsers(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		a, box := servicetest.Accounts(t, db)
		ctx := context.Background()
		_, res := servicetest.ActiveUser(t, a, box)
		me := servicetest.As(ctx, t, a, res.Token)
		tag := servicetest.Unique("srch")
		var ids []uint64
		for i := range 5 {
			u, r := servicetest.ActiveUser(t, a, box)
			nick := tag + " 熊猫 " + string(rune('a'+i))
			if _, err := a.UpdateProfile(servicetest.As(ctx, t, a, r.Token), model.ProfilePatch{Nickname: &nick}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		var got []uint64
		page := service.PageRequest{Limit: 2}
		for i := 0; ; i++ {
			p, err := a.SearchUsers(me, tag, page)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range p.Items {
				got = append(got, u.ID)
			}
			if p.NextCursor == "" {
				break
			}
			if i > 5 {
				t.Fatal("paging does not end")
			}
			page.Cursor = p.NextCursor
		}
		if len(got) != len(ids) {
			t.Fatalf("found %v, want %v", got, ids)
		}
		for i := range ids {
			if got[i] != ids[i] {
				t.Fatalf("found %v, want %v in id order", got, ids)
			}
		}
		for _, q := range []string{"%", "_", tag[:3] + "%"} {
			p, err := a.SearchUsers(me, q, service.PageRequest{})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range p.Items {
				if !strings.Contains(u.Nickname, q) && !strings.HasPrefix(u.Username, q) {
					t.Errorf("q=%q matched %q / %q: LIKE wildcards are not escaped", q, u.Username, u.Nickname)
				}
			}
		}
		for _, bad := range []service.PageRequest{{Limit: -1}, {Limit: 101}, {Cursor: "abc"}} {
			if _, err := a.SearchUsers(me, tag, bad); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("page %+v: %v, want invalid", bad, err)
			}
		}
		if _, err := a.SearchUsers(me, "  ", service.PageRequest{}); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("empty q: %v", err)
		}
	})
}

func TestConcurrentRegistrationOfOneName(t *testing.T) {
	servicetest.ForEachDB(t, func(t *testing.T, db *gorm.DB) {
		t.Parallel()
		a, _ := servicetest.Accounts(t, db)
		name := servicetest.Unique("race")
		var wg sync.WaitGroup
		errs := make(chan error, 6)
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := a.Register(context.Background(), service.RegisterInput{Username: name,
					Email: servicetest.Unique("m") + string(rune('a'+i)) + "@example.com", Password: "password1"})
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, model.ErrConflict):
				t.Errorf("concurrent Register: %v", err)
			}
		}
		if ok != 1 || count(t, db, "users", "username = ?", name) != 1 {
			t.Errorf("%d registrations of one name succeeded, want exactly 1", ok)
		}
	})
}
