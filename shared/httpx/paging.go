package httpx

import (
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Page is one page of a list: its items and the cursor of the next page, absent on
// the last. Lists page by id (UUIDv7, so by time): ?cursor=<next_cursor>&limit=N.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// PageOf is a page whose next page starts after next (uuid.Nil: there is none).
func PageOf[T any](items []T, next uuid.UUID) Page[T] {
	p := Page[T]{Items: items}
	if items == nil {
		p.Items = []T{}
	}
	if next != uuid.Nil {
		p.NextCursor = next.String()
	}
	return p
}

// DefaultLimit is the page size when ?limit= is absent.
const DefaultLimit = 50

// Cursor reads ?cursor= and ?limit= (1 to 200, DefaultLimit when absent).
func Cursor(c *gin.Context) (cursor uuid.UUID, limit int, err error) {
	limit = DefaultLimit
	if s := c.Query("cursor"); s != "" {
		if cursor, err = uuid.Parse(s); err != nil {
			return uuid.Nil, 0, errs.Invalidf("cursor", "the cursor is the next_cursor of a previous page")
		}
	}
	if s := c.Query("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 200 {
			return uuid.Nil, 0, errs.Invalidf("limit", "limit is a whole number from 1 to 200")
		}
	}
	return cursor, limit, nil
}

// PathID reads the :id parameter. A malformed id is as absent as an unknown one
// (what's not-found error), so ids cannot be probed by their shape either.
func PathID(c *gin.Context, what string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errs.NotFound(what)
	}
	return id, nil
}

// NextAfter is the cursor of the page after a full one: the id of its last item when
// the page holds limit items, else uuid.Nil.
func NextAfter[T any](items []T, limit int, id func(T) uuid.UUID) uuid.UUID {
	if limit > 0 && len(items) == limit {
		return id(items[len(items)-1])
	}
	return uuid.Nil
}
