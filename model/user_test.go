package model_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"lechat/model"
)

func TestNormalizeUsername(t *testing.T) {
	tests := []struct {
		in, want string
		err      error
	}{
		{"alice", "alice", nil},
		{"Alice_01", "alice_01", nil},
		{"  bob  ", "bob", nil},
		{"abc", "abc", nil},
		{strings.Repeat("a", 32), strings.Repeat("a", 32), nil},
		{"ab", "", model.ErrInvalid},
		{strings.Repeat("a", 33), "", model.ErrInvalid},
		{"with space", "", model.ErrInvalid},
		{"dash-name", "", model.ErrInvalid},
		{"dot.name", "", model.ErrInvalid},
		{"小明明", "", model.ErrInvalid},
		{"", "", model.ErrInvalid},
		{"a\x00b", "", model.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := model.NormalizeUsername(tt.in)
			if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
				t.Fatalf("NormalizeUsername(%q) error = %v, want kind %v", tt.in, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("NormalizeUsername(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if err != nil && model.Field(err) != "username" {
				t.Errorf("field = %q, want username", model.Field(err))
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"a@example.com", "a@example.com", true},
		{" Alice.B+tag@Example.COM ", "alice.b+tag@example.com", true},
		{"x@sub.domain.cn", "x@sub.domain.cn", true},
		{"", "", false},
		{"plain", "", false},
		{"a@b", "", false},
		{"@example.com", "", false},
		{"a@.example.com", "", false},
		{"a@example.com.", "", false},
		{"a@exa..mple.com", "", false},
		{"Alice <a@example.com>", "", false},
		{"a b@example.com", "", false},
		{"a@example.com\r\nBcc: x@evil.com", "", false},
		{strings.Repeat("a", 250) + "@example.com", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := model.NormalizeEmail(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("NormalizeEmail(%q) error = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && !errors.Is(err, model.ErrInvalid) {
				t.Fatalf("error kind = %v, want invalid_request", err)
			}
			if got != tt.want {
				t.Errorf("NormalizeEmail(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	tests := []struct {
		name, pw string
		ok       bool
	}{
		{"eight", "12345678", true},
		{"seven", "1234567", false},
		{"empty", "", false},
		{"cjk eight characters", "密码密码密码密码", true},
		{"cjk seven characters", "密码密码密码密", false},
		{"72 bytes", strings.Repeat("x", 72), true},
		{"73 bytes", strings.Repeat("x", 73), false},
		{"invalid utf-8", "abcdefgh\xff", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := model.ValidatePassword("password", tt.pw)
			if tt.ok != (err == nil) {
				t.Fatalf("ValidatePassword(%q) = %v, want ok=%v", tt.pw, err, tt.ok)
			}
			if err != nil && (!errors.Is(err, model.ErrInvalid) || model.Field(err) != "password") {
				t.Errorf("error = %v (field %q), want invalid_request on password", err, model.Field(err))
			}
		})
	}
}

func TestCleanLine(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"ascii", "Alice", "Alice", true},
		{"trimmed", "  Bob \t", "Bob", true},
		{"cjk", "小明", "小明", true},
		{"zwj family", "👨‍👩‍👧‍👦", "👨‍👩‍👧‍👦", true},
		{"skin tone", "👍🏽", "👍🏽", true},
		{"flag", "🇨🇳", "🇨🇳", true},
		{"tag sequence flag", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", true},
		{"keycap", "1️⃣", "1️⃣", true},
		{"script tag is text", "<script>alert(1)</script>", "<script>alert(1)</script>", true},
		{"32 emoji", strings.Repeat("😀", 32), strings.Repeat("😀", 32), true},
		{"33 characters", strings.Repeat("字", 33), "", false},
		{"newline", "a\nb", "", false},
		{"nul", "a\x00b", "", false},
		{"escape", "a\x1b[31mb", "", false},
		{"bidi override", "abc\u202Egpj.exe", "", false},
		{"line separator", "a\u2028b", "", false},
		{"invalid utf-8", "a\xffb", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := model.CleanLine(tt.in, "nickname", 32)
			if tt.ok != (err == nil) {
				t.Fatalf("CleanLine(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
			if err != nil && (!errors.Is(err, model.ErrInvalid) || model.Field(err) != "nickname") {
				t.Errorf("error = %v (field %q), want invalid_request on nickname", err, model.Field(err))
			}
			if got != tt.want {
				t.Errorf("CleanLine(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestProfilePatchApply(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	base := model.User{ID: 1, Username: "alice", Nickname: "Alice", Gender: model.GenderFemale,
		Birthday: "1990-05-01", Location: "Beijing", Signature: "hi"}
	tests := []struct {
		name  string
		patch model.ProfilePatch
		field string // "" means valid
		check func(u model.User) error
	}{
		{"nothing", model.ProfilePatch{}, "", func(u model.User) error {
			if u != base {
				return fmt.Errorf("changed: %+v", u)
			}
			return nil
		}},
		{"all fields", model.ProfilePatch{Nickname: ptr(" 小明 👨‍👩‍👧 "), Signature: ptr("今天很开心 😀"),
			Gender: ptr(""), Birthday: ptr("2000-02-29"), Location: ptr("上海"), AvatarURL: ptr("https://cdn.example.com/a.png")}, "",
			func(u model.User) error {
				if u.Nickname != "小明 👨‍👩‍👧" || u.Signature != "今天很开心 😀" || u.Gender != "" ||
					u.Birthday != "2000-02-29" || u.Location != "上海" || u.AvatarURL != "https://cdn.example.com/a.png" {
					return fmt.Errorf("got %+v", u)
				}
				return nil
			}},
		{"clear birthday", model.ProfilePatch{Birthday: ptr("")}, "", func(u model.User) error {
			if u.Birthday != "" {
				return fmt.Errorf("birthday %q", u.Birthday)
			}
			return nil
		}},
		{"local avatar path", model.ProfilePatch{AvatarURL: ptr("/uploads/ab/cd.png")}, "", nil},
		{"bad gender", model.ProfilePatch{Gender: ptr("robot")}, "gender", nil},
		{"birthday format", model.ProfilePatch{Birthday: ptr("22/11/2000")}, "birthday", nil},
		{"birthday impossible", model.ProfilePatch{Birthday: ptr("2001-02-29")}, "birthday", nil},
		{"birthday future", model.ProfilePatch{Birthday: ptr("2026-11-23")}, "birthday", nil},
		{"birthday 1899", model.ProfilePatch{Birthday: ptr("1899-12-31")}, "birthday", nil},
		{"nickname too long", model.ProfilePatch{Nickname: ptr(strings.Repeat("x", 33))}, "nickname", nil},
		{"signature too long", model.ProfilePatch{Signature: ptr(strings.Repeat("x", 141))}, "signature", nil},
		{"location control", model.ProfilePatch{Location: ptr("a\tb")}, "location", nil},
		{"javascript avatar", model.ProfilePatch{AvatarURL: ptr("javascript:alert(1)")}, "avatar_url", nil},
		{"protocol-relative avatar", model.ProfilePatch{AvatarURL: ptr("//evil.example/x.png")}, "avatar_url", nil},
		{"data avatar", model.ProfilePatch{AvatarURL: ptr("data:image/png;base64,AAAA")}, "avatar_url", nil},
		{"avatar with credentials", model.ProfilePatch{AvatarURL: ptr("https://user:pw@example.com/a.png")}, "avatar_url", nil},
		{"relative avatar", model.ProfilePatch{AvatarURL: ptr("a.png")}, "avatar_url", nil},
		{"good field then bad field", model.ProfilePatch{Nickname: ptr("New"), Gender: ptr("x")}, "gender", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := base
			err := tt.patch.Apply(&u, now)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Apply = %v, want ok", err)
				}
				if tt.check != nil {
					if err := tt.check(u); err != nil {
						t.Error(err)
					}
				}
				return
			}
			if !errors.Is(err, model.ErrInvalid) || model.Field(err) != tt.field {
				t.Fatalf("Apply = %v (field %q), want invalid_request on %s", err, model.Field(err), tt.field)
			}
			if u != base {
				t.Errorf("a failed Apply changed the user: %+v", u)
			}
		})
	}
}

func TestUserViews(t *testing.T) {
	act := time.Now()
	u := model.User{ID: 7, Username: "bob", Email: "bob@example.com", PasswordHash: "secret-hash",
		Birthday: "1999-01-01", ActivatedAt: &act}
	p := u.Public()
	if p.Nickname != "bob" {
		t.Errorf("nickname falls back to username: got %q", p.Nickname)
	}
	me := u.Own()
	if me.Nickname != "" {
		t.Errorf("own view shows nickname %q for an unset one", me.Nickname)
	}
	if me.Email != "bob@example.com" || me.Birthday != "1999-01-01" || !me.Activated {
		t.Errorf("own view = %+v", me)
	}
}
