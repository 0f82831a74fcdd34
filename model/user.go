package model

import (
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on account fields, in characters (code points).
const (
	UsernameMinLen  = 3
	UsernameMaxLen  = 32
	EmailMaxLen     = 254
	PasswordMinLen  = 8
	PasswordMaxLen  = 72 // bytes: bcrypt reads no further
	NicknameMaxLen  = 32
	SignatureMaxLen = 140
	LocationMaxLen  = 64
	URLMaxLen       = 512
)

// Gender values; "" means not given.
const (
	GenderUnset  = ""
	GenderMale   = "male"
	GenderFemale = "female"
	GenderOther  = "other"
)

// User is an account. Username and Email are stored lower-case.
type User struct {
	ID           uint64 `gorm:"primaryKey"`
	Username     string
	Email        string
	PasswordHash string
	Nickname     string
	AvatarURL    string
	Signature    string
	Gender       string
	Birthday     string // YYYY-MM-DD or ""
	Location     string
	ActivatedAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Active reports whether the account has been activated from its mail.
func (u *User) Active() bool { return u.ActivatedAt != nil }

// DisplayName is the nickname, or the username when there is none.
func (u *User) DisplayName() string {
	if u.Nickname != "" {
		return u.Nickname
	}
	return u.Username
}

// PublicUser is what any signed-in user may see of another.
type PublicUser struct {
	ID        uint64 `json:"id"`
	Username  string `json:"username"`
	Nickname  string `json:"nickname"`
	AvatarURL string `json:"avatar_url"`
	Signature string `json:"signature"`
	Gender    string `json:"gender"`
	Location  string `json:"location"`
}

// Public returns the public view of u.
func (u *User) Public() PublicUser {
	return PublicUser{ID: u.ID, Username: u.Username, Nickname: u.DisplayName(),
		AvatarURL: u.AvatarURL, Signature: u.Signature, Gender: u.Gender, Location: u.Location}
}

// UserProfile is another user as the viewer sees them: the public fields, and
// whether they are friends, with the viewer's private remark if so.
type UserProfile struct {
	PublicUser
	IsFriend bool    `json:"is_friend"`
	Remark   *string `json:"remark,omitempty"`
}

// Me is what users see of their own account.
type Me struct {
	PublicUser
	Email     string    `json:"email"`
	Birthday  string    `json:"birthday"`
	Activated bool      `json:"activated"`
	CreatedAt time.Time `json:"created_at"`
}

// Own returns the owner's view of u. Unlike Public, Nickname is what is stored,
// "" included, so that a profile form edits the real value.
func (u *User) Own() Me {
	me := Me{PublicUser: u.Public(), Email: u.Email, Birthday: u.Birthday,
		Activated: u.Active(), CreatedAt: u.CreatedAt.UTC()}
	me.Nickname = u.Nickname
	return me
}

// NormalizeUsername lower-cases name and checks it is 3–32 of [a-z0-9_].
// Returns ErrInvalid.
func NormalizeUsername(name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if len(name) < UsernameMinLen || len(name) > UsernameMaxLen {
		return "", FieldErrorf(ErrInvalid, "username", "username must be %d to %d characters", UsernameMinLen, UsernameMaxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return "", FieldErrorf(ErrInvalid, "username", "username may only contain a-z, 0-9 and _")
		}
	}
	return name, nil
}

// NormalizeEmail lower-cases addr and checks it is a plain address (no display
// name) with a dotted domain. Returns ErrInvalid.
func NormalizeEmail(addr string) (string, error) {
	addr = strings.ToLower(strings.TrimSpace(addr))
	bad := FieldErrorf(ErrInvalid, "email", "email is not a valid address")
	if addr == "" || len(addr) > EmailMaxLen || !utf8.ValidString(addr) {
		return "", bad
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Address != addr || parsed.Name != "" {
		return "", bad
	}
	at := strings.LastIndexByte(addr, '@')
	domain := addr[at+1:]
	if at < 1 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return "", bad
	}
	return addr, nil
}

// ValidatePassword checks the length rules of a new password. Returns ErrInvalid.
func ValidatePassword(field, pw string) error {
	if utf8.RuneCountInString(pw) < PasswordMinLen {
		return FieldErrorf(ErrInvalid, field, "password must be at least %d characters", PasswordMinLen)
	}
	if len(pw) > PasswordMaxLen {
		return FieldErrorf(ErrInvalid, field, "password must be at most %d bytes", PasswordMaxLen)
	}
	if !utf8.ValidString(pw) {
		return FieldErrorf(ErrInvalid, field, "password is not valid UTF-8")
	}
	return nil
}

// ProfilePatch holds the fields of PATCH /me; nil means unchanged.
type ProfilePatch struct {
	Nickname  *string `json:"nickname"`
	Signature *string `json:"signature"`
	Gender    *string `json:"gender"`
	Birthday  *string `json:"birthday"`
	Location  *string `json:"location"`
	AvatarURL *string `json:"avatar_url"`
}

// Apply validates p and writes its fields into u. Returns ErrInvalid; u is left
// unchanged on error. now bounds the birthday.
func (p ProfilePatch) Apply(u *User, now time.Time) error {
	next := *u
	var err error
	if p.Nickname != nil {
		if next.Nickname, err = CleanLine(*p.Nickname, "nickname", NicknameMaxLen); err != nil {
			return err
		}
	}
	if p.Signature != nil {
		if next.Signature, err = CleanLine(*p.Signature, "signature", SignatureMaxLen); err != nil {
			return err
		}
	}
	if p.Location != nil {
		if next.Location, err = CleanLine(*p.Location, "location", LocationMaxLen); err != nil {
			return err
		}
	}
	if p.Gender != nil {
		switch g := *p.Gender; g {
		case GenderUnset, GenderMale, GenderFemale, GenderOther:
			next.Gender = g
		default:
			return FieldErrorf(ErrInvalid, "gender", "gender must be one of \"\", male, female, other")
		}
	}
	if p.Birthday != nil {
		if next.Birthday, err = ValidateBirthday(*p.Birthday, now); err != nil {
			return err
		}
	}
	if p.AvatarURL != nil {
		if next.AvatarURL, err = ValidateImageURL("avatar_url", *p.AvatarURL); err != nil {
			return err
		}
	}
	*u = next
	return nil
}

// ValidateBirthday accepts "" or a YYYY-MM-DD date between 1900-01-01 and now.
func ValidateBirthday(s string, now time.Time) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return "", FieldErrorf(ErrInvalid, "birthday", "birthday must be a date written YYYY-MM-DD")
	}
	if d.Year() < 1900 || d.After(now) {
		return "", FieldErrorf(ErrInvalid, "birthday", "birthday must lie between 1900 and today")
	}
	return d.Format(time.DateOnly), nil
}

// ValidateImageURL accepts "" , a path on this server ("/…", not "//…") or an
// absolute http(s) URL, at most URLMaxLen long.
func ValidateImageURL(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	bad := FieldErrorf(ErrInvalid, field, "%s must be an http(s) URL or a path on this server", field)
	if len(s) > URLMaxLen || !utf8.ValidString(s) {
		return "", bad
	}
	u, err := url.Parse(s)
	if err != nil || strings.ContainsAny(s, " \t\r\n\\") {
		return "", bad
	}
	switch {
	case u.Scheme == "" && u.Host == "" && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//"):
	case (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil:
	default:
		return "", bad
	}
	return s, nil
}
