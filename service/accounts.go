package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm"

	"lechat/model"
)

// DevJWTSecret is the secret used when none is configured. It is public, so a
// production start refuses it.
const DevJWTSecret = "lechat-dev-secret-do-not-use-in-production"

const jwtIssuer = "lechat"

// AccountsConfig holds the rules of sign-up and sign-in.
type AccountsConfig struct {
	JWTSecret      string
	TokenTTL       time.Duration // lifetime of a login token
	ActivationTTL  time.Duration // lifetime of an activation link
	ResendCooldown time.Duration // at most one activation mail per address in this time
	BcryptCost     int
	PublicURL      string // base of the links in mails, without a trailing slash
}

// Accounts registers, activates and signs in users, and keeps their profiles.
type Accounts struct {
	db     *gorm.DB
	cfg    AccountsConfig
	log    *slog.Logger
	Mailer Mailer
	// Notifier hears of revoked tokens, so that their open sockets close.
	Notifier Notifier
	// Images, when set, requires avatars to be this server's uploads.
	Images Images
	// Now is the clock; tests replace it.
	Now func() time.Time

	dummyHash []byte // compared against when a login names nobody, so timing tells nothing
}

// NewAccounts returns the accounts service. mailer receives the activation mails.
func NewAccounts(db *gorm.DB, cfg AccountsConfig, mailer Mailer, log *slog.Logger) (*Accounts, error) {
	if cfg.JWTSecret == "" {
		return nil, errors.New("jwt secret is empty")
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.DefaultCost
	}
	if cfg.TokenTTL <= 0 || cfg.ActivationTTL <= 0 {
		return nil, errors.New("token and activation lifetimes must be positive")
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	dummy, err := bcrypt.GenerateFromPassword([]byte("not a password of anyone"), cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("bcrypt cost %d: %w", cfg.BcryptCost, err)
	}
	return &Accounts{db: db, cfg: cfg, log: log, Mailer: mailer, Notifier: NopNotifier{}, Now: time.Now,
		dummyHash: dummy}, nil
}

func (s *Accounts) now() time.Time { return s.Now().UTC().Truncate(time.Millisecond) }

// RegisterInput is the body of POST /auth/register.
type RegisterInput struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Password string `json:"password"`
	Nickname string `json:"nickname"`
}

// Register creates an inactive account and mails its activation link. A mail that
// cannot be sent is logged, not returned: the user can ask for it again.
// Returns ErrInvalid, or ErrConflict (with Field "username" or "email").
func (s *Accounts) Register(ctx context.Context, in RegisterInput) (*model.User, error) {
	username, err := model.NormalizeUsername(in.Username)
	if err != nil {
		return nil, err
	}
	email, err := model.NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if err := model.ValidatePassword("password", in.Password); err != nil {
		return nil, err
	}
	nickname, err := model.CleanLine(in.Nickname, "nickname", model.NicknameMaxLen)
	if err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(in.Password), s.cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	u := &model.User{Username: username, Email: email, PasswordHash: string(hash),
		Nickname: nickname, CreatedAt: now, UpdatedAt: now}
	var token string
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := checkFree(tx, "username", username); err != nil {
			return err
		}
		if err := checkFree(tx, "email", email); err != nil {
			return err
		}
		if err := tx.Create(u).Error; err != nil {
			if err = dbErr(err); errors.Is(err, model.ErrConflict) {
				return model.Errorf(model.ErrConflict, "this username or email is already taken")
			}
			return fmt.Errorf("insert user: %w", err)
		}
		token, err = s.newActivationToken(tx, u.ID, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.sendActivation(ctx, u, token)
	return u, nil
}

// checkFree returns ErrConflict when a user already has value in column.
func checkFree(tx *gorm.DB, column, value string) error {
	var n int64
	if err := tx.Model(&model.User{}).Where(column+" = ?", value).Count(&n).Error; err != nil {
		return fmt.Errorf("check %s: %w", column, err)
	}
	if n > 0 {
		return model.FieldErrorf(model.ErrConflict, column, "this %s is already taken", column)
	}
	return nil
}

// newActivationToken stores the hash of a fresh random token for userID and returns
// the token, which only the mail will carry.
func (s *Accounts) newActivationToken(tx *gorm.DB, userID uint64, now time.Time) (string, error) {
	token, err := randomToken(32)
	if err != nil {
		return "", err
	}
	row := &model.ActivationToken{UserID: userID, TokenHash: hashToken(token),
		ExpiresAt: now.Add(s.cfg.ActivationTTL), CreatedAt: now}
	if err := tx.Create(row).Error; err != nil {
		return "", fmt.Errorf("insert activation token: %w", err)
	}
	return token, nil
}

// sendActivation mails u the link for token; failures are logged.
func (s *Accounts) sendActivation(ctx context.Context, u *model.User, token string) {
	link := s.cfg.PublicURL + "/activate?token=" + token
	m, err := activationMail(u, link, int(s.cfg.ActivationTTL/time.Hour))
	if err == nil {
		err = s.Mailer.Send(context.WithoutCancel(ctx), m)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "activation mail not sent", "user_id", u.ID, "err", err)
	}
}

// Activate uses an activation token: the account becomes active and the token
// can never be used again. Returns ErrInvalid for an unknown, used or expired token.
func (s *Accounts) Activate(ctx context.Context, token string) (*model.User, error) {
	if token == "" || len(token) > 128 {
		return nil, model.FieldErrorf(model.ErrInvalid, "token", "this activation link is not valid")
	}
	now := s.now()
	var u model.User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row model.ActivationToken
		err := tx.Where("token_hash = ?", hashToken(token)).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return model.FieldErrorf(model.ErrInvalid, "token", "this activation link is not valid")
		} else if err != nil {
			return fmt.Errorf("find activation token: %w", err)
		}
		if row.UsedAt != nil {
			return model.FieldErrorf(model.ErrInvalid, "token", "this activation link has already been used")
		}
		if !now.Before(row.ExpiresAt) {
			return model.FieldErrorf(model.ErrInvalid, "token", "this activation link has expired; ask for a new one")
		}
		res := tx.Model(&model.ActivationToken{}).Where("id = ? AND used_at IS NULL", row.ID).Update("used_at", now)
		if res.Error != nil {
			return fmt.Errorf("use activation token: %w", res.Error)
		}
		if res.RowsAffected != 1 { // used by a concurrent request
			return model.FieldErrorf(model.ErrInvalid, "token", "this activation link has already been used")
		}
		if err := tx.Model(&model.User{}).Where("id = ? AND activated_at IS NULL", row.UserID).
			Updates(map[string]any{"activated_at": now, "updated_at": now}).Error; err != nil {
			return fmt.Errorf("activate user: %w", err)
		}
		return dbErr(tx.Take(&u, row.UserID).Error)
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// ResendActivation mails a new activation link to email when it belongs to an
// inactive account and none was sent within the cooldown; older links stop
// working. It says nothing about whether the address exists: only an address that
// is not an address at all gets ErrInvalid.
func (s *Accounts) ResendActivation(ctx context.Context, email string) error {
	email, err := model.NormalizeEmail(email)
	if err != nil {
		return err
	}
	now := s.now()
	var u model.User
	var token string
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Where("email = ?", email).Take(&u).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("find user: %w", err)
		}
		if u.Active() {
			return nil
		}
		var recent int64
		if err := tx.Model(&model.ActivationToken{}).
			Where("user_id = ? AND created_at > ?", u.ID, now.Add(-s.cfg.ResendCooldown)).
			Count(&recent).Error; err != nil {
			return fmt.Errorf("count activation tokens: %w", err)
		}
		if recent > 0 {
			return nil
		}
		if err := tx.Where("user_id = ? AND used_at IS NULL", u.ID).
			Delete(&model.ActivationToken{}).Error; err != nil {
			return fmt.Errorf("drop old activation tokens: %w", err)
		}
		token, err = s.newActivationToken(tx, u.ID, now)
		return err
	})
	if err != nil {
		return err
	}
	if token != "" {
		s.sendActivation(ctx, &u, token)
	}
	return nil
}

// LoginResult is the answer to a successful login.
type LoginResult struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	User      model.Me  `json:"user"`
}

// Login checks a username or email and its password and issues a token for one
// device. Returns ErrInvalid, ErrUnauthorized for wrong credentials (whichever part
// was wrong), or ErrAccountInactive once the password was right.
func (s *Accounts) Login(ctx context.Context, login, password string) (*LoginResult, error) {
	login = strings.ToLower(strings.TrimSpace(login))
	if login == "" || password == "" {
		return nil, model.Errorf(model.ErrInvalid, "login and password are required")
	}
	if len(login) > model.EmailMaxLen || len(password) > 1024 {
		return nil, model.Errorf(model.ErrUnauthorized, "wrong username, email or password")
	}
	column := "username"
	if strings.Contains(login, "@") {
		column = "email"
	}
	var u model.User
	err := s.db.WithContext(ctx).Where(column+" = ?", login).Take(&u).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, fmt.Errorf("find user: %w", err)
	}
	hash := []byte(u.PasswordHash)
	if u.ID == 0 {
		hash = s.dummyHash
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil || u.ID == 0 {
		return nil, model.Errorf(model.ErrUnauthorized, "wrong username, email or password")
	}
	if !u.Active() {
		return nil, model.Errorf(model.ErrAccountInactive, "this account is not activated yet: open the link in the activation mail")
	}
	token, expires, err := s.issueToken(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &LoginResult{Token: token, ExpiresAt: expires, User: u.Own()}, nil
}

type claims struct {
	jwt.RegisteredClaims
}

// issueToken records a new token for userID (dropping the user's expired ones)
// and returns it signed.
func (s *Accounts) issueToken(ctx context.Context, userID uint64) (string, time.Time, error) {
	now := s.now()
	jti, err := randomHex(16)
	if err != nil {
		return "", time.Time{}, err
	}
	expires := now.Add(s.cfg.TokenTTL)
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("user_id = ? AND expires_at <= ?", userID, now).
			Delete(&model.AuthToken{}).Error; err != nil {
			return fmt.Errorf("drop expired tokens: %w", err)
		}
		return tx.Create(&model.AuthToken{ID: jti, UserID: userID, CreatedAt: now, ExpiresAt: expires}).Error
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("record token: %w", err)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims{jwt.RegisteredClaims{
		Issuer:    jwtIssuer,
		Subject:   strconv.FormatUint(userID, 10),
		ID:        jti,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(expires),
	}})
	signed, err := tok.SignedString([]byte(s.cfg.JWTSecret))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign token: %w", err)
	}
	return signed, expires, nil
}

// Authenticate checks a token: signature, expiry, and that it was not revoked
// (logout, password change). Returns the session or ErrUnauthorized.
func (s *Accounts) Authenticate(ctx context.Context, token string) (model.Session, error) {
	unauthorized := model.Errorf(model.ErrUnauthorized, "sign in again: the token is missing, invalid, expired or revoked")
	if token == "" || len(token) > 2048 {
		return model.Session{}, unauthorized
	}
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) {
		return []byte(s.cfg.JWTSecret), nil
	}, jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(jwtIssuer),
		jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.Now))
	if err != nil {
		return model.Session{}, unauthorized
	}
	uid, err := strconv.ParseUint(c.Subject, 10, 64)
	if err != nil || c.ID == "" {
		return model.Session{}, unauthorized
	}
	var n int64
	err = s.db.WithContext(ctx).Model(&model.AuthToken{}).
		Where("id = ? AND user_id = ? AND revoked_at IS NULL AND expires_at > ?", c.ID, uid, s.now()).
		Count(&n).Error
	if err != nil {
		return model.Session{}, fmt.Errorf("check token: %w", err)
	}
	if n == 0 {
		return model.Session{}, unauthorized
	}
	return model.Session{UserID: uid, TokenID: c.ID}, nil
}

// Logout revokes the token of ctx; the user's other devices stay signed in.
func (s *Accounts) Logout(ctx context.Context) error {
	err := s.db.WithContext(ctx).Model(&model.AuthToken{}).
		Where("id = ? AND user_id = ? AND revoked_at IS NULL", model.TokenID(ctx), model.UserID(ctx)).
		Update("revoked_at", s.now()).Error
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	s.Notifier.Publish(ctx, []uint64{model.UserID(ctx)}, model.Event{Type: model.EventSessionRevoked,
		Data: model.RevokedTokens{TokenIDs: []string{model.TokenID(ctx)}}})
	return nil
}

// Me returns the signed-in user. Returns ErrNotFound if the account is gone.
func (s *Accounts) Me(ctx context.Context) (*model.User, error) {
	var u model.User
	if err := s.db.WithContext(ctx).Take(&u, model.UserID(ctx)).Error; err != nil {
		return nil, dbErr(err)
	}
	return &u, nil
}

// UpdateProfile applies p to the signed-in user's profile. Returns ErrInvalid.
func (s *Accounts) UpdateProfile(ctx context.Context, p model.ProfilePatch) (*model.User, error) {
	if p.AvatarURL != nil {
		url, err := model.ValidateImageURL("avatar_url", *p.AvatarURL)
		if err != nil {
			return nil, err
		}
		if err := checkAvatar(ctx, s.Images, &url); err != nil {
			return nil, err
		}
	}
	var u model.User
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Take(&u, model.UserID(ctx)).Error; err != nil {
			return dbErr(err)
		}
		if err := p.Apply(&u, s.now()); err != nil {
			return err
		}
		u.UpdatedAt = s.now()
		return tx.Model(&u).Select("nickname", "signature", "gender", "birthday", "location",
			"avatar_url", "updated_at").Updates(&u).Error
	})
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// ChangePassword replaces the signed-in user's password after checking the old one,
// and revokes every other token of the user; the current one stays valid.
// Returns ErrInvalid, or ErrForbidden when the old password is wrong.
func (s *Accounts) ChangePassword(ctx context.Context, oldPassword, newPassword string) error {
	if oldPassword == "" {
		return model.FieldErrorf(model.ErrInvalid, "old_password", "old_password is required")
	}
	if err := model.ValidatePassword("new_password", newPassword); err != nil {
		return err
	}
	uid := model.UserID(ctx)
	var u model.User
	if err := s.db.WithContext(ctx).Take(&u, uid).Error; err != nil {
		return dbErr(err)
	}
	if len(oldPassword) > 1024 || bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(oldPassword)) != nil {
		return model.FieldErrorf(model.ErrForbidden, "old_password", "the old password is wrong")
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(newPassword), s.cfg.BcryptCost)
	if err != nil {
		return fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&model.User{}).Where("id = ?", uid).
			Updates(map[string]any{"password_hash": string(hash), "updated_at": now}).Error; err != nil {
			return fmt.Errorf("store password: %w", err)
		}
		if err := tx.Model(&model.AuthToken{}).
			Where("user_id = ? AND id <> ? AND revoked_at IS NULL", uid, model.TokenID(ctx)).
			Update("revoked_at", now).Error; err != nil {
			return fmt.Errorf("revoke tokens: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.Notifier.Publish(ctx, []uint64{uid}, model.Event{Type: model.EventSessionRevoked,
		Data: model.RevokedTokens{AllBut: model.TokenID(ctx)}})
	return nil
}

// randomToken returns n random bytes, base64url without padding.
func randomToken(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random: %w", err)
	}
	return hex.EncodeToString(b), nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
