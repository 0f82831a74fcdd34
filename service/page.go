package service

import (
	"strconv"

	"lechat/model"
)

// Page sizes of every list.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// Page is one page of a list; NextCursor is empty on the last page.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// PageRequest is a list's paging input: an opaque cursor from the previous page
// and a page size (0 means the default).
type PageRequest struct {
	Cursor string
	Limit  int
}

// idCursor reads a cursor that holds the last id seen, and the page size.
// Returns ErrInvalid.
func (p PageRequest) idCursor() (after uint64, limit int, err error) {
	limit = p.Limit
	switch {
	case limit == 0:
		limit = DefaultPageSize
	case limit < 0 || limit > MaxPageSize:
		return 0, 0, model.FieldErrorf(model.ErrInvalid, "limit", "limit must be between 1 and %d", MaxPageSize)
	}
	if p.Cursor != "" {
		after, err = strconv.ParseUint(p.Cursor, 10, 64)
		if err != nil {
			return 0, 0, model.FieldErrorf(model.ErrInvalid, "cursor", "cursor is not one this server gave out")
		}
	}
	return after, limit, nil
}

// pageByID cuts rows (fetched with limit+1) to a page whose cursor is the last id.
func pageByID[T any](rows []T, limit int, id func(T) uint64) Page[T] {
	p := Page[T]{Items: rows}
	if len(rows) > limit {
		p.Items = rows[:limit]
		p.NextCursor = strconv.FormatUint(id(rows[limit-1]), 10)
	}
	if p.Items == nil {
		p.Items = []T{}
	}
	return p
}
