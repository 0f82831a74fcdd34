package model

import "time"

// AuthToken is the server-side record of one issued JWT (one signed-in device). A
// token is accepted only while its row exists unrevoked and unexpired.
type AuthToken struct {
	ID        string `gorm:"primaryKey"` // the JWT's jti
	UserID    uint64
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// ActivationToken is a pending account activation. Only the SHA-256 of the token
// mailed to the user is stored.
type ActivationToken struct {
	ID        uint64 `gorm:"primaryKey"`
	UserID    uint64
	TokenHash string
	ExpiresAt time.Time
	UsedAt    *time.Time
	CreatedAt time.Time
}

// Session is a signed-in request's identity, as established from its token.
type Session struct {
	UserID  uint64
	TokenID string
}

// Mail is one outgoing mail with a plain-text and an HTML part.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
}
