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

const socketIDKey ctxKey = 100

// WithSocketID returns ctx carrying the id of the socket a request came from, so
// that what it causes is not echoed to that same socket.
func WithSocketID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, socketIDKey, id)
}

// SocketID returns the socket id carried by ctx, or "".
func SocketID(ctx context.Context) string {
	id, _ := ctx.Value(socketIDKey).(string)
	return id
}
