package consumer_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/outbox/outboxtest"
)

// A batch of payments earns exactly what the same payments earn one at a time: the
// first makes the member's tier row, the second reaches Silver in the middle of the
// batch, and the ones after earn ×1.2. A non-member's payment earns nothing and does
// not stop the batch. A batch that failed (rolled back, as when its worker dies) and
// then runs twice credits each order once.
func TestPaymentBatchEarnsAsOneAtATime(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 6, 1, 10))
	w.program(t, func(p *consumer.Program) { p.PendingDays = 0 }) // payments count toward the tier at once
	one := w.join(t, "o-one-at-a-time")
	m, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: "o-batched", Phone: "13987654321"})
	if err != nil {
		t.Fatal(err)
	}
	batched := m.ID
	amounts := []int64{50_000, 60_000, 10_000, 10_000} // Silver at 1,000 yuan: reached by the second
	for _, fen := range amounts {
		if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: uuid.New(), ConsumerID: one, AmountFen: fen}); err != nil {
			t.Fatal(err)
		}
	}
	var es []events.Envelope
	pay := func(who uuid.UUID, fen int64) {
		b, err := json.Marshal(events.PaymentSucceeded{OrderID: uuid.New(), ConsumerID: who, AmountFen: fen})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, events.Envelope{ID: uuid.New(), Topic: events.TopicPaymentSucceeded, Payload: b})
	}
	for i, fen := range amounts {
		pay(batched, fen)
		if i == 1 {
			pay(uuid.New(), 20_000) // not a member
		}
	}
	var sub outbox.Subscription
	for _, s := range w.svc.Subscriptions() {
		if s.Subscriber == consumer.SubscriberPointsEarn && s.Topic == events.TopicPaymentSucceeded {
			sub = s
		}
	}
	if sub.HandleBatchTx == nil {
		t.Fatal("points are not earned a batch at a time")
	}
	run := func(die bool) error { return outboxtest.RunBatch(w.ctx, w.db, sub, es, die) }
	if err := run(true); !errors.Is(err, outboxtest.ErrBatchDied) {
		t.Fatal(err)
	}
	if b := w.balance(t, batched); b != 0 {
		t.Fatalf("a failed batch left %d points", b)
	}
	for range 2 {
		if err := run(false); err != nil {
			t.Fatal(err)
		}
	}
	earned := func(id uuid.UUID) []int64 {
		t.Helper()
		rows, err := w.db.Query(w.ctx, `SELECT delta::bigint FROM consumer.points_entries WHERE consumer_id = $1 AND kind = 'earn'`, id)
		if err != nil {
			t.Fatal(err)
		}
		d, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(d)
		return d
	}
	want, got := earned(one), earned(batched)
	if !slices.Equal(got, want) || len(got) != len(amounts) || got[0] != 120 {
		t.Fatalf("the batch earned %v, one at a time %v (Silver's ×1.2 from the third: 120 twice)", got, want)
	}
	if b, a := w.balance(t, batched), w.balance(t, one); b != a {
		t.Fatalf("balance %d after the batch, %d one at a time", b, a)
	}
	st, err := w.svc.MemberTier(w.ctx, batched)
	if err != nil || st.Tier.Level != 1 {
		t.Fatalf("tier after the batch: %+v, %v; want Silver", st.Tier, err)
	}
}

// With the program's refund window (points pending, as by default), a batch is credited
// in one statement and earns exactly what the same payments earn one at a time: the
// same pending lots (points at the member's tier multiplier, window, expiry, growth),
// entries and pending balance. A non-member earns nothing, an order delivered twice in
// the batch and a batch run twice credit once, and a batch that died credits nothing.
func TestPendingPaymentBatchEarnsAsOneAtATime(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 6, 1, 10))
	growth := w.staff(t, "growth")
	join := func(openid, phone string) uuid.UUID {
		m, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: openid, Phone: phone})
		if err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	one, batched, plain := join("o-pending-one", "13987650001"), join("o-pending-batched", "13987650002"), join("o-pending-plain", "13987650003")
	for _, id := range []uuid.UUID{one, batched} { // Gold: a multiplier above 100 %
		if err := w.svc.SetTierFloor(w.ctx, growth, id, 2, sh(2027, 6, 1, 0), "batch test"); err != nil {
			t.Fatal(err)
		}
	}
	amounts := []int64{50_000, 60_000, 999, 10_000}
	for _, fen := range amounts {
		if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: uuid.New(), ConsumerID: one, AmountFen: fen}); err != nil {
			t.Fatal(err)
		}
	}
	var es []events.Envelope
	pay := func(order, who uuid.UUID, fen int64) {
		b, err := json.Marshal(events.PaymentSucceeded{OrderID: order, ConsumerID: who, AmountFen: fen})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, events.Envelope{ID: uuid.New(), Topic: events.TopicPaymentSucceeded, Payload: b})
	}
	twice := uuid.New()
	for i, fen := range amounts {
		order := uuid.New()
		if i == 0 {
			order = twice
		}
		pay(order, batched, fen)
		pay(uuid.New(), plain, fen)
		if i == 1 {
			pay(uuid.New(), uuid.New(), 20_000) // not a member
			pay(twice, batched, amounts[0])     // the first order again
		}
	}
	var sub outbox.Subscription
	for _, s := range w.svc.Subscriptions() {
		if s.Subscriber == consumer.SubscriberPointsEarn && s.Topic == events.TopicPaymentSucceeded {
			sub = s
		}
	}
	if err := outboxtest.RunBatch(w.ctx, w.db, sub, es, true); !errors.Is(err, outboxtest.ErrBatchDied) {
		t.Fatal(err)
	}
	if p := w.points(t, batched); p.Pending != 0 || len(p.Lots) != 0 {
		t.Fatalf("a failed batch left %+v", p)
	}
	for range 2 {
		if err := outboxtest.RunBatch(w.ctx, w.db, sub, es, false); err != nil {
			t.Fatal(err)
		}
	}
	type lot struct {
		points, growth            int64
		state                     string
		available, expires, delta string
	}
	lots := func(id uuid.UUID) []lot {
		t.Helper()
		rows, err := w.db.Query(w.ctx, `SELECT l.points::bigint, l.growth, l.state, l.available_at::text, l.expires_at::text, e.delta::text
			FROM consumer.points_lots l JOIN consumer.points_entries e ON e.source_key = l.source_key
			WHERE l.consumer_id = $1 AND e.kind = 'earn' ORDER BY l.growth`, id)
		if err != nil {
			t.Fatal(err)
		}
		var ls []lot
		for rows.Next() {
			var l lot
			if err := rows.Scan(&l.points, &l.growth, &l.state, &l.available, &l.expires, &l.delta); err != nil {
				t.Fatal(err)
			}
			ls = append(ls, l)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return ls
	}
	want, got := lots(one), lots(batched)
	if !slices.Equal(got, want) || len(got) != len(amounts) || got[0].state != consumer.LotPending {
		t.Fatalf("the batch made lots %+v, one at a time %+v", got, want)
	}
	if p := lots(plain); len(p) != len(amounts) || p[len(p)-1].points != 600 || want[len(want)-1].points <= 600 {
		t.Fatalf("a member without a tier earns ×1 (600 for 600 yuan), Gold more: %+v, %+v", p, want)
	}
	for _, id := range []uuid.UUID{one, batched, plain} {
		w.conserved(t, id)
	}
	if b, a := w.points(t, batched), w.points(t, one); b.Pending != a.Pending || b.Balance != a.Balance || b.Pending == 0 {
		t.Fatalf("pending %d / balance %d after the batch, %d / %d one at a time", b.Pending, b.Balance, a.Pending, a.Balance)
	}
}
