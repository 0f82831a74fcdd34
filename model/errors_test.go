package model_test

import (
	"errors"
	"fmt"
	"testing"

	"lechat/model"
)

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name                 string
		err                  error
		code, message, field string
	}{
		{"kind with message", model.Errorf(model.ErrForbidden, "not yours"), "forbidden", "not yours", ""},
		{"field error", model.FieldErrorf(model.ErrInvalid, "email", "bad email"), "invalid_request", "bad email", "email"},
		{"wrapped kind", fmt.Errorf("ctx: %w", model.Errorf(model.ErrNotFound, "no such user")), "not_found", "no such user", ""},
		{"bare kind", model.ErrConflict, "conflict", "conflict", ""},
		{"unknown error hides its text", errors.New("dial tcp 10.0.0.1: password=hunter2"), "internal", "internal error", ""},
		{"wrapped unknown", fmt.Errorf("insert: %w", errors.New("driver: bad conn")), "internal", "internal error", ""},
		{"unavailable", model.Errorf(model.ErrUnavailable, "db down"), "unavailable", "db down", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := model.Code(tt.err); got != tt.code {
				t.Errorf("Code = %q, want %q", got, tt.code)
			}
			if got := model.ErrorMessage(tt.err); got != tt.message {
				t.Errorf("ErrorMessage = %q, want %q", got, tt.message)
			}
			if got := model.Field(tt.err); got != tt.field {
				t.Errorf("Field = %q, want %q", got, tt.field)
			}
		})
	}
}
