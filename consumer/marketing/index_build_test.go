package marketing

import (
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// The chunked COPY rebuild makes exactly the bitmaps that adding every member's facts
// one by one makes: over seeded members, members in later chunks, and values COPY
// has to escape (tabs, newlines, backslashes, quotes and commas in tags, empty tags).
func TestRebuildMatchesMemberByMemberIndex(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, Migrations)
	c := clock.NewSettable()
	c.Freeze(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	s := New(domain.Deps{DB: db, Clock: c}, Ports{}, Config{})
	ctx := context.Background()
	if _, err := s.SeedMembers(ctx, 2500, 11); err != nil {
		t.Fatal(err)
	}
	odd := []struct {
		seq  int32
		city string
		tags []string
	}{
		{70_000, "上\t海", []string{"a,b", `say "hi"`, `back\slash`, "", "two words", "NULL"}},
		{65_536, "line\nbreak", []string{"咖啡爱好者"}},
		{200_001, `C:\dir`, []string{"{brace}"}},
	}
	for _, m := range odd {
		id := uuid.New()
		if _, err := db.Exec(ctx, `INSERT INTO marketing.members (consumer_id, seq, joined_at, gender, city, tier, tags, points_balance,
  orders_count, spend_fen, last_order_at, rfm_r, rfm_f, rfm_m, home_cell) VALUES ($1, $2, '2014-06-01', '', $3, 'gold', $4, -5, 3, 123456,
  '2026-12-05 23:30:00+08', 5, 1, 3, 'w4:x')`, id, m.seq, m.city, m.tags); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO marketing.member_categories (consumer_id, seq, category, last_order_at) VALUES ($1, $2, 'tea\ttime', '2026-12-05 16:30:00Z');
`, id, m.seq); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `INSERT INTO marketing.member_coupons (consumer_id, seq, batch_id, held, unused) VALUES ($1, $2, 'B,1', 1, 0)`, id, m.seq); err != nil {
			t.Fatal(err)
		}
	}

	built, err := s.build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	order, facts, err := s.loadFacts(ctx, `true`)
	if err != nil {
		t.Fatal(err)
	}
	want := newIndex()
	for _, seq := range order {
		want.add(facts[seq])
	}
	if len(order) != 2503 || !built.all.Equals(want.all) {
		t.Fatalf("members: built %d, want %d (%d rows)", built.all.GetCardinality(), want.all.GetCardinality(), len(order))
	}
	if got, exp := slices.Sorted(maps.Keys(built.eq)), slices.Sorted(maps.Keys(want.eq)); !slices.Equal(got, exp) {
		t.Fatalf("equality bitmaps:\n built %q\n want  %q", got, exp)
	}
	for k, b := range want.eq {
		if !built.eq[k].Equals(b) {
			t.Errorf("%s: built %d members, want %d", k, built.eq[k].GetCardinality(), b.GetCardinality())
		}
	}
	if got, exp := slices.Sorted(maps.Keys(built.num)), slices.Sorted(maps.Keys(want.num)); !slices.Equal(got, exp) {
		t.Fatalf("sliced attributes:\n built %q\n want  %q", got, exp)
	}
	for k, w := range want.num {
		b := built.num[k]
		if !b.exists.Equals(w.exists) || len(b.planes) != len(w.planes) {
			t.Fatalf("%s: built %d members, want %d", k, b.exists.GetCardinality(), w.exists.GetCardinality())
		}
		for i := range w.planes {
			if !b.planes[i].Equals(w.planes[i]) {
				t.Errorf("%s plane %d differs", k, i)
			}
		}
	}
	for _, tag := range odd[0].tags {
		if b := built.eq[keyTag+tag]; b == nil || !b.Contains(70_000) {
			t.Errorf("tag %q of member 70000 not indexed", tag)
		}
	}
}
