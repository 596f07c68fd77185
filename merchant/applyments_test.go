package merchant_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

// simApplyments is the cmd/tandem adapter's twin over the simulator.
type simApplyments struct{ c *wxpay.Client }

func (s simApplyments) SubmitApplyment(ctx context.Context, f merchant.ApplymentForm) (int64, error) {
	return s.c.SubmitApplyment(ctx, wxpay.ApplymentRequest{BusinessCode: f.BusinessCode, ContactName: f.ContactName,
		ContactPhone: f.ContactPhone, MerchantShortname: f.ShopName})
}

func (s simApplyments) QueryApplyment(ctx context.Context, code string) (merchant.ApplymentStatus, error) {
	a, err := s.c.QueryApplyment(ctx, code)
	if err != nil {
		return merchant.ApplymentStatus{}, err
	}
	return merchant.ApplymentStatus{State: a.State, SubMchID: a.SubMchID, SignURL: a.SignURL, RejectReason: a.RejectReason()}, nil
}

// The application goes to WeChat when the reviewer approves it, mirrors WeChat's
// states as the simulator's review moves them, comes back on WeChat's rejection, and
// the shop goes live when WeChat says finished, with WeChat's sub-merchant number.
func TestOnboardingThroughWeChat(t *testing.T) {
	t.Parallel()
	w := newWorld(t, merchant.Config{})
	env := wxsimtest.New(t, wxsimtest.ModePublicKey, wxsim.Config{})
	svc := merchant.New(domain.Deps{DB: w.db}, merchant.Ports{Owners: w.owners, Applyments: simApplyments{env.Client()}}, merchant.Config{})
	rep, reviewer := w.p(t, "sh1.rep"), w.p(t, "reviewer")
	l := negotiating(t, w, "13800000901")
	must[merchant.Contract](t)(svc.SignContract(w.ctx, w.p(t, "sh.manager"), l.ID,
		merchant.NewContract{CommissionRate: "6%", SettlementCycle: merchant.CycleT7, StartsOn: "2026-01-01", EndsOn: "2027-01-01"}))
	must[merchant.Onboarding](t)(svc.SubmitOnboarding(w.ctx, rep, l.ID))

	// The reviewer sees it in the queue and can read the lead.
	queue, _, err := svc.ListApplications(w.ctx, reviewer, merchant.QueueFilter{})
	if err != nil || len(queue) != 1 || queue[0].LeadID != l.ID || queue[0].Name != l.Name {
		t.Fatalf("queue: %+v %v", queue, err)
	}
	must[merchant.Lead](t)(svc.GetLead(w.ctx, reviewer, l.ID))
	_, _, err = svc.ListApplications(w.ctx, rep, merchant.QueueFilter{})
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a rep's queue: %v", err)
	}
	// A change is requested, the rep resubmits.
	o := must[merchant.Onboarding](t)(svc.RequestChange(w.ctx, reviewer, l.ID, "storefront photo missing"))
	if o.State != merchant.OnboardingEditing || o.Review != merchant.ReviewChangeRequested {
		t.Fatalf("change requested: %+v", o)
	}
	if q, _, _ := svc.ListApplications(w.ctx, reviewer, merchant.QueueFilter{}); len(q) != 0 {
		t.Fatal("an application being edited is in the queue")
	}
	must[merchant.Onboarding](t)(svc.SubmitOnboarding(w.ctx, rep, l.ID))
	_, err = svc.SubmitOnboarding(w.ctx, rep, l.ID)
	wantCode(t, err, "merchant.onboarding_state") // one in progress: a second is refused

	ap := must[merchant.Approved](t)(svc.ApproveOnboarding(w.ctx, reviewer, l.ID, merchant.Approval{}))
	if ap.Live || ap.Onboarding.ApplymentID == 0 || ap.Onboarding.Review != merchant.ReviewApproved || ap.Onboarding.State != merchant.OnboardingAuditing {
		t.Fatalf("approved, at WeChat: %+v", ap)
	}
	code := ap.Onboarding.BusinessCode
	move := func(state, reason string) {
		t.Helper()
		env.Control(http.MethodPost, "/sim/applyments", wxsim.ApplymentMove{BusinessCode: code, State: state, RejectReason: reason}, nil)
	}
	sync := func(want merchant.OnboardingState) merchant.Approved {
		t.Helper()
		a := must[merchant.Approved](t)(svc.SyncApplyment(w.ctx, reviewer, l.ID))
		if a.Onboarding.State != want {
			t.Fatalf("synced %s, want %s: %+v", a.Onboarding.State, want, a.Onboarding)
		}
		return a
	}
	// WeChat rejects: back to the rep with WeChat's reason; resubmitted under the same number.
	move("REJECTED", "营业执照不清晰")
	if a := sync(merchant.OnboardingRejected); a.Onboarding.Reason != "营业执照不清晰" {
		t.Fatalf("reason %q", a.Onboarding.Reason)
	}
	must[merchant.Onboarding](t)(svc.SubmitOnboarding(w.ctx, rep, l.ID))
	ap = must[merchant.Approved](t)(svc.ApproveOnboarding(w.ctx, reviewer, l.ID, merchant.Approval{}))
	if ap.Onboarding.BusinessCode != code {
		t.Fatalf("resubmitted as %s, not %s", ap.Onboarding.BusinessCode, code)
	}
	move("TO_BE_CONFIRMED", "")
	sync(merchant.OnboardingToBeConfirmed)
	move("TO_BE_SIGNED", "")
	if a := sync(merchant.OnboardingToBeSigned); a.Onboarding.SignURL == "" {
		t.Fatal("no signing link")
	}
	move("SIGNING", "")
	sync(merchant.OnboardingSigning)
	move("FINISHED", "")
	// The scheduled task finds it and the shop goes live.
	if n, err := svc.SyncApplyments(w.ctx, 10); err != nil || n != 1 {
		t.Fatalf("sync task: %d %v", n, err)
	}
	d := must[merchant.ApplicationDetail](t)(svc.GetApplication(w.ctx, reviewer, l.ID))
	if d.Onboarding.State != merchant.OnboardingFinished || d.MerchantID == nil || d.Onboarding.SubMchID == "" || len(d.History) < 8 {
		t.Fatalf("detail: %+v", d)
	}
	m := must[merchant.Merchant](t)(svc.GetMerchant(w.ctx, rep, *d.MerchantID))
	if m.Status != "live" || m.SubMchID != d.Onboarding.SubMchID {
		t.Fatalf("merchant: %+v", m)
	}
	// Nothing more to sync; the lead is live.
	if n, err := svc.SyncApplyments(w.ctx, 10); err != nil || n != 0 {
		t.Fatalf("second sync: %d %v", n, err)
	}
	if got := must[merchant.Lead](t)(svc.GetLead(w.ctx, rep, l.ID)); got.Stage != merchant.StageLive {
		t.Fatalf("stage %s", got.Stage)
	}
}

// A sub-merchant number belongs to one merchant: approving a second shop with it is
// refused, naming the field, and changes nothing.
func TestSubMchIDBelongsToOneMerchant(t *testing.T) {
	t.Parallel()
	w := newWorld(t, merchant.Config{})
	reviewer := w.p(t, "reviewer")
	var leads []merchant.Lead
	for _, phone := range []string{"13800000911", "13800000912"} {
		l := negotiating(t, w, phone)
		must[merchant.Contract](t)(w.svc.SignContract(w.ctx, w.p(t, "sh.manager"), l.ID,
			merchant.NewContract{CommissionRate: "6%", SettlementCycle: merchant.CycleT1, StartsOn: "2026-01-01", EndsOn: "2027-01-01"}))
		must[merchant.Onboarding](t)(w.svc.SubmitOnboarding(w.ctx, w.p(t, "sh1.rep"), l.ID))
		leads = append(leads, l)
	}
	must[merchant.Approved](t)(w.svc.ApproveOnboarding(w.ctx, reviewer, leads[0].ID, merchant.Approval{SubMchID: "1900000555"}))
	_, err := w.svc.ApproveOnboarding(w.ctx, reviewer, leads[1].ID, merchant.Approval{SubMchID: "1900000555"})
	if e := wantCode(t, err, merchant.CodeSubMchIDTaken); e.Field != "sub_mchid" || e.Kind != errs.KindConflict {
		t.Fatalf("refusal: %+v", e)
	}
	d := must[merchant.ApplicationDetail](t)(w.svc.GetApplication(w.ctx, reviewer, leads[1].ID))
	if d.Onboarding.Review != merchant.ReviewPending || d.MerchantID != nil {
		t.Fatalf("the refused approval changed %+v", d.Onboarding)
	}
}
