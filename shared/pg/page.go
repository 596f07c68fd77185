package pg

import "github.com/google/uuid"

// PageLimit is the LIMIT of a page of a list: 50 when n is not positive, at most 200.
func PageLimit(n int) int32 {
	switch {
	case n <= 0:
		return 50
	case n > 200:
		return 200
	}
	return int32(n)
}

// TrimPage cuts rows read with LIMIT limit+1 (one row more than the page, to learn
// whether another page follows) down to the page, and returns the cursor of the next
// page: the id of the last row kept, or uuid.Nil when nothing follows.
func TrimPage[T any](rows []T, limit int, id func(T) uuid.UUID) ([]T, uuid.UUID) {
	if limit < 1 || len(rows) <= limit {
		return rows, uuid.Nil
	}
	rows = rows[:limit]
	return rows, id(rows[limit-1])
}
