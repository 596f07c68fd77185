package billing_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/events"
)

// Payment notifications of many orders arriving at once share transactions and
// durable commits (a group commit), and each is judged exactly as it would be alone:
// every genuine one applied once with its balanced entry and its event, its copies
// (some in the same batch) logged as repeats, a mismatched one and one of an unknown
// order recorded, not applied; none fails the others, and every one is answered 204.
func TestNotificationsArrivingAtOnceShareCommitsAndApplyOnce(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-batch")
	w.hold.Store(true)
	var orders []billing.Order
	for i := range 12 {
		o := w.order(c, int64(100+i))
		w.pay(o.OrderNo)
		orders = append(orders, o)
	}
	w.hold.Store(false)
	notes := w.capturedOn(billing.NotifyPaymentPath)
	if len(notes) != len(orders) {
		t.Fatalf("%d notifications held, want %d", len(notes), len(orders))
	}
	mismatched, unknown := orders[10], orders[11]
	if _, err := w.db.Exec(w.ctx, `UPDATE billing.orders SET amount_fen = amount_fen + 1 WHERE id = $1`, mismatched.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(w.ctx, `UPDATE billing.orders SET order_no = order_no || 'X' WHERE id = $1`, unknown.ID); err != nil {
		t.Fatal(err)
	}

	const copies = 3
	var wg sync.WaitGroup
	start := make(chan struct{})
	statuses := make(chan int, copies*len(notes))
	for range copies {
		for _, n := range notes {
			wg.Go(func() {
				<-start
				statuses <- w.replay(n)
			})
		}
	}
	close(start)
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != http.StatusNoContent {
			t.Fatalf("a notification answered %d", st)
		}
	}

	for _, o := range orders[:10] {
		if got := w.get(o.ID); got.State != billing.StatePaid {
			t.Fatalf("order %s is %s", o.OrderNo, got.State)
		}
		if n := w.count(`SELECT count(*) FROM billing.notifications_log WHERE out_trade_no = $1 AND outcome = 'applied'`, o.OrderNo); n != 1 {
			t.Fatalf("order %s applied %d times", o.OrderNo, n)
		}
		if n := w.count(`SELECT count(*) FROM billing.notifications_log WHERE out_trade_no = $1 AND outcome = 'duplicate'`, o.OrderNo); n != copies-1 {
			t.Fatalf("order %s: %d repeats logged, want %d", o.OrderNo, n, copies-1)
		}
		if n := w.count(`SELECT count(*) FROM billing.postings p JOIN billing.journal_entries e ON e.id = p.entry_id
			WHERE e.order_id = $1 AND e.kind = 'payment' AND p.account = 'wxpay_clearing' AND p.amount_fen = $2`, o.ID, o.Amount.Fen()); n != 1 {
			t.Fatalf("order %s: %d clearing postings of its amount", o.OrderNo, n)
		}
	}
	if got := w.get(mismatched.ID); got.State != billing.StatePaying {
		t.Fatalf("the mismatched order is %s", got.State)
	}
	if n := w.count(`SELECT count(*) FROM billing.notifications_log WHERE out_trade_no = $1 AND outcome = 'mismatch'`, mismatched.OrderNo); n != copies {
		t.Fatalf("%d mismatches logged, want %d", n, copies)
	}
	if n := w.count(`SELECT count(*) FROM billing.notifications_log WHERE out_trade_no = $1 AND outcome = 'unknown'`, unknown.OrderNo); n != copies {
		t.Fatalf("%d unknown orders logged, want %d", n, copies)
	}
	if n := w.count(`SELECT count(*) FROM billing.payments`); n != 10 {
		t.Fatalf("%d payments, want 10", n)
	}
	if n := w.count(`SELECT count(*) FROM billing.journal_entries`); n != 10 {
		t.Fatalf("%d journal entries, want 10", n)
	}
	if evs := w.outboxEvents(events.TopicPaymentSucceeded); len(evs) != 10 {
		t.Fatalf("%d events, want 10", len(evs))
	}
	// Shared commits: fewer transactions wrote the payments than there are payments.
	if n := w.count(`SELECT count(DISTINCT xmin::text) FROM billing.payments`); n >= 10 {
		t.Fatalf("the 10 payments were written by %d transactions: no group commit", n)
	}
}
