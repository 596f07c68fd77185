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
	w := newWorld(t)
	api := matching.New(domain.Deps{DB: w.db}, matching.Ports{}, matching.Config{RadiusM: 3000})
	a := w.live("A 小笼", "restaurant", 31.2304, 121.4737)
	b := w.live("B 面馆", "restaurant", 31.2390, 121.4737)
	c := w.live("C 咖啡", "cafe", 31.2310, 121.4737)
	alice, bob := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	w.pay(bob, a, 1000)
	w.pay(bob, b, 1000)
	w.pay(alice, a, 1000)

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
	_ = c
}

func containsMerchant(recs []matching.Recommendation, id uuid.UUID) bool {
	for _, r := range recs {
		if r.MerchantID == id {
			return true
		}
	}
	return false
}
