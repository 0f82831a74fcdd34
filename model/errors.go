// Package model holds LeChat's domain types, their validation rules and the error
// kinds that every transport maps to its wire form.
package model

import (
	"errors"
	"fmt"
)

// Error kinds: one for each error code of the API contract; the text is the code.
var (
	ErrInvalid         = errors.New("invalid_request")
	ErrUnauthorized    = errors.New("unauthorized") // no or bad credentials
	ErrForbidden       = errors.New("forbidden")    // signed in, not allowed
	ErrNotFound        = errors.New("not_found")
	ErrConflict        = errors.New("conflict")
	ErrAccountInactive = errors.New("account_inactive")
	ErrRateLimited     = errors.New("rate_limited")
	ErrTooLarge        = errors.New("payload_too_large")
	ErrMediaType       = errors.New("unsupported_media_type")
	ErrUnavailable     = errors.New("unavailable") // a dependency is down; retry
)

// kinds lists every kind, for Code.
var kinds = []error{ErrInvalid, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrConflict,
	ErrAccountInactive, ErrRateLimited, ErrTooLarge, ErrMediaType, ErrUnavailable}

// Error pairs a kind with a message that is safe to show to users. Field, when set,
// names the request field the error is about.
type Error struct {
	Kind  error
	Msg   string
	Field string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

// Errorf returns an *Error of the given kind with a formatted, user-safe message.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// FieldErrorf is Errorf for a problem with one named request field.
func FieldErrorf(kind error, field, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...), Field: field}
}

// Code returns the code of the kind err unwraps to, or "internal".
func Code(err error) string {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return k.Error()
		}
	}
	return "internal"
}

// ErrorMessage returns the user-safe message of err, or "internal error" when err carries
// none (its text may hold details that must not reach a client).
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	for _, k := range kinds {
		if err == k {
			return k.Error()
		}
	}
	return "internal error"
}

// Field returns the request field err is about, or "".
func Field(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}
