package matching_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox/outboxtest"
)

// A batch of payments records what the same payments record one at a time: per
// merchant its orders and buyers (a consumer paying twice at one merchant in the batch
// is one buyer), per consumer where they buy and their co-purchase pairs, and the same
// recommendations; an order twice in a batch counts once, and a batch delivered again
// changes nothing.
func TestPaymentBatchRecordsAsOneAtATime(t *testing.T) {
	t.Parallel()
	type world2 struct {
		w         *world
		shops     []uuid.UUID
		ann, bob  uuid.UUID
		envelopes []events.Envelope
	}
	build := func() *world2 {
		w := newWorld(t)
		x := &world2{w: w, ann: uuid.MustParse("01900000-0000-7000-8000-00000000000a"), bob: uuid.MustParse("01900000-0000-7000-8000-00000000000b")}
		for i, c := range []string{"火锅", "咖啡", "面包"} {
			x.shops = append(x.shops, w.live(c, c, 31.23+float64(i)/100, 121.47+float64(i)/100))
		}
		return x
	}
	one, batched := build(), build()
	plan := []struct {
		who  func(*world2) uuid.UUID
		shop int
		fen  int64
	}{
		{func(x *world2) uuid.UUID { return x.ann }, 0, 5000},
		{func(x *world2) uuid.UUID { return x.ann }, 0, 3000},
		{func(x *world2) uuid.UUID { return x.bob }, 0, 4000},
		{func(x *world2) uuid.UUID { return x.ann }, 1, 2000},
		{func(x *world2) uuid.UUID { return x.bob }, 2, 1000},
		{func(x *world2) uuid.UUID { return x.ann }, 2, 1500},
	}
	for _, p := range plan {
		one.w.pay(p.who(one), one.shops[p.shop], p.fen)
	}
	for _, p := range plan {
		batched.w.day = batched.w.day.Add(time.Hour)
		pay := events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), ConsumerID: p.who(batched), MerchantID: batched.shops[p.shop],
			AmountFen: p.fen, PaidAt: batched.w.day}
		b, err := json.Marshal(pay)
		if err != nil {
			t.Fatal(err)
		}
		batched.envelopes = append(batched.envelopes, events.Envelope{ID: uuid.Must(uuid.NewV7()), Topic: events.TopicPaymentSucceeded, Payload: b})
	}
	// The first order again in the batch (a second event of one payment): counted once.
	again := batched.envelopes[0]
	again.ID = uuid.Must(uuid.NewV7())
	batched.envelopes = append(batched.envelopes, again)
	sub := batched.w.subs[events.TopicPaymentSucceeded][0]
	if sub.HandleBatchTx == nil {
		t.Fatal("matching's payments are not a batch subscriber")
	}
	for range 2 {
		if err := outboxtest.RunBatch(batched.w.ctx, batched.w.db, sub, batched.envelopes, false); err != nil {
			t.Fatal(err)
		}
	}
	state := func(x *world2) []int {
		var out []int
		for _, m := range x.shops {
			out = append(out, x.w.scalar("SELECT orders FROM matching.merchants WHERE merchant_id = $1", m),
				x.w.scalar("SELECT buyers FROM matching.merchants WHERE merchant_id = $1", m))
		}
		for _, c := range []uuid.UUID{x.ann, x.bob} {
			out = append(out, x.w.scalar("SELECT merchants FROM matching.consumers WHERE consumer_id = $1", c),
				x.w.scalar("SELECT round(lat * 1e6)::int FROM matching.consumers WHERE consumer_id = $1", c),
				x.w.scalar("SELECT count(*)::int FROM matching.consumer_merchants WHERE consumer_id = $1", c),
				len(x.w.recs(c)))
		}
		return append(out, x.w.scalar("SELECT coalesce(sum(n), 0)::int FROM matching.co_purchases"))
	}
	want, got := state(one), state(batched)
	if len(want) != len(got) || want[0] != 3 || want[1] != 2 {
		t.Fatalf("one at a time: %v (the hotpot shop: 3 orders, 2 buyers)", want)
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("the batch recorded %v, one at a time %v", got, want)
		}
	}
}
