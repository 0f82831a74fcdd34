package servicetest

import (
	"context"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"lechat/model"
	"lechat/service"
)

// Secret is the JWT secret of test services.
const Secret = "test-secret-0123456789abcdef0123456789"

// Mailbox is a Mailer that keeps what it is given, for tests.
type Mailbox struct {
	mu    sync.Mutex
	mails []model.Mail
}

var _ service.Mailer = (*Mailbox)(nil)

// Send keeps m.
func (b *Mailbox) Send(_ context.Context, m model.Mail) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mails = append(b.mails, m)
	return nil
}

// To returns the mails sent to addr, oldest first.
func (b *Mailbox) To(addr string) []model.Mail {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []model.Mail
	for _, m := range b.mails {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

var tokenRE = regexp.MustCompile(`/activate\?token=([A-Za-z0-9_-]+)`)

// ActivationToken returns the token in the link of the newest mail to addr.
func (b *Mailbox) ActivationToken(t testing.TB, addr string) string {
	t.Helper()
	mails := b.To(addr)
	if len(mails) == 0 {
		t.Fatalf("no mail to %s", addr)
	}
	m := tokenRE.FindStringSubmatch(mails[len(mails)-1].Text)
	if m == nil {
		t.Fatalf("no activation link in the mail to %s:\n%s", addr, mails[len(mails)-1].Text)
	}
	return m[1]
}

// Accounts returns an accounts service on db with fast hashing and a Mailbox.
func Accounts(t testing.TB, db *gorm.DB) (*service.Accounts, *Mailbox) {
	t.Helper()
	box := &Mailbox{}
	a, err := service.NewAccounts(db, service.AccountsConfig{
		JWTSecret:      Secret,
		TokenTTL:       time.Hour,
		ActivationTTL:  24 * time.Hour,
		ResendCooldown: time.Minute,
		BcryptCost:     bcrypt.MinCost,
		PublicURL:      "http://lechat.test",
	}, box, Logger())
	if err != nil {
		t.Fatal(err)
	}
	return a, box
}

// Password is the password of users made by ActiveUser.
const Password = "correct horse battery"

// ActiveUser registers a user with a unique name, activates it and logs it in.
func ActiveUser(t testing.TB, a *service.Accounts, box *Mailbox) (*model.User, *service.LoginResult) {
	t.Helper()
	ctx := context.Background()
	name := Unique("u")
	u, err := a.Register(ctx, service.RegisterInput{Username: name, Email: name + "@example.com",
		Password: Password, Nickname: "Nick " + name})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	if u, err = a.Activate(ctx, box.ActivationToken(t, u.Email)); err != nil {
		t.Fatalf("activate %s: %v", name, err)
	}
	res, err := a.Login(ctx, name, Password)
	if err != nil {
		t.Fatalf("login %s: %v", name, err)
	}
	return u, res
}

// As returns ctx signed in as the holder of res.
func As(ctx context.Context, t testing.TB, a *service.Accounts, token string) context.Context {
	t.Helper()
	sess, err := a.Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return model.WithTokenID(model.WithUserID(ctx, sess.UserID), sess.TokenID)
}

// Befriend stores a friendship between a and b directly, as a fixture for tests of
// what friends may do; the friends service's own tests go through requests.
func Befriend(t testing.TB, db *gorm.DB, a, b uint64) {
	t.Helper()
	now := time.Now().UTC()
	rows := []model.Friendship{{UserID: a, FriendID: b, CreatedAt: now}, {UserID: b, FriendID: a, CreatedAt: now}}
	if err := db.Create(&rows).Error; err != nil {
		t.Fatalf("befriend %d and %d: %v", a, b, err)
	}
}

// Recorder is a Notifier that keeps every event with its recipients, for tests.
type Recorder struct {
	mu     sync.Mutex
	events []Published
}

// Published is one event and who it went to.
type Published struct {
	To    []uint64
	Event model.Event
}

// Publish keeps ev.
func (r *Recorder) Publish(_ context.Context, to []uint64, ev model.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, Published{To: slices.Clone(to), Event: ev})
}

// Events returns the events of type typ published so far, oldest first ("" for all).
func (r *Recorder) Events(typ string) []Published {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Published
	for _, p := range r.events {
		if typ == "" || p.Event.Type == typ {
			out = append(out, p)
		}
	}
	return out
}

// Reset forgets what was published.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}
