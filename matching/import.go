package matching

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// PaidOrder is a paid order as a bulk import or an export of the record carries it.
type PaidOrder struct {
	OrderID, Consumer, Merchant uuid.UUID
	AmountFen                   int64 // net of refunds in an export
	PaidAt                      time.Time
}

// Import loads merchants and paid orders into an empty record with COPY and recounts the
// aggregates from them (a backfill when matching is deployed on a platform with history,
// the benchmarks, the demo). A merchant or an order recorded before fails the import,
// which then changes nothing. Recommendations follow with Rebuild.
func (s *Service) Import(ctx context.Context, merchants []ModelMerchant, orders []PaidOrder) error {
	now := s.clock.Now().UTC()
	ms := make([]matchingdb.CopyMerchantsParams, len(merchants))
	for i, m := range merchants {
		ms[i] = matchingdb.CopyMerchantsParams{MerchantID: m.ID, Name: m.Name, Category: m.Category, Lat: m.Lat, Lng: m.Lng, Live: m.Live}
		if m.Live {
			ms[i].LiveAt = &now
		}
	}
	ps := make([]matchingdb.CopyPurchasesParams, len(orders))
	for i, o := range orders {
		ps[i] = matchingdb.CopyPurchasesParams{OrderID: o.OrderID, ConsumerID: o.Consumer, MerchantID: o.Merchant, AmountFen: o.AmountFen, PaidAt: o.PaidAt}
	}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		if _, err := q.CopyMerchants(ctx, ms); err != nil {
			return err
		}
		if _, err := q.CopyPurchases(ctx, ps); err != nil {
			return err
		}
		if err := q.RecountConsumerMerchants(ctx); err != nil {
			return err
		}
		if err := q.RecountMerchants(ctx); err != nil {
			return err
		}
		return q.RecountConsumers(ctx)
	})
	if err != nil {
		return fmt.Errorf("matching: import: %w", pg.Classify(err))
	}
	return nil
}

// Export is the whole record: merchants and the orders not wholly refunded, oldest
// first (the offline evaluation of the data a deployment holds).
func (s *Service) Export(ctx context.Context) ([]ModelMerchant, []PaidOrder, error) {
	q := matchingdb.New(s.db)
	ms, err := q.AllMerchants(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("matching: export: %w", pg.Classify(err))
	}
	merchants := make([]ModelMerchant, len(ms))
	for i, r := range ms {
		merchants[i] = ModelMerchant{Merchant: Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng}, Live: r.Live}
	}
	ps, err := q.AllPurchases(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("matching: export: %w", pg.Classify(err))
	}
	orders := make([]PaidOrder, len(ps))
	for i, r := range ps {
		orders[i] = PaidOrder{OrderID: r.OrderID, Consumer: r.ConsumerID, Merchant: r.MerchantID, AmountFen: int64(r.NetFen), PaidAt: r.PaidAt}
	}
	return merchants, orders, nil
}

// HasPurchases says whether the record holds any purchase (the demo loads into an empty one).
func (s *Service) HasPurchases(ctx context.Context) (bool, error) {
	ok, err := matchingdb.New(s.db).HasPurchases(ctx)
	if err != nil {
		return false, fmt.Errorf("matching: %w", pg.Classify(err))
	}
	return ok, nil
}
