package matching

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// A consumer is ranked the same in a batch of payments as in a refresh of them alone
// (a batch of one): the same merchants, scores, distances and reasons in the same
// order, for consumers who bought much, little, at shops without a place or a
// category, at a shop no longer live, or nothing; and two consumers who buy at the
// same place share its nearby merchants. (That the tables' reads rank as the nightly
// rebuild's memory does is TestRecommendationsFromEvents'.)
func TestBatchRanksEachConsumerAsABatchOfOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.New(t, Migrations)
	day := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	s := New(domain.Deps{DB: db, Clock: clock.Func(func() time.Time { return day.AddDate(0, 1, 0) })}, Ports{}, Config{RadiusM: 3000})
	r := rand.New(rand.NewPCG(5, 5))
	cats := []string{"火锅", "咖啡", "面包", ""}
	var shops []uuid.UUID
	for i := range 60 {
		id := uuid.New()
		lat, lng := 31.23+r.NormFloat64()*0.03, 121.47+r.NormFloat64()*0.03
		if i == 0 {
			lat, lng = 0, 0 // no place told
		}
		if err := s.RecordMerchantLive(ctx, events.MerchantLive{MerchantID: id, Name: fmt.Sprintf("店%d", i),
			Category: cats[r.IntN(len(cats))], Lat: lat, Lng: lng, LiveAt: day}); err != nil {
			t.Fatal(err)
		}
		shops = append(shops, id)
	}
	consumers := make([]uuid.UUID, 25)
	for c := range consumers {
		consumers[c] = uuid.New()
		n := c % 9 // the first buys nothing
		if c == 24 {
			n = 40
		}
		for range n {
			day = day.Add(time.Minute)
			p := events.PaymentSucceeded{OrderID: uuid.New(), ConsumerID: consumers[c], MerchantID: shops[r.IntN(len(shops))],
				AmountFen: int64(100 + r.IntN(5000)), PaidAt: day}
			if err := s.RecordPayment(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Two consumers at one place: the same single shop.
	for _, c := range consumers[1:3] {
		day = day.Add(time.Minute)
		if err := s.RecordPayment(ctx, events.PaymentSucceeded{OrderID: uuid.New(), ConsumerID: c, MerchantID: shops[7], AmountFen: 100, PaidAt: day}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(ctx, "UPDATE matching.merchants SET live = false WHERE merchant_id = $1", shops[5]); err != nil {
		t.Fatal(err)
	}
	err := pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		b, err := newBatchSource(ctx, q, s.cfg, consumers)
		if err != nil {
			return err
		}
		for i, c := range consumers {
			one, err := newBatchSource(ctx, q, s.cfg, []uuid.UUID{c})
			if err != nil {
				return err
			}
			want, wantCold, err := rank(ctx, one, s.cfg, c, MethodHybrid, s.cfg.Max)
			if err != nil {
				return err
			}
			got, gotCold, err := rank(ctx, b, s.cfg, c, MethodHybrid, s.cfg.Max)
			if err != nil {
				return err
			}
			if gotCold != wantCold || !reflect.DeepEqual(got, want) {
				t.Errorf("consumer %d:\n got %v %+v\nwant %v %+v", i, gotCold, got, wantCold, want)
			}
			if i > 0 && (len(want) == 0 || want[0].Score == 0) {
				t.Errorf("consumer %d has no ranking to compare: %+v", i, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
