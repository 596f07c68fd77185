package billing_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
)

// TestStatementOfADay: the merchant's T+1 statement comes from the ledger: gross,
// refunds, commission (net of what refunds gave back), WeChat's fees and net; the
// owner reads their own, finance issues it (immutable, issued once) and pays it once.
func TestStatementOfADay(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-statement")
	a, b := w.order(c, 10_000), w.order(c, 5_000)
	w.pay(a.OrderNo)
	w.pay(b.OrderNo)
	r, err := refund(w, b, 2_000, "")
	if err != nil {
		t.Fatal(err)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	if _, err := w.svc.BookFees(w.ctx, []billing.BillFee{{OutTradeNo: a.OrderNo, FeeMilliFen: 60_000},
		{OutTradeNo: b.OrderNo, FeeMilliFen: 30_000}, {OutTradeNo: b.OrderNo, OutRefundNo: r.OutRefundNo, FeeMilliFen: -12_000}}); err != nil {
		t.Fatal(err)
	}
	day := time.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	st, err := w.svc.MerchantStatement(w.ctx, w.as("shop.owner"), w.merchant, "", day)
	if err != nil {
		t.Fatal(err)
	}
	// Commission 6.5%: 650 + 325 (half-even per order); the refund of 20.00 gives back
	// 325 − commission(30.00)=195 → 130. Fees 60 + 30 − 12.
	want := billing.Statement{GrossFen: 15_000, RefundsFen: 2_000, CommissionFen: 650 + 325 - 130, FeesFen: 78, Payments: 2, Refunds: 1}
	if st.GrossFen != want.GrossFen || st.RefundsFen != want.RefundsFen || st.CommissionFen != want.CommissionFen ||
		st.FeesFen != want.FeesFen || st.Payments != 2 || st.Refunds != 1 || st.Issued || st.Cycle != billing.CycleT1 {
		t.Fatalf("statement %+v", st)
	}
	if st.NetFen != st.GrossFen-st.RefundsFen-st.CommissionFen-st.FeesFen {
		t.Fatalf("net %d of %+v", st.NetFen, st)
	}
	if _, err := w.svc.MerchantStatement(w.ctx, w.as("shop2.owner"), w.merchant, "", day); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("another merchant's owner: %v", err)
	}
	if _, err := w.svc.IssueStatement(w.ctx, w.as("shop.owner"), w.merchant, "", day); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("the owner issues: %v", err)
	}
	if _, err := w.svc.MerchantStatement(w.ctx, w.as("finance"), w.merchant, "", "2025-13-01"); !errs.Is(err, billing.CodeInvalidPeriod) {
		t.Fatalf("a bad period: %v", err)
	}
	if _, err := w.svc.IssueStatement(w.ctx, w.as("finance"), w.merchant, "", day); !errs.Is(err, billing.CodePeriodOpen) {
		t.Fatalf("issued before its day ended: %v", err)
	}
	w.clock.Advance(24 * time.Hour)
	issued, err := w.svc.IssueStatement(w.ctx, w.as("finance"), w.merchant, "", day)
	if err != nil || !issued.Issued || issued.NetFen != st.NetFen {
		t.Fatalf("issued %+v, %v", issued, err)
	}
	// Later money does not change an issued statement (it goes into the next one).
	w.clock.Advance(time.Minute)
	r2, err := refund(w, a, 1_000, "")
	if err != nil {
		t.Fatal(err)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r2.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	again, err := w.svc.IssueStatement(w.ctx, w.as("finance"), w.merchant, "", day)
	if err != nil || again.ID != issued.ID || again.RefundsFen != 2_000 {
		t.Fatalf("issued again %+v, %v", again, err)
	}
	if _, err := w.db.Exec(w.ctx, `UPDATE billing.statements SET net_fen = 0 WHERE id = $1`, issued.ID); err == nil {
		t.Fatal("an issued statement was changed")
	}
	paid, err := w.svc.MarkStatementPaid(w.ctx, w.as("finance"), issued.ID, "CMB-20250315-0001")
	if err != nil || paid.PaidAt == nil || paid.PayoutRef != "CMB-20250315-0001" {
		t.Fatalf("paid %+v, %v", paid, err)
	}
	if _, err := w.svc.MarkStatementPaid(w.ctx, w.as("finance"), issued.ID, "again"); !errs.Is(err, billing.CodeStatementPaid) {
		t.Fatalf("paid twice: %v", err)
	}
}

// A statement is its merchant's alone, and tandem settle's one pass over every merchant
// gives each merchant the figures of its own statement: A's and B's payments and B's
// adjustment stay apart, C (an adjustment, no entries) has a row, D (nothing) has none
// and a statement of zeros.
func TestEachMerchantsStatementIsItsShareOfSettle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	fin := w.as("finance")
	b, c, d := w.demo.Merchants["B"], uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	for _, m := range []uuid.UUID{b, c, d} {
		w.merchants.set(m, billing.Terms{CommissionRate: rate(t, "5%"), SettlementCycle: "T+1", Live: true})
	}
	consumer := w.member("o-each-merchant")
	w.pay(w.order(consumer, 10_000).OrderNo)
	ob, err := w.svc.PlaceOrder(w.ctx, consumer, billing.NewOrder{MerchantID: b, Description: "生煎", Amount: money.MustNew(3_000, money.CNY)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Prepay(w.ctx, consumer, ob.ID, billing.PayJSAPI); err != nil {
		t.Fatal(err)
	}
	w.pay(ob.OrderNo)
	for m, fen := range map[uuid.UUID]int64{b: 700, c: -200} {
		if _, err := w.svc.Adjust(w.ctx, fin, m, billing.NewAdjustment{AmountFen: fen, Reason: "补贴"}); err != nil {
			t.Fatal(err)
		}
	}
	day := w.clock.Now().In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
	want := map[uuid.UUID]billing.Statement{
		w.merchant: {GrossFen: 10_000, CommissionFen: 650, Payments: 1, NetFen: 10_000 - 650},
		b:          {GrossFen: 3_000, CommissionFen: 150, Payments: 1, AdjustmentFen: 700, NetFen: 3_000 - 150 + 700},
		c:          {AdjustmentFen: -200, NetFen: -200},
		d:          {},
	}
	same := func(a, b billing.Statement) bool {
		return a.GrossFen == b.GrossFen && a.RefundsFen == b.RefundsFen && a.CommissionFen == b.CommissionFen && a.FeesFen == b.FeesFen &&
			a.AdjustmentFen == b.AdjustmentFen && a.NetFen == b.NetFen && a.Payments == b.Payments && a.Refunds == b.Refunds
	}
	for m, wst := range want {
		st, err := w.svc.MerchantStatement(w.ctx, fin, m, "", day)
		if err != nil || !same(st, wst) {
			t.Fatalf("merchant %s's statement %+v, %v; want %+v", m, st, err, wst)
		}
	}
	all, err := billing.NewSettlement(w.db).Settle(w.ctx, billing.CycleT1, day, time.Time{})
	if err != nil || len(all) != 3 {
		t.Fatalf("settle %+v, %v: want A, B and C", all, err)
	}
	for _, st := range all {
		if wst, ok := want[st.MerchantID]; !ok || st.MerchantID == d || !same(st, wst) {
			t.Fatalf("settle's statement of %s %+v; want %+v", st.MerchantID, st, wst)
		}
	}
}
