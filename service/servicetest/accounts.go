package servicetest

import (
	"context"
	"regexp"
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
