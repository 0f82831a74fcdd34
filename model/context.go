package model

import "context"

type ctxKey int

const (
	userIDKey ctxKey = iota
	tokenIDKey
)

// WithUserID returns ctx carrying the signed-in user's id.
func WithUserID(ctx context.Context, id uint64) context.Context {
	return context.WithValue(ctx, userIDKey, id)
}

// UserID returns the signed-in user's id carried by ctx, or 0.
func UserID(ctx context.Context) uint64 {
	id, _ := ctx.Value(userIDKey).(uint64)
	return id
}

// WithTokenID returns ctx carrying the id (jti) of the token the request came with.
func WithTokenID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, tokenIDKey, id)
}

// TokenID returns the token id carried by ctx, or "".
func TokenID(ctx context.Context) string {
	id, _ := ctx.Value(tokenIDKey).(string)
	return id
}
