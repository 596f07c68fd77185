package merchant_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
)

// A renewal's rate is in force from its first day; the rate it replaces before that,
// and no contract before the first one started.
func TestCommissionRateOnFollowsRenewals(t *testing.T) {
	t.Parallel()
	w := newFieldWorld(t, merchant.Config{})
	rep := w.p(t, "sh1.rep")
	l := liveShop(t, w.world, "13800001501", "1900001501", "2026-01-01", "2026-12-31")
	must[merchant.Contract](t)(w.svc.RenewContract(w.ctx, rep, l.ID, merchant.NewContract{CommissionRate: "7%",
		SettlementCycle: merchant.CycleT1, StartsOn: "2026-07-01", EndsOn: "2027-06-30"}))
	ms, _, err := w.svc.ListMerchants(w.ctx, w.p(t, "sh.manager"), uuid.Nil, 0)
	if err != nil || len(ms) != 1 {
		t.Fatalf("merchants %v %v", ms, err)
	}
	for day, want := range map[string]string{"2025-12-31": "", "2026-01-01": "0.06", "2026-06-30": "0.06", "2026-07-01": "0.07", "2028-01-01": "0.07"} {
		d, _ := time.Parse(time.DateOnly, day)
		rate, ok, err := w.svc.CommissionRateOn(w.ctx, ms[0].ID, d)
		if err != nil || ok != (want != "") || (ok && rate.String() != want) {
			t.Errorf("%s: %v %v %v, want %q", day, rate, ok, err, want)
		}
	}
	if _, ok, err := w.svc.CommissionRateOn(w.ctx, uuid.New(), time.Now()); ok || err != nil {
		t.Fatalf("an unknown merchant: %v %v", ok, err)
	}
}
