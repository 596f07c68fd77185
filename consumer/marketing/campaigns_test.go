package marketing_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
)

// fakeOffers is loyalty as campaigns see it: it issues at most once per key and
// remembers who got what; failAfter makes the nth call fail once (a worker dying
// mid-send).
type fakeOffers struct {
	mu        sync.Mutex
	stock     int64
	issued    map[string]uuid.UUID // key → member
	calls     int
	failAt    int
	redundant int // grants asked again for a key already issued (a retried batch)
}

func newFakeOffers(stock int64) *fakeOffers {
	return &fakeOffers{stock: stock, issued: map[string]uuid.UUID{}}
}

func (f *fakeOffers) CouponStock(context.Context, string) (int64, error) { return f.stock, nil }

func (f *fakeOffers) IssueCoupons(_ context.Context, _ string, grants []marketing.Grant) (marketing.Issued, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.calls == f.failAt {
		// Half the batch goes through before the "crash".
		for _, g := range grants[:len(grants)/2] {
			f.issued[g.Key] = g.ConsumerID
		}
		return marketing.Issued{}, errors.New("worker killed")
	}
	for _, g := range grants {
		if _, ok := f.issued[g.Key]; ok {
			f.redundant++
			continue
		}
		f.issued[g.Key] = g.ConsumerID
	}
	return marketing.Issued{}, nil
}

func (f *fakeOffers) CreditPoints(ctx context.Context, _ int64, _ string, grants []marketing.Grant) (marketing.Issued, error) {
	return f.IssueCoupons(ctx, "", grants)
}

func (f *fakeOffers) keys() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.issued)
}

func (f *fakeOffers) members() map[uuid.UUID]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[uuid.UUID]int{}
	for _, m := range f.issued {
		out[m]++
	}
	return out
}

func saveAll(t *testing.T, svc *marketing.Service, name string, rule marketing.Rule) marketing.Segment {
	t.Helper()
	sg, err := svc.SaveSegment(context.Background(), identity.System(), uuid.Nil, name, rule)
	if err != nil {
		t.Fatal(err)
	}
	return sg
}

// A campaign sends each treatment member one coupon even when the worker dies in the
// middle of a batch, keeps a stable control group that gets nothing, and stops at
// its budget.
func TestCampaignSendsExactlyOnceWithHoldoutAndBudget(t *testing.T) {
	t.Parallel()
	offers := newFakeOffers(1 << 30)
	offers.failAt = 3
	svc, clk, ctx, db := newService(t, marketing.Ports{Offers: offers})
	if _, err := svc.SeedMembers(ctx, 5000, 3); err != nil {
		t.Fatal(err)
	}
	sys := identity.System()
	sg := saveAll(t, svc, "silver+", marketing.Rule{Field: "tier_at_least", Values: []string{"silver"}})
	c, err := svc.CreateCampaign(ctx, sys, marketing.CampaignInput{Name: "满30减5", SegmentID: sg.ID, Offer: marketing.OfferCoupon,
		CouponBatch: "MAN30JIAN5", UnitCostFen: 500, BudgetFen: 500 * 100000, HoldoutPct: 50, Schedule: marketing.ScheduleOnce})
	if err != nil {
		t.Fatal(err)
	}
	run, err := svc.StartNow(ctx, c.ID)
	if err != nil || run == uuid.Nil {
		t.Fatalf("start: %v, %v", run, err)
	}
	if err := svc.SendRun(ctx, run); err == nil {
		t.Fatal("the third batch's failure was not reported")
	}
	// The sender is gone; its lease runs out and the scheduled task takes over.
	if err := svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Freeze(testNow.Add(2 * time.Minute))
	if err := svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	_, runs, err := svc.CampaignResults(ctx, sys, c.ID)
	if err != nil || len(runs) != 1 {
		t.Fatalf("results: %v, %v", runs, err)
	}
	r := runs[0]
	got := offers.members()
	if r.State != "done" || r.Treated+r.Control != int64(sg.Members) || int64(len(got)) != r.Treated {
		t.Fatalf("run %+v: %d members got coupons, segment has %d", r, len(got), sg.Members)
	}
	for m, n := range got {
		if n != 1 {
			t.Fatalf("member %s got %d coupons", m, n)
		}
	}
	if offers.redundant == 0 {
		t.Fatal("the interrupted batch was not retried (the test proves nothing)")
	}
	share := float64(r.Control) / float64(r.Treated+r.Control)
	if share < 0.45 || share > 0.55 {
		t.Fatalf("control share %.2f, want about half", share)
	}
	var controlGot int64
	if err := db.QueryRow(ctx, `SELECT count(*) FROM marketing.sends WHERE arm = 'control' AND consumer_id = ANY($1)`, keys(got)).Scan(&controlGot); err != nil || controlGot != 0 {
		t.Fatalf("%d control members got a coupon (%v)", controlGot, err)
	}
	// Running it again changes nothing: the campaign is done.
	if err := svc.RunDue(ctx); err != nil || len(offers.members()) != len(got) {
		t.Fatalf("a second pass issued more: %v", err)
	}

	// A budget for 100 coupons issues 100.
	small, err := svc.CreateCampaign(ctx, sys, marketing.CampaignInput{Name: "small", SegmentID: sg.ID, Offer: marketing.OfferCoupon,
		CouponBatch: "B2", UnitCostFen: 300, BudgetFen: 300*100 + 299, HoldoutPct: 10, Schedule: marketing.ScheduleOnce})
	if err != nil {
		t.Fatal(err)
	}
	before := offers.keys()
	if _, err := svc.StartNow(ctx, small.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	cs, runs, err := svc.CampaignResults(ctx, sys, small.ID)
	if err != nil || runs[0].Treated != 100 || runs[0].CostFen != 30000 || cs.State != marketing.StateDone || offers.keys()-before != 100 {
		t.Fatalf("budget: %+v %+v, %v", cs, runs, err)
	}
}

func keys(m map[uuid.UUID]int) []uuid.UUID {
	out := make([]uuid.UUID, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Bad campaigns are refused before anything starts; a running campaign's audience
// cannot be changed, a paused one's can.
func TestCampaignBadInputIsRefused(t *testing.T) {
	t.Parallel()
	offers := newFakeOffers(0)
	svc, _, ctx, _ := newService(t, marketing.Ports{Offers: offers})
	if _, err := svc.SeedMembers(ctx, 300, 5); err != nil {
		t.Fatal(err)
	}
	sys := identity.System()
	sg := saveAll(t, svc, "everyone", marketing.Rule{Field: "joined_after", Date: "2000-01-01"})
	empty := saveAll(t, svc, "nobody", marketing.Rule{Field: "points_balance", Op: "gte", Value: 1 << 23})
	ok := marketing.CampaignInput{Name: "积分", SegmentID: sg.ID, Offer: marketing.OfferPoints, Points: 100, UnitCostFen: 100,
		BudgetFen: 100000, HoldoutPct: 20, Schedule: marketing.ScheduleOnce}
	for _, c := range []struct {
		change func(*marketing.CampaignInput)
		code   string
		field  string
	}{
		{func(in *marketing.CampaignInput) { in.BudgetFen = 0 }, marketing.CodeNoBudget, "budget_fen"},
		{func(in *marketing.CampaignInput) { in.SegmentID = empty.ID }, marketing.CodeEmptyAudience, "segment_id"},
		{func(in *marketing.CampaignInput) { in.Offer, in.CouponBatch = marketing.OfferCoupon, "SOLDOUT" }, marketing.CodeNoStock, "coupon_batch"},
		{func(in *marketing.CampaignInput) { in.HoldoutPct = 95 }, marketing.CodeCampaignInvalid, "holdout_pct"},
		{func(in *marketing.CampaignInput) { in.SegmentID = uuid.New() }, marketing.CodeSegmentNotFound, "segment_id"},
		{func(in *marketing.CampaignInput) { in.Schedule = marketing.ScheduleRecurring }, marketing.CodeCampaignInvalid, "every_days"},
	} {
		in := ok
		c.change(&in)
		_, err := svc.CreateCampaign(ctx, sys, in)
		if e := errs.As(err); e == nil || e.Code != c.code || e.Field != c.field {
			t.Errorf("%+v: %v, want %s on %s", in, err, c.code, c.field)
		}
	}
	if list, _ := svc.ListCampaigns(ctx, sys); len(list) != 0 {
		t.Fatalf("refused campaigns were written: %v", list)
	}
	c, err := svc.CreateCampaign(ctx, sys, ok)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.StartNow(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	other := saveAll(t, svc, "women", marketing.Rule{Field: "gender", Values: []string{"f"}})
	if err := svc.ChangeAudience(ctx, sys, c.ID, other.ID); errs.CodeOf(err) != marketing.CodeCampaignRunning {
		t.Fatalf("audience of a running campaign changed: %v", err)
	}
	if err := svc.PauseCampaign(ctx, sys, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangeAudience(ctx, sys, c.ID, other.ID); err != nil {
		t.Fatalf("audience of a paused campaign: %v", err)
	}
	cp, err := svc.CopyCampaign(ctx, sys, c.ID)
	if err != nil || cp.SegmentID != other.ID || cp.State != marketing.StateScheduled {
		t.Fatalf("copy: %+v, %v", cp, err)
	}
}

// Results compare GMV per member of treatment and control over the attribution
// window, with the uplift's interval.
func TestCampaignResultsShowUplift(t *testing.T) {
	t.Parallel()
	offers := newFakeOffers(1 << 30)
	svc, clk, ctx, db := newService(t, marketing.Ports{Offers: offers})
	if _, err := svc.SeedMembers(ctx, 2000, 9); err != nil {
		t.Fatal(err)
	}
	sys := identity.System()
	sg := saveAll(t, svc, "all", marketing.Rule{Field: "joined_after", Date: "2000-01-01"})
	c, err := svc.CreateCampaign(ctx, sys, marketing.CampaignInput{Name: "uplift", SegmentID: sg.ID, Offer: marketing.OfferCoupon,
		CouponBatch: "MAN30JIAN5", UnitCostFen: 500, BudgetFen: 1 << 40, HoldoutPct: 50, Schedule: marketing.ScheduleOnce})
	if err != nil {
		t.Fatal(err)
	}
	run, err := svc.StartNow(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.SendRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	// Every treated member orders 30 yuan in the window, every tenth control member too;
	// one order is after the window and does not count.
	rows, err := db.Query(ctx, `SELECT consumer_id, arm FROM marketing.sends WHERE run_id = $1`, run)
	if err != nil {
		t.Fatal(err)
	}
	type send struct {
		id  uuid.UUID
		arm string
	}
	var sends []send
	for rows.Next() {
		var s send
		if err := rows.Scan(&s.id, &s.arm); err != nil {
			t.Fatal(err)
		}
		sends = append(sends, s)
	}
	rows.Close()
	i := 0
	for _, s := range sends {
		if s.arm == "treatment" || i%10 == 0 {
			deliverTo(t, svc, envelope(t, events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.New(), ConsumerID: s.id,
				MerchantID: uuid.New(), AmountFen: 3000, PaidAt: testNow.Add(24 * time.Hour)}))
		}
		if s.arm == "control" {
			i++
		}
	}
	deliverTo(t, svc, envelope(t, events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.New(), ConsumerID: sends[0].id,
		MerchantID: uuid.New(), AmountFen: 99900, PaidAt: testNow.Add(8 * 24 * time.Hour)}))
	_, runs, err := svc.CampaignResults(ctx, sys, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := runs[0]
	if r.Treatment.GMVPerMemberFen != 3000 || r.Holdout.GMVPerMemberFen < 250 || r.Holdout.GMVPerMemberFen > 350 {
		t.Fatalf("per member: treatment %.1f control %.1f", r.Treatment.GMVPerMemberFen, r.Holdout.GMVPerMemberFen)
	}
	if r.UpliftFen < 2600 || r.UpliftLowFen >= r.UpliftFen || r.UpliftHighFen <= r.UpliftFen || r.UpliftLowFen < 2000 {
		t.Fatalf("uplift %.1f [%.1f, %.1f]", r.UpliftFen, r.UpliftLowFen, r.UpliftHighFen)
	}
	if r.ROI <= 0 || r.Progress != 1 {
		t.Fatalf("roi %.2f progress %.2f", r.ROI, r.Progress)
	}
	// Day by day: the run started on 12-06 (Shanghai), the orders came on 12-07.
	clk.Freeze(testNow.Add(3 * 24 * time.Hour))
	if _, runs, err = svc.CampaignResults(ctx, sys, c.ID); err != nil {
		t.Fatal(err)
	}
	days := runs[0].Days
	if len(days) != 4 || days[0].Day != "2026-12-06" || days[3].Day != "2026-12-09" {
		t.Fatalf("days: %+v", days)
	}
	if days[0].TreatmentGMV != 0 || days[0].UpliftFen != 0 || days[0].Reach != r.Treated || days[0].CostFen != r.CostFen {
		t.Errorf("first day: %+v", days[0])
	}
	if d := days[1]; d.TreatmentGMV != 3000 || d.UpliftFen != r.UpliftFen || d.UpliftLowFen != r.UpliftLowFen || d.ROI != r.ROI {
		t.Errorf("second day %+v, the run as a whole %+v", d, r)
	}
}

// Referrals: self-referral refused; both sides rewarded once, only after the first
// order survived the refund window; a refunded first order earns nothing.
func TestReferralsRewardBothAfterTheRefundWindow(t *testing.T) {
	t.Parallel()
	offers := newFakeOffers(0)
	svc, clk, ctx, _ := newService(t, marketing.Ports{Offers: offers})
	referrer, invitee, refunder, buyer := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for _, id := range []uuid.UUID{referrer, invitee, refunder, buyer} {
		deliverTo(t, svc, envelope(t, events.TopicMemberJoined, events.MemberJoined{ConsumerID: id, JoinedAt: testNow}))
	}
	code, err := svc.ReferralCode(ctx, referrer, "phone-A")
	if err != nil || len(code) != 8 {
		t.Fatalf("code %q, %v", code, err)
	}
	if again, _ := svc.ReferralCode(ctx, referrer, "phone-A"); again != code {
		t.Fatalf("a second ask made another code: %s, %s", again, code)
	}
	if err := svc.AcceptInvite(ctx, referrer, code, ""); errs.CodeOf(err) != marketing.CodeSelfReferral {
		t.Fatalf("own code: %v", err)
	}
	if err := svc.AcceptInvite(ctx, invitee, code, "phone-A"); errs.CodeOf(err) != marketing.CodeSelfReferral {
		t.Fatalf("the referrer's device: %v", err)
	}
	pay := func(who uuid.UUID) uuid.UUID {
		order := uuid.New()
		deliverTo(t, svc, envelope(t, events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: order, ConsumerID: who,
			MerchantID: uuid.New(), AmountFen: 5000, PaidAt: clk.Now()}))
		return order
	}
	pay(buyer)
	if err := svc.AcceptInvite(ctx, buyer, code, "phone-B"); errs.CodeOf(err) != marketing.CodeNotNewMember {
		t.Fatalf("a member who ordered: %v", err)
	}
	for _, id := range []uuid.UUID{invitee, refunder} {
		if err := svc.AcceptInvite(ctx, id, strings.ToLower(code), "phone-"+id.String()); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.AcceptInvite(ctx, invitee, code, ""); errs.CodeOf(err) != marketing.CodeAlreadyReferred {
		t.Fatalf("twice: %v", err)
	}
	pay(invitee)
	refunded := pay(refunder)
	deliverTo(t, svc, envelope(t, events.TopicRefundSucceeded, events.RefundSucceeded{RefundID: uuid.New(), OrderID: refunded,
		ConsumerID: refunder, OrderAmountFen: 5000, RefundFen: 5000, RefundedTotalFen: 5000, SucceededAt: clk.Now()}))
	if n, err := svc.SettleReferrals(ctx); err != nil || n != 0 || offers.keys() != 0 {
		t.Fatalf("rewarded inside the window: %d, %v", n, err)
	}
	clk.Freeze(testNow.Add(7*24*time.Hour + time.Minute))
	for range 2 {
		if _, err := svc.SettleReferrals(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := offers.members()
	if len(got) != 2 || got[referrer] != 1 || got[invitee] != 1 {
		t.Fatalf("rewards %v: want the referrer and the invitee once each, not the refunder", got)
	}
}
