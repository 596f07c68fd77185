package matching_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
)

func TestResolve(t *testing.T) {
	t.Parallel()
	id := func() uuid.UUID { return uuid.Must(uuid.NewV7()) }
	a, b, c, d, e, f, g := id(), id(), id(), id(), id(), id(), id()
	recs := []matching.ConsumerRecord{
		// a and b: one person through two apps, the same verified phone typed two ways.
		{ConsumerID: a, OpenIDs: []matching.AppOpenID{{"wx1", "o-a"}}, Phones: []matching.Phone{{"138 0013 8000", true}}},
		{ConsumerID: b, OpenIDs: []matching.AppOpenID{{"wx2", "o-b"}}, Phones: []matching.Phone{{"+86 13800138000", true}}},
		// c and d: the same unionid, but two different verified phones: review.
		{ConsumerID: c, UnionID: "u-1", Phones: []matching.Phone{{"13900000001", true}}},
		{ConsumerID: d, UnionID: "u-1", Phones: []matching.Phone{{"13900000002", true}}},
		// e: a and b's phone, unverified: review.
		{ConsumerID: e, Phones: []matching.Phone{{"13800138000", false}}},
		// f and g: the same unionid, nothing against: automatic.
		{ConsumerID: f, UnionID: "u-2"},
		{ConsumerID: g, UnionID: "u-2", Phones: []matching.Phone{{"13700000000", false}}},
	}
	got := map[[2]uuid.UUID]matching.Candidate{}
	for _, c := range matching.Resolve(recs) {
		got[[2]uuid.UUID{c.A, c.B}] = c
	}
	want := func(x, y uuid.UUID, d matching.Decision, minConf float64, conflict string) {
		t.Helper()
		c, ok := got[[2]uuid.UUID{x, y}]
		if !ok {
			c, ok = got[[2]uuid.UUID{y, x}]
		}
		if !ok || c.Decision != d || c.Confidence < minConf {
			t.Fatalf("pair: %+v (found %v), want %s ≥ %v", c, ok, d, minConf)
		}
		if conflict != "" && (len(c.Conflicts) == 0 || c.Conflicts[0].Kind != conflict) {
			t.Fatalf("conflicts: %+v", c.Conflicts)
		}
		if conflict == "" && len(c.Conflicts) != 0 {
			t.Fatalf("unexpected conflicts: %+v", c.Conflicts)
		}
	}
	want(a, b, matching.DecisionAuto, 0.96, "")
	want(c, d, matching.DecisionReview, 0.99, matching.ConflictPhone)
	want(a, e, matching.DecisionReview, 0.8, "")
	want(f, g, matching.DecisionAuto, 0.99, "")
	if len(got) != 5 { // a–b, c–d, a–e, b–e, f–g
		t.Fatalf("%d candidates: %+v", len(got), got)
	}
	if matching.NormalizePhone("0086-138-0013-8000") != "13800138000" {
		t.Fatal("phone normalisation")
	}
}

// Two consumers may each merge with a third, but not into one person holding two
// different verified phones: the weaker merge goes to review.
func TestResolveKeepsGroupsConsistent(t *testing.T) {
	t.Parallel()
	id := func() uuid.UUID { return uuid.Must(uuid.NewV7()) }
	x, y, z := id(), id(), id()
	recs := []matching.ConsumerRecord{
		{ConsumerID: x, UnionID: "u", Phones: []matching.Phone{{"13900000001", true}}},
		{ConsumerID: y, UnionID: "u"},
		{ConsumerID: z, Phones: []matching.Phone{{"13900000002", true}}, OpenIDs: []matching.AppOpenID{{"wx", "o"}}},
	}
	recs[1].OpenIDs = []matching.AppOpenID{{"wx", "o"}} // y shares z's openid: 1.0
	auto := 0
	for _, c := range matching.Resolve(recs) {
		if c.Decision == matching.DecisionAuto {
			auto++
		}
	}
	if auto != 1 {
		t.Fatalf("%d automatic merges, want 1 (x–y–z would join two verified phones)", auto)
	}
}
