package matching_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/domain"
)

// Two processes on one database: the API serves from its cache while the worker records
// a payment and recomputes the payer. The API serves the new list within the cache's
// poll, never the old one for long, and a consumer it has never seen gets the
// cold-start list.
func TestServingCacheFollowsAnotherProcess(t *testing.T) {
	t.Parallel()
	n := newNeighbours(t)
	w, api, a, b, alice := n.w, n.api, n.a, n.b, n.alice

	first, err := api.Recommendations(w.ctx, alice, 0)
	w.must(err)
	if len(first) == 0 || first[0].MerchantID != b || first[0].ColdStart {
		t.Fatalf("alice first: %+v", first)
	}
	// Served from memory: the stored rows can go and the answer stays (until a change).
	again, err := api.Recommendations(w.ctx, alice, 0)
	w.must(err)
	if len(again) != len(first) {
		t.Fatalf("alice again: %+v", again)
	}

	// The worker records Alice's payment at B: B is tried, so it leaves her list.
	start := time.Now()
	w.pay(alice, b, 1000)
	for {
		recs, err := api.Recommendations(w.ctx, alice, 0)
		w.must(err)
		if !containsMerchant(recs, b) {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the API still serves B to Alice after %s: %+v", time.Since(start), recs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the API served the new list %s after the payment", time.Since(start).Round(time.Millisecond))

	// Nobody ever seen: the popular list, flagged cold start, not an error.
	cold, err := api.Recommendations(w.ctx, uuid.New(), 2)
	w.must(err)
	if len(cold) != 2 || !cold[0].ColdStart || cold[0].MerchantID != a {
		t.Fatalf("cold start: %+v", cold)
	}
}

// neighbours is a worker's world and, on its database, an API process with its own
// serving cache: shops A, B (restaurants) and C (a cafe) close together; Bob has bought
// at A and B, Alice at A, so B is recommended to her.
type neighbours struct {
	w          *world
	api        *matching.Service
	a, b, c    uuid.UUID
	alice, bob uuid.UUID
}

func newNeighbours(t *testing.T) neighbours {
	t.Helper()
	w := newWorld(t)
	n := neighbours{w: w, api: matching.New(domain.Deps{DB: w.db}, matching.Ports{}, matching.Config{RadiusM: 3000}),
		a: w.live("A 小笼", "restaurant", 31.2304, 121.4737), b: w.live("B 面馆", "restaurant", 31.2390, 121.4737),
		c: w.live("C 咖啡", "cafe", 31.2310, 121.4737), alice: uuid.Must(uuid.NewV7()), bob: uuid.Must(uuid.NewV7())}
	w.pay(n.bob, n.a, 1000)
	w.pay(n.bob, n.b, 1000)
	w.pay(n.alice, n.a, 1000)
	return n
}

func containsMerchant(recs []matching.Recommendation, id uuid.UUID) bool {
	for _, r := range recs {
		if r.MerchantID == id {
			return true
		}
	}
	return false
}

// A change that took its id before another but commits after it (two workers, the
// earlier one slower) is still applied: the cache reads the rows after the highest it
// has applied and the ids below it that it has not seen, not only what comes after.
func TestServingCacheAppliesAChangeThatCommitsLate(t *testing.T) {
	t.Parallel()
	n := newNeighbours(t)
	w, api, c, alice, bob := n.w, n.api, n.c, n.alice, n.bob
	served := func(who uuid.UUID) []matching.Recommendation {
		recs, err := api.Recommendations(w.ctx, who, 0)
		w.must(err)
		return recs
	}
	if recs := served(alice); len(recs) == 0 || recs[0].ColdStart {
		t.Fatalf("alice first: %+v", recs)
	}
	if recs := served(bob); !containsMerchant(recs, c) {
		t.Fatalf("bob first: %+v", recs)
	}

	// The slow writer: Alice's list goes, its change row takes its id, no commit yet.
	slow, err := w.db.Begin(w.ctx)
	w.must(err)
	defer func() { _ = slow.Rollback(w.ctx) }()
	_, err = slow.Exec(w.ctx, `DELETE FROM matching.recommendation_lists WHERE consumer_id = $1`, alice)
	w.must(err)
	_, err = slow.Exec(w.ctx, `INSERT INTO matching.serving_changes (consumers) VALUES (ARRAY[$1::uuid])`, alice)
	w.must(err)
	// The quick one commits a later id: Bob buys at C, which leaves his list. Once the
	// API serves that, its cursor is past the slow writer's id.
	w.pay(bob, c, 1000)
	until(t, "the API serves Bob's new list", func() bool { return !containsMerchant(served(bob), c) })
	if recs := served(alice); len(recs) == 0 || recs[0].ColdStart {
		t.Fatalf("alice before the slow commit: %+v", recs)
	}

	w.must(slow.Commit(w.ctx))
	until(t, "the API forgets Alice's list removed by the late commit", func() bool {
		recs := served(alice)
		return len(recs) > 0 && recs[0].ColdStart
	})
}

// until waits up to 5 s for cond, polling.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for start := time.Now(); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: not after 5 s", what)
		}
	}
}
