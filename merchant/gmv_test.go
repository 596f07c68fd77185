package merchant_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/pg"
)

// A batch of payments credits first-month GMV as one at a time: a payment told twice
// in the batch (and the batch delivered twice) counts once, a payment after the first
// 30 days or to a merchant not of the CRM counts nothing.
func TestGMVBatchCreditsEachOrderOnce(t *testing.T) {
	t.Parallel()
	w := newFieldWorld(t, merchant.Config{})
	liveShop(t, w.world, "13800001601", "1900001601", "2026-12-01", "2027-12-01")
	ms, _, err := w.svc.ListMerchants(w.ctx, w.p(t, "sh.manager"), uuid.Nil, 0)
	if err != nil || len(ms) != 1 {
		t.Fatalf("merchants %v %v", ms, err)
	}
	m := ms[0]
	var es []events.Envelope
	pay := func(merchantID, order uuid.UUID, fen int64, at time.Time) {
		body, err := json.Marshal(events.PaymentSucceeded{OrderID: order, MerchantID: merchantID, AmountFen: fen, PaidAt: at})
		if err != nil {
			t.Fatal(err)
		}
		es = append(es, events.Envelope{ID: uuid.Must(uuid.NewV7()), Topic: events.TopicPaymentSucceeded, Payload: body})
	}
	order := uuid.Must(uuid.NewV7())
	pay(m.ID, order, 100_000, m.LiveAt.Add(time.Hour))
	pay(m.ID, uuid.Must(uuid.NewV7()), 999_999, m.LiveAt.Add(31*24*time.Hour))
	pay(uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7()), 5_000, m.LiveAt.Add(time.Hour))
	pay(m.ID, order, 100_000, m.LiveAt.Add(time.Hour))
	pay(m.ID, uuid.Must(uuid.NewV7()), 2_500, m.LiveAt.Add(29*24*time.Hour))
	for _, sub := range domain.Collect(w.svc).Subscriptions() {
		if sub.Topic != events.TopicPaymentSucceeded || sub.Subscriber != "merchant.gmv" {
			continue
		}
		if sub.HandleBatchTx == nil {
			t.Fatal("merchant.gmv does not take payments a batch at a time")
		}
		for range 2 {
			if err := pg.InTx(w.ctx, w.db, pg.TxOptions{}, func(tx pgx.Tx) error { return sub.HandleBatchTx(w.ctx, tx, es) }); err != nil {
				t.Fatal(err)
			}
		}
	}
	var rows, total int64
	if err := w.db.QueryRow(w.ctx, `SELECT count(*), COALESCE(sum(amount_fen), 0) FROM merchant.first_month_gmv`).Scan(&rows, &total); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || total != 102_500 {
		t.Fatalf("%d credits of %d fen, want 2 of 102,500 in all", rows, total)
	}
}
