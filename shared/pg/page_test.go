package pg_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/pg"
)

func TestTrimPage(t *testing.T) {
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	self := func(id uuid.UUID) uuid.UUID { return id }
	// Three rows read for a page of two: two kept, the next page starts after the second.
	page, next := pg.TrimPage(ids, 2, self)
	if len(page) != 2 || next != ids[1] {
		t.Fatalf("full page: %d rows, next %v", len(page), next)
	}
	// No extra row: the last page.
	if page, next = pg.TrimPage(ids, 3, self); len(page) != 3 || next != uuid.Nil {
		t.Fatalf("last page: %d rows, next %v", len(page), next)
	}
	if page, next = pg.TrimPage(ids[:0], 50, self); len(page) != 0 || next != uuid.Nil {
		t.Fatalf("empty: %d rows, next %v", len(page), next)
	}
	if got := []int32{pg.PageLimit(0), pg.PageLimit(-1), pg.PageLimit(7), pg.PageLimit(999)}; got[0] != 50 || got[1] != 50 || got[2] != 7 || got[3] != 200 {
		t.Fatalf("page limits %v", got)
	}
}
