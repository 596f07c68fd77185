package billing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/reconciliation/billingledger"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

func shanghai(t *testing.T, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	at, err := time.ParseInLocation(time.DateTime, s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// TestReconcileTheDayAgainstTheLedger: the day's bill downloaded from the simulator
// is matched against billing's ledger (one streaming query); the payment whose
// notification was dropped is missing on our side, repaired by querying WeChat,
// and applied once.
func TestReconcileTheDayAgainstTheLedger(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-recon")
	w.sim.Sim.Clock().Set(shanghai(t, "2025-03-14 08:00:00"), true)
	w.clock.Set(shanghai(t, "2025-03-14 08:00:00")) // billing's day too: WeChat refunds within 365 days
	var orders []billing.Order
	for i, fen := range []int64{100, 2_599, 4_321} {
		o := w.order(c, fen)
		if i == 1 {
			w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "drop", "out_trade_no": o.OrderNo}, nil)
		}
		w.sim.Control("POST", "/sim/pay", map[string]any{"out_trade_no": o.OrderNo,
			"at": shanghai(t, fmt.Sprintf("2025-03-14 %02d:00:00", 10+i))}, nil)
		orders = append(orders, o)
	}
	w.sim.Wait()
	r, err := w.svc.CreateRefund(w.ctx, w.as("finance"), orders[2].ID, billing.RefundRequest{Amount: money.MustNew(321, money.CNY), Reason: "partial"})
	if err != nil {
		t.Fatal(err)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	w.sim.Sim.Clock().Set(shanghai(t, "2025-03-15 11:00:00"), true)

	ledger := billingledger.Adapter{Billing: w.svc}
	var streamed int
	if err := ledger.StreamLedger(w.ctx, reconciliation.LedgerQuery{MchID: w.sim.Merchant.MchID,
		From: shanghai(t, "2025-03-14 00:00:00"), To: shanghai(t, "2025-03-15 00:00:00")},
		func(*reconciliation.Record) error { streamed++; return nil }); err != nil {
		t.Fatal(err)
	}
	if streamed != 3 { // two payments (one was dropped) and one refund
		t.Fatalf("streamed %d records", streamed)
	}

	recon := reconciliation.New(domain.Deps{DB: pgtest.New(t, reconciliation.Migrations)}, reconciliation.Ports{Repairer: ledger, Fees: ledger}, reconciliation.Config{})
	rep, err := recon.RunDownload(w.ctx, w.sim.Client(), "2025-03-14", ledger)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Run.Repaired != 1 || len(rep.Top) != 1 || rep.Top[0].OutTradeNo != orders[1].OrderNo ||
		rep.Top[0].Class != reconciliation.ClassMissingOurs || rep.Top[0].RepairedAt == nil {
		t.Fatalf("run %+v, exceptions %+v", rep.Run, rep.Top)
	}
	if got := w.get(orders[1].ID); got.State != billing.StatePaid {
		t.Fatalf("the repaired order is %s", got.State)
	}
	if evs := w.outboxEvents(events.TopicPaymentSucceeded); len(evs) != 3 {
		t.Fatalf("%d payment events, want one per order", len(evs))
	}
	// A re-run of the date changes nothing: everything matches now.
	rep, err = recon.RunDownload(w.ctx, w.sim.Client(), "2025-03-14", ledger)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Top) != 0 {
		t.Fatalf("re-run exceptions %+v", rep.Top)
	}
	if evs := w.outboxEvents(events.TopicPaymentSucceeded); len(evs) != 3 {
		t.Fatalf("%d payment events after the re-run", len(evs))
	}
	// WeChat's fees are in the ledger, from the bill, once however often the day
	// runs: the matched payments' and the refund's (given back, negative). The
	// payment repaired during the first run was matched by the second.
	var entries int
	var payable, clearing, billFee int64
	if err := w.db.QueryRow(w.ctx, `SELECT count(DISTINCT e.id), COALESCE(SUM(p.amount_fen) FILTER (WHERE p.account = 'merchant_payable'), 0),
		COALESCE(SUM(p.amount_fen) FILTER (WHERE p.account = 'wxpay_clearing'), 0)
		FROM billing.journal_entries e JOIN billing.postings p ON p.entry_id = e.id WHERE e.kind = 'fee'`).Scan(&entries, &payable, &clearing); err != nil {
		t.Fatal(err)
	}
	billFee = (rep.Run.Totals.FeeMilliFen + 500) / 1000
	if entries != 4 || payable != billFee || clearing != -billFee || billFee == 0 {
		t.Fatalf("fee entries %d, payable %d, clearing %d; the bill's fees %d fen", entries, payable, clearing, billFee)
	}
}
