package consumer_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// handle hands the subscriber an event with payload, as the outbox would.
func (w *world) handle(t *testing.T, subscriber string, topic events.Topic, payload any) {
	t.Helper()
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range w.svc.Subscriptions() {
		if s.Subscriber == subscriber && s.Topic == topic {
			if err := outbox.Deliver(w.ctx, w.db, s, events.Envelope{ID: uuid.New(), Topic: topic, Payload: b}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no subscriber %s of %s", subscriber, topic)
}

func (w *world) program(t *testing.T, edit func(*consumer.Program)) {
	t.Helper()
	growth := w.staff(t, "growth")
	p, err := w.svc.Program(w.ctx, growth)
	if err != nil {
		t.Fatal(err)
	}
	edit(&p)
	if _, err := w.svc.SetProgram(w.ctx, growth, p); err != nil {
		t.Fatal(err)
	}
}

func TestPointsByActionFollowTheProgramOncePerAction(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 6, 1, 10))
	w.program(t, func(p *consumer.Program) {
		p.SignupPoints, p.ReferralPoints, p.ReviewPoints, p.ReviewsPerDay = 50, 200, 10, 1
	})
	if _, err := w.svc.SetProgram(w.ctx, w.staff(t, "growth"), consumer.Program{PointsPerYuan: 1, ExpiryMonths: 12, Rounding: "month",
		ReviewPoints: -1}); errs.As(err) == nil || errs.As(err).Field != "review_points" {
		t.Fatalf("a negative review reward: %v", err)
	}
	two := w.members(t, 2)
	me, friend := two[0], two[1]
	for range 2 { // the join event delivered twice: one sign-up reward
		w.handle(t, consumer.SubscriberSignupPoints, events.TopicMemberJoined, events.MemberJoined{ConsumerID: me})
	}
	if b := w.balance(t, me); b != 50 {
		t.Fatalf("after signing up: %d points, want 50", b)
	}
	for range 2 {
		if _, err := w.svc.EarnForAction(w.ctx, consumer.ActionRequest{ConsumerID: me, Action: consumer.ActionReferral, Ref: friend.String()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.svc.EarnForAction(w.ctx, consumer.ActionRequest{ConsumerID: me, Action: consumer.ActionReferral, Ref: me.String()}); errs.As(err) == nil || errs.As(err).Field != "ref" {
		t.Fatalf("self-referral: %v", err)
	}
	got := map[string]int64{}
	for _, ref := range []string{"r1", "r2", "r1"} { // one review a day earns
		n, err := w.svc.EarnForAction(w.ctx, consumer.ActionRequest{ConsumerID: me, Action: consumer.ActionReview, Ref: ref})
		if err != nil {
			t.Fatal(err)
		}
		got[ref] += n
	}
	if got["r1"] != 10 || got["r2"] != 0 {
		t.Fatalf("reviews earned %v, want 10 for the day's first only", got)
	}
	if b := w.balance(t, me); b != 50+200+10 {
		t.Fatalf("balance %d, want 260", b)
	}
	w.conserved(t, me)
	// The 360 shows the referral on both sides.
	growth := w.staff(t, "growth")
	m, err := w.svc.Member360(w.ctx, growth, me)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Referred) != 1 || m.Referred[0].ConsumerID != friend || m.Referred[0].Points != 200 {
		t.Fatalf("referred: %+v", m.Referred)
	}
	f, err := w.svc.Member360(w.ctx, growth, friend)
	if err != nil {
		t.Fatal(err)
	}
	if f.ReferredBy == nil || f.ReferredBy.ConsumerID != me {
		t.Fatalf("referred by: %+v", f.ReferredBy)
	}
}

func TestMember360ShowsTheOrdersKeptFromBillingsEvents(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 6, 1, 10))
	me := w.join(t, "o-orders")
	order := uuid.New()
	paid := sh(2026, 6, 1, 9)
	// The refund's event first, then the payment's, each twice: one row, both facts.
	refund := events.RefundSucceeded{RefundID: uuid.New(), OrderID: order, OrderNo: "TD1", ConsumerID: me, OrderAmountFen: 12_000,
		RefundFen: 4_000, RefundedTotalFen: 4_000}
	pay := events.PaymentSucceeded{OrderID: order, OrderNo: "TD1", ConsumerID: me, AmountFen: 12_000, PaidAt: paid}
	for range 2 {
		w.handle(t, consumer.SubscriberRefundsKeep, events.TopicRefundSucceeded, refund)
		w.handle(t, consumer.SubscriberOrdersKeep, events.TopicPaymentSucceeded, pay)
		w.handle(t, consumer.SubscriberPointsEarn, events.TopicPaymentSucceeded, pay)
	}
	m, err := w.svc.Member360(w.ctx, w.staff(t, "growth"), me)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Orders) != 1 {
		t.Fatalf("%d orders", len(m.Orders))
	}
	o := m.Orders[0]
	if o.OrderNo != "TD1" || o.AmountFen != 12_000 || o.RefundedFen != 4_000 || o.Points != 120 || o.PaidAt == nil || !o.PaidAt.Equal(paid) {
		t.Fatalf("order %+v", o)
	}
}

func TestACouponBatchStopsIssuingAtItsBudget(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 6, 1, 10))
	ids := w.members(t, 4)
	b := w.batch(t, consumer.CouponTemplate{Name: "立减10", Kind: consumer.CouponAmount, AmountFen: 1_000, ValidDays: 7},
		consumer.CouponBatch{Name: "budget", Stock: 100, PerMember: 1, Claimable: true, BudgetFen: 2_500})
	var issued int
	for _, id := range ids {
		_, err := w.svc.ClaimCoupon(w.ctx, id, b.ID)
		switch {
		case err == nil:
			issued++
		case errs.Is(err, consumer.CodeCouponBudgetSpent):
		default:
			t.Fatal(err)
		}
	}
	if issued != 2 {
		t.Fatalf("%d coupons of 10.00 issued on a 25.00 budget, want 2", issued)
	}
	growth := w.staff(t, "growth")
	tpl, err := w.svc.CreateCouponTemplate(w.ctx, growth, consumer.CouponTemplate{Name: "九折", Kind: consumer.CouponPercent, Percent: 10, ValidDays: 7})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.CreateCouponBatch(w.ctx, growth, consumer.CouponBatch{TemplateID: tpl.ID, Name: "x", Stock: 10, PerMember: 1,
		BudgetFen: 10_000}); errs.As(err) == nil || errs.As(err).Field != "budget_fen" {
		t.Fatalf("a budget on uncapped percent coupons: %v", err)
	}
}

func TestAdjustmentsOverTheLimitWaitForAnothersApproval(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, audit.Migrations, identity.Migrations, approval.Migrations, consumer.Migrations)
	ids := identity.NewService(db, redistest.New(t).Client(t), identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	approvals := approval.New(domain.Deps{DB: db})
	w := &world{db: db, ids: ids, ctx: t.Context(),
		svc: consumer.New(domain.Deps{DB: db}, consumer.Ports{Identities: ids, Approvals: approvals}, consumer.Config{})}
	id := w.join(t, "o-adj")
	growth, admin := w.staff(t, "growth"), w.staff(t, "admin")
	if adj, err := w.svc.Adjust(w.ctx, growth, id, 1_000, "small", "goodwill"); err != nil || !adj.Applied {
		t.Fatalf("at the limit: %+v, %v", adj, err)
	}
	adj, err := w.svc.Adjust(w.ctx, growth, id, 5_000, "big", "compensation")
	if err != nil || adj.Applied || adj.ApprovalID == uuid.Nil {
		t.Fatalf("over the limit: %+v, %v", adj, err)
	}
	if b := w.balance(t, id); b != 1_000 {
		t.Fatalf("balance %d before the approval", b)
	}
	if _, err := approvals.Decide(w.ctx, growth, adj.ApprovalID, approval.Decision{Approve: true}); err == nil {
		t.Fatal("the requester approved their own adjustment")
	}
	if _, err := approvals.Decide(w.ctx, admin, adj.ApprovalID, approval.Decision{Approve: true}); err != nil {
		t.Fatal(err)
	}
	if b := w.balance(t, id); b != 6_000 {
		t.Fatalf("balance %d after the approval, want 6000", b)
	}
	w.conserved(t, id)
	if _, err := w.svc.Adjust(w.ctx, growth, id, -6_001, "overdraw", "x"); !errs.Is(err, consumer.CodePointsInsufficient) {
		t.Fatalf("taking more than the balance went to approval: %v", err)
	}
	rej, err := w.svc.Adjust(w.ctx, growth, id, -4_000, "take", "mistake")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := approvals.Decide(w.ctx, admin, rej.ApprovalID, approval.Decision{Comment: "no"}); err != nil {
		t.Fatal(err)
	}
	if b := w.balance(t, id); b != 6_000 {
		t.Fatalf("a rejected adjustment changed the balance to %d", b)
	}
}

func TestTierWillDropNoticeGoesOncePerPeriod(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 1, 10, 10))
	id := w.join(t, "o-drop")
	order := uuid.New()
	if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: order, ConsumerID: id, AmountFen: 120_000}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(8 * 24 * time.Hour)
	if _, err := w.svc.ReleasePending(w.ctx); err != nil {
		t.Fatal(err)
	}
	notices := func() int {
		t.Helper()
		r, err := w.svc.NoticeDrops(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r.Members
	}
	clk.Freeze(sh(2026, 12, 20, 10)) // 21 days before the period ends; 1,200 yuan keeps Silver (retain 500)
	if n := notices(); n != 0 {
		t.Fatalf("%d notices to a member above the retention threshold", n)
	}
	if _, err := w.svc.ApplyRefund(w.ctx, consumer.Refund{RefundID: uuid.New(), OrderID: order, ConsumerID: id, OrderAmountFen: 120_000,
		RefundedTotalFen: 120_000}); err != nil {
		t.Fatal(err)
	}
	if n := notices(); n != 1 {
		t.Fatalf("%d notices after the refund left the member below Silver's retention", n)
	}
	if n := notices(); n != 0 {
		t.Fatalf("%d notices on the second run", n)
	}
	var payload []byte
	if err := w.db.QueryRow(w.ctx, `SELECT payload FROM platform.outbox WHERE topic = $1`, string(events.TopicTierDropExpected)).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	var e events.TierDropExpected
	if err := json.Unmarshal(payload, &e); err != nil {
		t.Fatal(err)
	}
	if e.ConsumerID != id || e.Level != 1 || e.Missing != 50_000 || !e.PeriodEnd.Equal(sh(2027, 1, 10, 10)) {
		t.Fatalf("notice %+v", e)
	}
	// the member is told too: once, in their notices
	mine, err := w.svc.MyNotices(w.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) != 1 || mine[0].Kind != consumer.NoticeTierDrop || mine[0].Missing != 50_000 || mine[0].Metric != consumer.MetricGrowth ||
		mine[0].LastDay != "2027-01-10" || mine[0].Tier == "" {
		t.Fatalf("the member's notices %+v", mine)
	}
}
