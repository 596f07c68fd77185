package merchant_test

import (
	"testing"
	"time"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/clock"
)

// Reclaim rules per level take the place of the pool's for leads of that level; a
// signed shop whose contract ended N calendar days ago goes back to the pool whatever
// its stage; a lead whose contract waits for approval is exempt.
func TestReclaimByLevelAndContractEnded(t *testing.T) {
	t.Parallel()
	w, clk := poolWorld(t, merchant.Config{})
	pool := setRules(t, w, "sh1.rep", merchant.PoolRules{ReclaimFollowUpDays: 30, ReclaimContractEndedDays: 7,
		Levels: []merchant.LevelRules{{Level: "a", ReclaimFollowUpDays: 2}}})
	if len(pool.Levels) != 1 || pool.Levels[0].Level != "A" {
		t.Fatalf("levels: %+v", pool.Levels)
	}
	if got := must[merchant.Pool](t)(w.svc.GetPool(w.ctx, w.p(t, "sh1.lead"), pool.ID)); len(got.Levels) != 1 || got.ReclaimContractEndedDays != 7 {
		t.Fatalf("read back: %+v", got)
	}
	_, err := w.svc.SetPoolRules(w.ctx, w.p(t, "admin"), pool.ID, pool.Name, merchant.PoolRules{HoldingCap: 50,
		Levels: []merchant.LevelRules{{Level: "AA"}}})
	if e := wantCode(t, err, "invalid_input"); e.Field != "levels[0].level" {
		t.Fatalf("field %q", e.Field)
	}
	rep, mgr := w.p(t, "sh1.rep"), w.p(t, "sh.manager")
	ls := leads(t, w, "sh1.rep", 700, 2)
	for _, l := range ls {
		must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, l.ID))
	}
	a := "A"
	must[merchant.Lead](t)(w.svc.EditLead(w.ctx, rep, ls[0].ID, merchant.LeadPatch{Level: &a}))
	if got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, ls[0].ID)); got.Level != "A" || *got.ReclaimOn != "2026-12-03" {
		t.Fatalf("level A: %+v", got)
	}
	if got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, ls[1].ID)); *got.ReclaimOn != "2026-12-31" {
		t.Fatalf("no level: %+v", got)
	}

	// Two signed shops whose contracts ended on 2026-11-28: reclaimed on 12-05, except
	// the one whose renewal waits for approval.
	terms := merchant.NewContract{CommissionRate: "6%", SettlementCycle: merchant.CycleT7, StartsOn: "2025-11-29", EndsOn: "2026-11-28"}
	signed := []merchant.Lead{negotiating(t, w, "13800000751"), negotiating(t, w, "13800000753")}
	for _, l := range signed {
		must[merchant.Contract](t)(w.svc.SignContract(w.ctx, mgr, l.ID, terms))
	}
	if _, err := w.db.Exec(w.ctx, `UPDATE merchant.contracts SET status = 'terminated' WHERE lead_id = $1`, signed[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(w.ctx, `INSERT INTO merchant.contracts (id, lead_id, contract_no, commission_rate, settlement_cycle, starts_on, ends_on, signed_by, signed_at, status)
SELECT gen_random_uuid(), lead_id, contract_no || '-R', commission_rate, settlement_cycle, '2026-11-29', '2027-11-28', signed_by, signed_at, 'pending_approval'
FROM merchant.contracts WHERE lead_id = $1`, signed[1].ID); err != nil {
		t.Fatal(err)
	}
	got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, signed[0].ID))
	if got.Stage != merchant.StageSigned || got.ReclaimOn == nil || *got.ReclaimOn != "2026-12-05" {
		t.Fatalf("contract ended: %+v", got)
	}
	if got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, signed[1].ID)); got.ReclaimOn != nil {
		t.Fatalf("in approval: %+v", got)
	}
	clk.Freeze(time.Date(2026, 12, 5, 0, 30, 0, 0, clock.Shanghai))
	if res := must[merchant.ReclaimResult](t)(w.svc.RunReclaim(w.ctx)); res.Reclaimed != 2 { // level A (12-03) and the ended contract
		t.Fatalf("reclaim: %+v", res)
	}
	for i, l := range []merchant.Lead{ls[0], ls[1], signed[0], signed[1]} {
		got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, w.p(t, "sh1.lead"), l.ID))
		if got.InPool != (i == 0 || i == 2) {
			t.Fatalf("lead %d in pool %v", i, got.InPool)
		}
	}
}
