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
	ms, err := w.svc.SearchMembers(w.ctx, growth, consumer.MemberSearch{Query: "138001380"}, 10)
	if err != nil || len(ms) != 5 {
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
	if levels[0] != 2 || levels[1] != 2 || levels[2] != 1 {
		t.Fatalf("tiers %v", levels)
	}
	// 刘洋 kept Silver at the end of his first period and paid 200 yuan in this one,
	// which ends in 20 days: 300 yuan short of Silver's retention, he is told so once.
	drop, err := w.svc.SearchMembers(w.ctx, growth, consumer.MemberSearch{Query: "13800138004"}, 10)
	if err != nil || len(drop) != 1 {
		t.Fatalf("the member below retention: %+v, %v", drop, err)
	}
	v, err := w.svc.Member360(w.ctx, growth, drop[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Notices) != 1 || v.Notices[0].Tier != "银卡 Silver" || v.Notices[0].Missing != 30_000 || v.Notices[0].LastDay != "2026-12-26" {
		t.Fatalf("notices %+v: one tier-drop notice, 300 yuan short of Silver by 2026-12-26", v.Notices)
	}
	st, err := w.svc.MemberTier(w.ctx, drop[0].ID)
	if err != nil || st.Tier.Level != 1 || st.PeriodMetric != 20_000 || st.ToRetain != 30_000 {
		t.Fatalf("tier %+v, %v", st, err)
	}
	pts, err := w.svc.MemberPoints(w.ctx, growth, drop[0].ID)
	if err != nil || pts.Balance != 240 || len(pts.Lots) != 1 || len(pts.Expiring) != 1 || pts.Expiring[0].LastDay != "2026-12-31" {
		t.Fatalf("points %+v, %v: the first period's lot expired, this one's 240 (Silver earns 1.2 a yuan) expire this month", pts, err)
	}
	l, err := w.svc.Liability(w.ctx, growth)
	if err != nil || len(l.ByMonth) == 0 || l.ByMonth[0].Month != "2026-12" || l.Pending == 0 {
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
