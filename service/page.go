package service

import (
	"strconv"

	"gorm.io/gorm"

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

// mapWithUsers turns a page of rows into a page of views that each show one
// user, loading those users' public profiles in one query.
func mapWithUsers[R, V any](db *gorm.DB, p Page[R], userOf func(R) uint64, view func(R, model.PublicUser) V) (Page[V], error) {
	ids := make([]uint64, len(p.Items))
	for i, r := range p.Items {
		ids[i] = userOf(r)
	}
	users, err := publicUsers(db, ids...)
	if err != nil {
		return Page[V]{}, err
	}
	out := Page[V]{Items: make([]V, len(p.Items)), NextCursor: p.NextCursor}
	for i, r := range p.Items {
		out.Items[i] = view(r, users[userOf(r)])
	}
	return out, nil
}
