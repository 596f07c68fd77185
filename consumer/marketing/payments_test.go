package marketing_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/outbox/outboxtest"
)

// A batch of payments, as the dispatcher hands it over, keeps each order once: an
// order told again under another event id counts once, an older order told late does
// not move the member's home cell, a member first seen in a payment is made, and a
// batch that failed (rolled back, as when its worker dies) and then runs, and runs
// again, leaves every count as one delivery of each order.
func TestPaymentBatchKeepsEachOrderOnce(t *testing.T) {
	t.Parallel()
	svc, _, ctx, db := newService(t, marketing.Ports{})
	shop := func(category string, lat, lng float64) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		deliverTo(t, svc, envelope(t, events.TopicMerchantLive, events.MerchantLive{MerchantID: id, Name: "店", Category: category, City: "上海", Lat: lat, Lng: lng}))
		return id
	}
	square, beijing := shop("coffee", 31.2304, 121.4737), shop("tea", 39.9042, 116.4074)
	unknown := uuid.Must(uuid.NewV7()) // a merchant marketing never heard of
	a, b := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	deliverTo(t, svc, envelope(t, events.TopicMemberJoined, events.MemberJoined{ConsumerID: a, JoinedAt: testNow.AddDate(0, -1, 0)}))
	pay := func(who, merchant uuid.UUID, fen int64, ago time.Duration) events.Envelope {
		return envelope(t, events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), ConsumerID: who,
			MerchantID: merchant, AmountFen: fen, PaidAt: testNow.Add(-ago)})
	}
	latest := pay(a, square, 2500, time.Hour)
	again := latest
	again.ID = uuid.Must(uuid.NewV7()) // the same payment told under another event id
	batch := []events.Envelope{latest, pay(a, beijing, 1000, 5*time.Hour), pay(b, square, 700, 2*time.Hour), again,
		pay(b, unknown, 300, 3*time.Hour)}
	var sub outbox.Subscription
	for _, s := range svc.Subscriptions() {
		if s.Topic == events.TopicPaymentSucceeded {
			sub = s
		}
	}
	if sub.HandleBatchTx == nil {
		t.Fatal("marketing's payments are not handled a batch at a time")
	}
	run := func(die bool) error { return outboxtest.RunBatch(ctx, db, sub, batch, die) }
	if err := run(true); !errors.Is(err, outboxtest.ErrBatchDied) {
		t.Fatal(err)
	}
	if n := sqlCount(t, db, "m.orders_count > 0"); n != 0 {
		t.Fatalf("a failed batch left %d members with orders", n)
	}
	for range 2 {
		if err := run(false); err != nil {
			t.Fatal(err)
		}
	}

	type facts struct {
		orders      int
		spend       int64
		first, last time.Time
		joined      time.Time
		cell        string
	}
	member := func(id uuid.UUID) facts {
		t.Helper()
		var f facts
		if err := db.QueryRow(ctx, `SELECT orders_count, spend_fen, first_order_at, last_order_at, joined_at, home_cell
			FROM marketing.members WHERE consumer_id = $1`, id).Scan(&f.orders, &f.spend, &f.first, &f.last, &f.joined, &f.cell); err != nil {
			t.Fatal(err)
		}
		return f
	}
	fa, fb := member(a), member(b)
	if fa.orders != 2 || fa.spend != 3500 || !fa.first.Equal(testNow.Add(-5*time.Hour)) || !fa.last.Equal(testNow.Add(-time.Hour)) {
		t.Errorf("a: %+v, want 2 orders, 3,500 fen, from 5 h ago to 1 h ago", fa)
	}
	if fb.orders != 2 || fb.spend != 1000 || !fb.joined.Equal(testNow) {
		t.Errorf("b: %+v, want 2 orders, 1,000 fen, joined when first seen", fb)
	}
	if fa.cell == "" || fa.cell != fb.cell {
		t.Errorf("home cells %q and %q: both buy last at the square (a's older order in Beijing was told late)", fa.cell, fb.cell)
	}
	categories := map[string]int{}
	rows, err := db.Query(ctx, `SELECT consumer_id::text || '/' || category, orders FROM marketing.member_categories`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		categories[k] = n
	}
	if len(categories) != 3 || categories[a.String()+"/coffee"] != 1 || categories[a.String()+"/tea"] != 1 || categories[b.String()+"/coffee"] != 1 {
		t.Errorf("categories %v, want a: coffee 1, tea 1; b: coffee 1 (the unknown merchant has none)", categories)
	}
	var changes, orders int
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM marketing.member_changes m JOIN marketing.members x ON x.seq = m.seq
		WHERE x.consumer_id = ANY($1)), (SELECT count(*) FROM marketing.orders)`, []uuid.UUID{a, b}).Scan(&changes, &orders); err != nil {
		t.Fatal(err)
	}
	if orders != 4 || changes != 1+4 { // a's join, then one per order
		t.Errorf("%d orders kept and %d member changes logged, want 4 and 5", orders, changes)
	}
}
