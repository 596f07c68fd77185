package merchant_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
)

// claimed makes a lead claimed by sh1.rep.
func claimed(t *testing.T, w *world, phone string) merchant.Lead {
	t.Helper()
	rep := w.p(t, "sh1.rep")
	l := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, shop(phone)))
	return must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, l.ID))
}

func TestCheckInRadius(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	rep := w.p(t, "sh1.rep")
	l := claimed(t, w, "13800000401")
	// ~0.0045° of latitude is ~500 m: 0.004 is inside, 0.006 outside.
	v := must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, l.ID, merchant.CheckIn{Lat: l.Lat + 0.004, Lng: l.Lng}))
	if !v.Accepted || v.DistanceM < 440 || v.DistanceM > 450 {
		t.Fatalf("visit: %+v", v)
	}
	v, err := w.svc.CheckIn(w.ctx, rep, l.ID, merchant.CheckIn{Lat: l.Lat + 0.006, Lng: l.Lng})
	if e := wantCode(t, err, merchant.CodeTooFar); e.Kind != errs.KindUnprocessable || v.Accepted {
		t.Fatalf("far check-in: %v %+v", e, v)
	}
	var accepted, refused int
	if err := w.db.QueryRow(w.ctx, "SELECT count(*) FILTER (WHERE accepted), count(*) FILTER (WHERE NOT accepted) FROM merchant.visits").Scan(&accepted, &refused); err != nil {
		t.Fatal(err)
	}
	if accepted != 1 || refused != 1 {
		t.Fatalf("visits kept: %d accepted, %d refused", accepted, refused)
	}
	// A pool lead cannot be visited before it is claimed.
	pool := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, shop("13800000402")))
	_, err = w.svc.CheckIn(w.ctx, rep, pool.ID, merchant.CheckIn{Lat: pool.Lat, Lng: pool.Lng})
	wantCode(t, err, "merchant.lead_in_pool")
	if d := merchant.DistanceM(31.2304, 121.4737, 39.9042, 116.4074); d < 1_060_000 || d > 1_075_000 {
		t.Fatalf("Shanghai–Beijing: %.0f m", d)
	}
}

func TestStagesAndHistory(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	rep := w.p(t, "sh1.rep")
	l := claimed(t, w, "13800000501")
	for _, bad := range []merchant.Stage{merchant.StageSigned, merchant.StageLive, merchant.StageNegotiating, "nonsense"} {
		_, err := w.svc.MoveStage(w.ctx, rep, l.ID, bad, "")
		wantCode(t, err, "merchant.illegal_stage")
	}
	checkedIn(t, w, rep, l)
	for _, st := range []merchant.Stage{merchant.StageContacted, merchant.StageVisited, merchant.StageNegotiating} {
		if got := must[merchant.Lead](t)(w.svc.MoveStage(w.ctx, rep, l.ID, st, "progress")); got.Stage != st {
			t.Fatalf("stage %s, want %s", got.Stage, st)
		}
	}
	_, err := w.svc.MoveStage(w.ctx, rep, l.ID, merchant.StageLost, "")
	wantCode(t, err, "invalid_input")
	must[merchant.Lead](t)(w.svc.MoveStage(w.ctx, rep, l.ID, merchant.StageLost, "chose a competitor"))
	must[merchant.Lead](t)(w.svc.MoveStage(w.ctx, rep, l.ID, merchant.StageLead, "reopened"))
	hist := must[[]merchant.StageChange](t)(w.svc.StageHistory(w.ctx, rep, l.ID))
	want := []merchant.Stage{merchant.StageLead, merchant.StageContacted, merchant.StageVisited, merchant.StageNegotiating, merchant.StageLost, merchant.StageLead}
	if len(hist) != len(want) {
		t.Fatalf("history: %+v", hist)
	}
	for i, h := range hist {
		if h.To != want[i] || h.At.IsZero() || (i > 0 && (h.From == nil || *h.From != want[i-1])) {
			t.Fatalf("history[%d]: %+v", i, h)
		}
	}
	if n := auditCount(t, w, "merchant.lead.stage"); n != 5 {
		t.Fatalf("%d stage audit entries", n)
	}
	f := must[merchant.FollowUp](t)(w.svc.LogFollowUp(w.ctx, rep, l.ID, merchant.FollowUp{Channel: "call", Note: "called"}))
	if f.ID == uuid.Nil {
		t.Fatal("follow-up without id")
	}
	_, err = w.svc.LogFollowUp(w.ctx, rep, l.ID, merchant.FollowUp{Channel: "fax", Note: "x"})
	wantCode(t, err, "invalid_input")
}

// negotiating makes a claimed lead in negotiation.
func negotiating(t *testing.T, w *world, phone string) merchant.Lead {
	t.Helper()
	rep := w.p(t, "sh1.rep")
	l := claimed(t, w, phone)
	checkedIn(t, w, rep, l)
	for _, st := range []merchant.Stage{merchant.StageContacted, merchant.StageVisited, merchant.StageNegotiating} {
		l = must[merchant.Lead](t)(w.svc.MoveStage(w.ctx, rep, l.ID, st, "progress"))
	}
	return l
}

func TestSignContract(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	l := negotiating(t, w, "13800000601")
	mgr := w.p(t, "sh.manager")
	terms := func(rate string) merchant.NewContract {
		return merchant.NewContract{CommissionRate: rate, SettlementCycle: merchant.CycleT7, StartsOn: "2026-01-01", EndsOn: "2026-12-31"}
	}
	for _, bad := range []string{"101%", "-1%", "6.5", "abc", ""} {
		_, err := w.svc.SignContract(w.ctx, mgr, l.ID, terms(bad))
		e := errs.As(err)
		if e == nil || e.Kind != errs.KindUnprocessable || e.Field != "commission_rate" {
			t.Fatalf("rate %q: %v", bad, err)
		}
	}
	bad := terms("6.5%")
	bad.SettlementCycle = "weekly"
	_, err := w.svc.SignContract(w.ctx, mgr, l.ID, bad)
	if e := errs.As(err); e == nil || e.Field != "settlement_cycle" {
		t.Fatalf("cycle: %v", err)
	}
	// Finance holds no contract permission; a rep of another team does not see the lead.
	_, err = w.svc.SignContract(w.ctx, w.p(t, "finance"), l.ID, terms("6.5%"))
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("finance signing: %v", err)
	}
	_, err = w.svc.SignContract(w.ctx, w.p(t, "sh2.rep"), l.ID, terms("6.5%"))
	if errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("another team's rep signing: %v", err)
	}
	c := must[merchant.Contract](t)(w.svc.SignContract(w.ctx, mgr, l.ID, terms("6.5%")))
	if c.CommissionText != "6.5%" || c.CommissionRate.Decimal().String() != "0.065" || c.ContractNo == "" {
		t.Fatalf("contract: %+v", c)
	}
	got := must[merchant.Contract](t)(w.svc.GetContract(w.ctx, w.p(t, "sh1.rep"), l.ID))
	if got.ID != c.ID || got.CommissionText != "6.5%" {
		t.Fatalf("read back: %+v", got)
	}
	_, err = w.svc.SignContract(w.ctx, mgr, l.ID, terms("5%"))
	wantCode(t, err, "merchant.illegal_stage")
	if auditCount(t, w, "merchant.contract.sign") != 1 {
		t.Fatal("contract not audited")
	}
	_, err = w.svc.GetContract(w.ctx, w.p(t, "sh2.rep"), l.ID)
	wantCode(t, err, "merchant.contract_not_found")
}

func TestOnboardingApproveGoesLive(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	rep, reviewer := w.p(t, "sh1.rep"), w.p(t, "reviewer")
	l := negotiating(t, w, "13800000701")
	must[merchant.Contract](t)(w.svc.SignContract(w.ctx, w.p(t, "sh.manager"), l.ID,
		merchant.NewContract{CommissionRate: "6.5%", SettlementCycle: merchant.CycleT1, StartsOn: "2026-01-01", EndsOn: "2027-01-01"}))
	_, err := w.svc.ApproveOnboarding(w.ctx, reviewer, l.ID, merchant.Approval{SubMchID: "1900000109"})
	wantCode(t, err, "merchant.onboarding_not_found")
	o := must[merchant.Onboarding](t)(w.svc.SubmitOnboarding(w.ctx, rep, l.ID))
	if o.State != merchant.OnboardingAuditing {
		t.Fatalf("submitted: %+v", o)
	}
	_, err = w.svc.SubmitOnboarding(w.ctx, rep, l.ID)
	wantCode(t, err, "merchant.onboarding_state")
	// Only a reviewer approves.
	_, err = w.svc.ApproveOnboarding(w.ctx, rep, l.ID, merchant.Approval{SubMchID: "1900000109"})
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("rep approving: %v", err)
	}
	// Reject, resubmit, approve.
	must[merchant.Onboarding](t)(w.svc.RejectOnboarding(w.ctx, reviewer, l.ID, "licence photo unreadable"))
	must[merchant.Onboarding](t)(w.svc.SubmitOnboarding(w.ctx, rep, l.ID))
	_, err = w.svc.ApproveOnboarding(w.ctx, reviewer, l.ID, merchant.Approval{SubMchID: "x"})
	wantCode(t, err, "invalid_input")
	ap := must[merchant.Approved](t)(w.svc.ApproveOnboarding(w.ctx, reviewer, l.ID, merchant.Approval{SubMchID: "1900000109", WebhookURL: "https://shop.example/hook"}))
	m := ap.Merchant
	if m.Status != "live" || m.CommissionRate != "6.5%" || m.SettlementCycle != merchant.CycleT1 || m.Lat != l.Lat ||
		ap.OwnerLogin != merchant.OwnerLogin(m.ID) || ap.OwnerInvitation == "" || len(ap.WebhookSecret) != 64 {
		t.Fatalf("approved: %+v", ap)
	}
	if len(w.owners.calls) != 1 || w.owners.calls[0] != m.ID {
		t.Fatalf("owner accounts asked %v", w.owners.calls)
	}
	_, err = w.svc.ApproveOnboarding(w.ctx, reviewer, l.ID, merchant.Approval{SubMchID: "1900000109"})
	wantCode(t, err, "merchant.onboarding_state")
	if len(w.owners.calls) != 1 {
		t.Fatal("owner account asked twice")
	}
	if got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, l.ID)); got.Stage != merchant.StageLive {
		t.Fatalf("lead stage %s", got.Stage)
	}
	terms := must[merchant.Terms](t)(w.svc.Terms(w.ctx, m.ID))
	if !terms.Live || terms.CommissionRate.String() != "0.065" || terms.MchID != "1900000109" || terms.Cycle != merchant.CycleT1 ||
		terms.WebhookURL != "https://shop.example/hook" || terms.WebhookSecret != ap.WebhookSecret {
		t.Fatalf("terms: %+v", terms)
	}
	_, err = w.svc.Terms(w.ctx, uuid.Must(uuid.NewV7()))
	wantCode(t, err, "merchant.merchant_not_found")
	// The event is in the outbox, in the approving transaction.
	var payload events.MerchantLive
	var n int
	if err := w.db.QueryRow(w.ctx, "SELECT count(*) OVER (), payload FROM platform.outbox WHERE topic = $1", string(events.TopicMerchantLive)).Scan(&n, &payload); err != nil {
		t.Fatal(err)
	}
	if n != 1 || payload.MerchantID != m.ID || payload.CommissionRate != "0.065" || payload.SubMchID != "1900000109" {
		t.Fatalf("outbox: %d %+v", n, payload)
	}
	if auditCount(t, w, "merchant.onboarding.approve") != 1 || auditCount(t, w, "merchant.onboarding.reject") != 1 {
		t.Fatal("review not audited")
	}
	// Readers: the rep who signed it and the reviewer's city; not another team's rep.
	must[merchant.Merchant](t)(w.svc.GetMerchant(w.ctx, rep, m.ID))
	_, err = w.svc.GetMerchant(w.ctx, w.p(t, "sh2.rep"), m.ID)
	wantCode(t, err, "merchant.merchant_not_found")
	list, _, err := w.svc.ListMerchants(w.ctx, w.p(t, "sh2.rep"), uuid.Nil, 0)
	if err != nil || len(list) != 0 {
		t.Fatalf("sh2.rep lists %v %v", list, err)
	}
}

func TestOwnerAccountFailureRetried(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	w.owners.fail = errors.New("identity down")
	l := negotiating(t, w, "13800000801")
	must[merchant.Contract](t)(w.svc.SignContract(w.ctx, w.p(t, "sh.manager"), l.ID,
		merchant.NewContract{CommissionRate: "0.05", SettlementCycle: merchant.CycleMonthly, StartsOn: "2026-01-01", EndsOn: "2027-01-01"}))
	must[merchant.Onboarding](t)(w.svc.SubmitOnboarding(w.ctx, w.p(t, "sh1.rep"), l.ID))
	ap := must[merchant.Approved](t)(w.svc.ApproveOnboarding(w.ctx, w.p(t, "reviewer"), l.ID, merchant.Approval{SubMchID: "1900000110"}))
	if ap.Merchant.Status != "live" || ap.OwnerLogin != "" || ap.OwnerError == "" {
		t.Fatalf("approved: %+v", ap)
	}
	w.owners.fail = nil
	login, pw, err := w.svc.ProvisionOwner(w.ctx, w.p(t, "reviewer"), ap.Merchant.ID)
	if err != nil || login != merchant.OwnerLogin(ap.Merchant.ID) || pw == "" {
		t.Fatalf("provision: %q %q %v", login, pw, err)
	}
	login2, pw2, err := w.svc.ProvisionOwner(w.ctx, w.p(t, "reviewer"), ap.Merchant.ID)
	if err != nil || login2 != login || pw2 != "" || len(w.owners.calls) != 2 {
		t.Fatalf("second provision: %q %q %v calls %d", login2, pw2, err, len(w.owners.calls))
	}
}
