package model

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// CleanLine trims s and checks it is valid UTF-8 of at most max characters (code
// points, as MySQL counts them) on one line, without control or bidi-override
// characters. Emoji of every kind pass: ZWJ sequences, skin tones, flags and tag
// sequences. field names the request field in the error, which is of kind ErrInvalid.
func CleanLine(s, field string, max int) (string, error) {
	if !utf8.ValidString(s) {
		return "", FieldErrorf(ErrInvalid, field, "%s is not valid UTF-8", field)
	}
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n > max {
		return "", FieldErrorf(ErrInvalid, field, "%s must be at most %d characters", field, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) || r == '\u2028' || r == '\u2029' {
			return "", FieldErrorf(ErrInvalid, field, "%s must not contain control characters", field)
		}
	}
	return s, nil
}

// isBidiControl reports the explicit direction marks that can disguise text.
func isBidiControl(r rune) bool {
	return (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}
