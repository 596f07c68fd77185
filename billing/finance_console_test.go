package billing_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// approvalOf is the approval request of a refund waiting for one.
func approvalOf(w *world, r billing.Refund) approval.Request {
	w.t.Helper()
	reqs, err := w.approvals.ForSubject(w.ctx, approval.Subject{Type: "billing.refund", ID: r.ID.String()})
	if err != nil || len(reqs) != 1 {
		w.t.Fatalf("approval of refund %s: %v, %v", r.OutRefundNo, reqs, err)
	}
	return reqs[0]
}

func refundState(w *world, o billing.Order, id uuid.UUID) billing.Refund {
	w.t.Helper()
	rs, err := w.svc.ListRefunds(w.ctx, w.as("finance"), o.ID)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, r := range rs {
		if r.ID == id {
			return r
		}
	}
	w.t.Fatalf("no refund %s", id)
	return billing.Refund{}
}

// TestNoApprovalLimitByDefault: RefundApprovalOver 0 (TANDEM_REFUND_APPROVAL_OVER=0)
// is "no refund needs an approval": a refund of 6,000.00 goes straight to WeChat.
func TestNoApprovalLimitByDefault(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, func(c *billing.Config) { c.RefundApprovalOver = 0 })
	c := w.member("o-no-approval")
	o := w.order(c, 600_000)
	w.pay(o.OrderNo)
	r, err := refund(w, o, 600_000, "")
	if err != nil || r.State == billing.RefundPendingApproval || r.Attempts != 1 {
		t.Fatalf("refund %+v, %v", r, err)
	}
}

// TestRefundOverTheLimitWaitsForApproval: a refund over the configured amount is
// recorded pending_approval, reserves its amount and reaches WeChat only once another
// holder of billing.refund.create approves it (the requester and a merchant's owner
// cannot); a rejected one frees its amount.
func TestRefundOverTheLimitWaitsForApproval(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, func(c *billing.Config) { c.RefundApprovalOver = 2_000 })
	c := w.member("o-approval")
	o := w.order(c, 10_000)
	w.pay(o.OrderNo)

	big, err := refund(w, o, 6_000, "")
	if err != nil || big.State != billing.RefundPendingApproval || big.Attempts != 0 {
		t.Fatalf("over the limit: %+v, %v", big, err)
	}
	if _, err := w.sim.Client().QueryRefund(w.ctx, big.OutRefundNo); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("WeChat was asked for the refund before the approval: %v", err)
	}
	w.clock.Advance(2 * time.Minute)
	if _, err := refund(w, o, 4_001, ""); !errs.Is(err, billing.CodeRefundExceeds) {
		t.Fatalf("the waiting refund reserves nothing: %v", err)
	}
	req := approvalOf(w, big)
	if _, err := w.approvals.Decide(w.ctx, w.as("finance"), req.ID, approval.Decision{Approve: true}); !errs.Is(err, approval.CodeOwnRequest) {
		t.Fatalf("the requester approves: %v", err)
	}
	if _, err := w.approvals.Decide(w.ctx, w.as("shop.owner"), req.ID, approval.Decision{Approve: true}); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("an owner approves: %v", err)
	}
	if _, err := w.approvals.Decide(w.ctx, w.as("admin"), req.ID, approval.Decision{Approve: true, Comment: "客诉属实"}); err != nil {
		t.Fatal(err)
	}
	if got := refundState(w, o, big.ID); got.State != billing.RefundRequested {
		t.Fatalf("approved: %+v", got)
	}
	// The approval's event sends it, however often it is delivered.
	w.deliver(approvalSubscriptions(w), 3)
	if got := refundState(w, o, big.ID); got.State != billing.RefundProcessing || got.RefundID == "" {
		t.Fatalf("after the approval's event: %+v", got)
	}

	w.clock.Advance(2 * time.Minute)
	second, err := refund(w, o, 3_000, "")
	if err != nil || second.State != billing.RefundPendingApproval {
		t.Fatalf("second: %+v, %v", second, err)
	}
	if _, err := w.approvals.Decide(w.ctx, w.as("admin"), approvalOf(w, second).ID, approval.Decision{Comment: "金额不对"}); err != nil {
		t.Fatal(err)
	}
	if got := refundState(w, o, second.ID); got.State != billing.RefundRejected || got.LastError != "approval rejected: 金额不对" {
		t.Fatalf("rejected: %+v", got)
	}
	w.clock.Advance(2 * time.Minute)
	if r, err := refund(w, o, 2_000, ""); err != nil || r.State == billing.RefundPendingApproval {
		t.Fatalf("the rejected refund's amount is free again, and 20.00 needs no approval: %+v, %v", r, err)
	}
}

func approvalSubscriptions(w *world) []outbox.Subscription {
	var out []outbox.Subscription
	for _, s := range domain.Collect(w.svc).Subscriptions() {
		if s.Topic == events.TopicApprovalDecided {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		w.t.Fatal("billing does not subscribe to approval decisions")
	}
	return out
}

// TestStatementAdjustmentsAndLines: adjustments count in the period they are made,
// signed as the merchant sees them; a correction of an issued statement lands in the
// next one and the issued one does not change; the entries behind a statement sum to
// its figures; only finance adjusts.
func TestStatementAdjustmentsAndLines(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-adjust")
	a, b := w.order(c, 10_000), w.order(c, 3_333)
	w.pay(a.OrderNo)
	w.pay(b.OrderNo)
	if _, err := w.svc.BookFees(w.ctx, []billing.BillFee{{OutTradeNo: a.OrderNo, FeeMilliFen: 60_000}}); err != nil {
		t.Fatal(err)
	}
	fin := w.as("finance")
	day := w.clock.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	if _, err := w.svc.Adjust(w.ctx, w.as("shop.owner"), w.merchant, billing.NewAdjustment{AmountFen: 100, Reason: "x"}); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("an owner adjusts: %v", err)
	}
	if _, err := w.svc.Adjust(w.ctx, fin, w.merchant, billing.NewAdjustment{AmountFen: 0, Reason: "x"}); errs.KindOf(err) != errs.KindInvalid {
		t.Fatalf("a zero adjustment: %v", err)
	}
	if _, err := w.svc.Adjust(w.ctx, fin, w.merchant, billing.NewAdjustment{AmountFen: 500, Reason: "活动补贴"}); err != nil {
		t.Fatal(err)
	}
	st, err := w.svc.MerchantStatement(w.ctx, fin, w.merchant, "", day)
	if err != nil {
		t.Fatal(err)
	}
	// Commission 6.5 % half-even per order: 650 and 216.645 → 217.
	if st.AdjustmentFen != 500 || st.CommissionFen != 650+217 || st.FeesFen != 60 ||
		st.NetFen != 13_333-867-60+500 {
		t.Fatalf("statement %+v", st)
	}
	lines, err := w.svc.StatementLines(w.ctx, fin, st)
	if err != nil {
		t.Fatal(err)
	}
	var gross, commission, fee, adj, net int64
	for _, l := range lines {
		gross, commission, fee, adj, net = gross+l.GrossFen, commission+l.CommissionFen, fee+l.FeeFen, adj+l.AdjustmentFen, net+l.NetFen
	}
	if len(lines) != 4 || gross != st.GrossFen-st.RefundsFen || commission != st.CommissionFen || fee != st.FeesFen ||
		adj != st.AdjustmentFen || net != st.NetFen {
		t.Fatalf("lines %+v do not sum to %+v", lines, st)
	}

	w.clock.Advance(24 * time.Hour)
	issued, err := w.svc.IssueStatement(w.ctx, fin, w.merchant, "", day)
	if err != nil {
		t.Fatal(err)
	}
	// tandem settle reproduces the issued statement, as of its issue, however often it is asked.
	for range 2 {
		all, err := billing.NewSettlement(w.db).Settle(w.ctx, billing.CycleT1, day, *issued.IssuedAt)
		if err != nil || len(all) != 1 || all[0].NetFen != issued.NetFen || all[0].GrossFen != issued.GrossFen ||
			all[0].AdjustmentFen != issued.AdjustmentFen || all[0].Payments != issued.Payments {
			t.Fatalf("settle %+v, %v; issued %+v", all, err, issued)
		}
	}
	if _, err := w.svc.Adjust(w.ctx, fin, w.merchant, billing.NewAdjustment{AmountFen: -300, Reason: "更正：多付的补贴", Corrects: issued.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Adjust(w.ctx, fin, w.merchant, billing.NewAdjustment{AmountFen: -1, Reason: "x", Corrects: uuid.New()}); errs.KindOf(err) != errs.KindInvalid {
		t.Fatalf("correcting a statement that is not there: %v", err)
	}
	again, err := w.svc.MerchantStatement(w.ctx, fin, w.merchant, "", day)
	if err != nil || again.AdjustmentFen != 500 || again.NetFen != issued.NetFen {
		t.Fatalf("the issued statement changed: %+v, %v", again, err)
	}
	next := w.clock.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	nst, err := w.svc.MerchantStatement(w.ctx, fin, w.merchant, "", next)
	if err != nil || nst.AdjustmentFen != -300 || nst.NetFen != -300 {
		t.Fatalf("the correction is not in the next statement (a negative net stays negative): %+v, %v", nst, err)
	}
	list, err := w.svc.ListStatements(w.ctx, w.as("shop.owner"), billing.StatementFilter{})
	if err != nil || len(list) != 1 || list[0].ID != issued.ID {
		t.Fatalf("the owner's statements: %+v, %v", list, err)
	}
	if list, err := w.svc.ListStatements(w.ctx, w.as("shop2.owner"), billing.StatementFilter{}); err != nil || len(list) != 0 {
		t.Fatalf("another owner's statements: %+v, %v", list, err)
	}
}

// TestStatementCycles: days are Asia/Shanghai calendar days; T+1 and T+7 are daily
// statements payable on D+1 and D+7, monthly the calendar month payable on the 1st.
func TestStatementCycles(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	fin := w.as("finance")
	for _, tc := range []struct{ cycle, period, start, end, payable string }{
		{billing.CycleT1, "2025-03-14", "2025-03-14", "2025-03-15", "2025-03-15"},
		{billing.CycleT7, "2025-03-14", "2025-03-14", "2025-03-15", "2025-03-21"},
		{billing.CycleMonthly, "2025-02", "2025-02-01", "2025-03-01", "2025-03-01"},
	} {
		st, err := w.svc.MerchantStatement(w.ctx, fin, w.merchant, tc.cycle, tc.period)
		if err != nil || st.PeriodStart != tc.start || st.PeriodEnd != tc.end || st.PayableOn != tc.payable {
			t.Errorf("%s %s: %+v, %v", tc.cycle, tc.period, st, err)
		}
	}
	if _, err := w.svc.MerchantStatement(w.ctx, fin, w.merchant, billing.CycleMonthly, "2025-03-14"); !errs.Is(err, billing.CodeInvalidPeriod) {
		t.Errorf("a day for a monthly statement: %v", err)
	}
}

// TestTerminatedMerchantsRefundsStillSettle: a statement reads only billing's ledger,
// never the contract's state: a refund after the merchant's contract ended is in its
// statement, commission given back at the order's rate.
func TestTerminatedMerchantsRefundsStillSettle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-terminated")
	o := w.order(c, 10_000)
	w.pay(o.OrderNo)
	w.merchants.set(w.merchant, billing.Terms{CommissionRate: rate(t, "9%"), SettlementCycle: "T+1", Live: false}) // ended, and a new rate
	r, err := refund(w, o, 10_000, "")
	if err != nil {
		t.Fatal(err)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	day := w.clock.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	st, err := w.svc.MerchantStatement(w.ctx, w.as("finance"), w.merchant, "", day)
	if err != nil || st.RefundsFen != 10_000 || st.Refunds != 1 || st.CommissionFen != 0 || st.NetFen != 0 {
		t.Fatalf("statement %+v, %v", st, err)
	}
}
