package marketing

import (
	"testing"
	"time"
)

// A change drops only the cached conditions that read an attribute it moved: a
// member's points changing keeps the city and tag results, and the recomputed points
// result counts the change.
func TestChangeDropsOnlyTheConditionsItTouches(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	x := newIndex()
	member := func(seq uint32, city string, points int64, tags ...string) *memberFacts {
		return &memberFacts{Seq: seq, JoinedAt: now.AddDate(0, -1, 0), City: city, Tier: "member", Points: points, Tags: tags}
	}
	x.apply([]*memberFacts{member(1, "上海", 100, "白领"), member(2, "北京", 900), member(3, "上海", 50)}, 1)
	e := evaluator{x: x, today: dayOf(now), tiers: []string{"member", "silver"}}
	count := func(r Rule) uint64 {
		t.Helper()
		x.mu.RLock()
		defer x.mu.RUnlock()
		res, err := e.eval(&r, "rule")
		if err != nil {
			t.Fatal(err)
		}
		return res.b.GetCardinality()
	}
	city := Rule{Field: "city", Values: []string{"上海"}}
	tag := Rule{Field: "tag", Values: []string{"白领"}}
	rich := Rule{Field: "points_balance", Op: "gte", Value: 500}
	if count(city) != 2 || count(tag) != 1 || count(rich) != 1 || x.leaves.size() != 3 {
		t.Fatalf("before: city %d, tag %d, points %d, cached %d", count(city), count(tag), count(rich), x.leaves.size())
	}

	x.apply([]*memberFacts{member(3, "上海", 600)}, 2) // member 3 earns points: only points moved
	if x.leaves.size() != 2 {
		t.Fatalf("after a points change %d results are cached, want city and tag (2)", x.leaves.size())
	}
	if count(rich) != 2 || count(city) != 2 {
		t.Fatalf("after: points %d (want 2), city %d (want 2)", count(rich), count(city))
	}

	x.apply([]*memberFacts{member(1, "北京", 100, "白领")}, 3) // member 1 moves city: city drops, tag and points stay
	if x.leaves.size() != 2 || count(city) != 1 {
		t.Fatalf("after a move: cached %d (want 2), Shanghai %d (want 1)", x.leaves.size(), count(city))
	}
	x.apply([]*memberFacts{member(1, "北京", 100, "白领")}, 4) // the same facts again: nothing moved
	if x.leaves.size() != 3 {
		t.Fatalf("a change that moves nothing dropped results: %d cached, want 3", x.leaves.size())
	}
}
