package billing_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
)

// commissionOf is what an order's entries booked to the platform so far.
func commissionOf(w *world, id uuid.UUID) int64 {
	w.t.Helper()
	ps, err := w.svc.OrderLedger(w.ctx, w.as("finance"), id)
	if err != nil {
		w.t.Fatal(err)
	}
	var c int64
	for _, p := range ps {
		if p.Account == billing.AccountCommission {
			c -= p.AmountFen
		}
	}
	return c
}

// TestCommissionAtTheRateInForceWhenPaid: an order's commission is booked at the
// contract's rate in force on the day WeChat says it was paid, not the rate it was
// placed at, half-even per order; a refund gives it back at that rate, even after the
// rate changed again.
func TestCommissionAtTheRateInForceWhenPaid(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-commission-rate")
	// Placed at the terms' 6.5 %; the contracts say 5 % from 2000 on, 9 % from 2999.
	w.merchants.setRateFrom(w.merchant, "2000-01-01", rate(t, "5%"))
	w.merchants.setRateFrom(w.merchant, "2999-01-01", rate(t, "9%"))
	a := w.order(c, 10_050)
	if a.CommissionRate != "6.5%" {
		t.Fatalf("placed at %s", a.CommissionRate)
	}
	w.pay(a.OrderNo)
	paid := w.get(a.ID)
	if paid.CommissionRate != "5%" || paid.PaidAt == nil {
		t.Fatalf("paid at %s (%v)", paid.CommissionRate, paid.PaidAt)
	}
	if got := commissionOf(w, a.ID); got != 502 { // 502.5 half-even
		t.Fatalf("commission %d, want 502 (5 %% of 100.50)", got)
	}
	// A new rate from the day a was paid: a later payment takes it (710.5 half-even).
	w.merchants.setRateFrom(w.merchant, paid.PaidAt.In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly), rate(t, "7%"))
	b := w.order(c, 10_150)
	w.pay(b.OrderNo)
	if got := commissionOf(w, b.ID); got != 710 || w.get(b.ID).CommissionRate != "7%" {
		t.Fatalf("commission %d at %s, want 710 at 7 %%", got, w.get(b.ID).CommissionRate)
	}
	// Refunding a after the change gives back a's commission, at a's rate: in two
	// parts, together exactly what was booked.
	for _, fen := range []int64{3_333, 6_717} {
		r, err := refund(w, a, fen, "")
		if err != nil {
			t.Fatal(err)
		}
		w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "SUCCESS"}, nil)
		w.sim.Wait()
		w.clock.Advance(time.Minute) // WeChat's spacing between refunds of an order
	}
	if got, st := commissionOf(w, a.ID), w.get(a.ID).State; got != 0 || st != billing.StateRefunded {
		t.Fatalf("after refunding it all, %s keeps %d of commission", st, got)
	}
	if got := commissionOf(w, b.ID); got != 710 {
		t.Fatalf("b's commission moved to %d", got)
	}
}
