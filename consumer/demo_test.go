package consumer_test

import (
	"testing"

	"github.com/tandemcrm/tandem/consumer"
)

// The demo shows every page something real, and loading it twice changes nothing.
func TestDemoMembersInSeveralTiersWithLotsAboutToExpire(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 12, 6, 10))
	for range 2 {
		if _, err := consumer.Demo(w.ctx, w.svc, appID); err != nil {
			t.Fatal(err)
		}
	}
	growth := w.staff(t, "growth")
	ms, err := w.svc.SearchMembers(w.ctx, growth, "138001380", 10)
	if err != nil || len(ms) != 4 {
		t.Fatalf("demo members: %d, %v", len(ms), err)
	}
	levels := map[int]int{}
	for _, m := range ms {
		st, err := w.svc.MemberTier(w.ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		levels[st.Tier.Level]++
		w.conserved(t, m.ID)
	}
	if levels[0] != 2 || levels[1] != 1 || levels[2] != 1 {
		t.Fatalf("tiers %v", levels)
	}
	l, err := w.svc.Liability(w.ctx, growth)
	if err != nil || len(l.ByMonth) == 0 || l.ByMonth[0].Month != "2027-01" || l.Pending == 0 {
		t.Fatalf("liability %+v, %v: lots expiring next month and pending points", l, err)
	}
	bs, err := w.svc.CouponBatches(w.ctx, growth)
	if err != nil || len(bs) != 2 {
		t.Fatalf("batches %+v, %v", bs, err)
	}
	for _, b := range bs {
		if b.Name == "十二月拉新" && (b.Issued != 4 || b.Redeemed != 2) {
			t.Fatalf("batch %+v", b)
		}
	}
}
