package billing_test

import (
	"testing"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/errs"
)

func TestStateMachine(t *testing.T) {
	all := []billing.State{billing.StateCreated, billing.StatePaying, billing.StatePaid, billing.StatePartiallyRefunded,
		billing.StateRefunded, billing.StateClosed}
	legal := map[[2]billing.State]bool{
		{billing.StateCreated, billing.StatePaying}: true, {billing.StateCreated, billing.StateClosed}: true,
		{billing.StatePaying, billing.StatePaid}: true, {billing.StatePaying, billing.StateClosed}: true,
		{billing.StatePaid, billing.StatePartiallyRefunded}: true, {billing.StatePaid, billing.StateRefunded}: true,
		{billing.StatePartiallyRefunded, billing.StatePartiallyRefunded}: true, {billing.StatePartiallyRefunded, billing.StateRefunded}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := billing.CanMove(from, to); got != legal[[2]billing.State{from, to}] {
				t.Errorf("%s → %s: %v", from, to, got)
			}
		}
	}
}

func TestCloseAnUnpaidOrder(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-close")
	o := w.order(c, 700)
	closed, err := w.svc.Close(w.ctx, c, o.ID)
	if err != nil || closed.State != billing.StateClosed || closed.ClosedAt == nil {
		t.Fatalf("close: %+v, %v", closed, err)
	}
	if ok, err := w.svc.QueryAndApply(w.ctx, o.OrderNo); err != nil || ok {
		t.Fatalf("a closed order queried: %v, %v", ok, err)
	}
	if _, err := w.svc.Prepay(w.ctx, c, o.ID, billing.PayNative); !errs.Is(err, billing.CodeOrderNotPayable) {
		t.Fatalf("prepay of a closed order: %v", err)
	}
	paid := w.order(c, 800)
	w.pay(paid.OrderNo)
	if _, err := w.svc.Close(w.ctx, c, paid.ID); !errs.Is(err, billing.CodeOrderNotPayable) {
		t.Fatalf("close of a paid order: %v", err)
	}
	if n := w.count(`SELECT count(*) FROM billing.order_transitions WHERE order_id = $1`, o.ID); n != 2 {
		t.Fatalf("%d transitions recorded, want created→paying→closed", n)
	}
}
