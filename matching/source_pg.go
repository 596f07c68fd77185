package matching

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// pgSource reads the ranking's inputs from matching's tables, for one consumer at a time.
type pgSource struct{ q *matchingdb.Queries }

func (s pgSource) Tried(ctx context.Context, consumerID uuid.UUID) ([]Tried, error) {
	rows, err := s.q.ConsumerBought(ctx, consumerID)
	if err != nil {
		return nil, fmt.Errorf("matching: merchants tried by %s: %w", consumerID, pg.Classify(err))
	}
	out := make([]Tried, len(rows))
	for i, r := range rows {
		out[i] = Tried{Merchant: Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)},
			Live: r.Live, Orders: int(r.Orders), LastAt: r.LastAt}
	}
	return out, nil
}

func (s pgSource) Neighbors(ctx context.Context, froms []uuid.UUID, per int) ([]Neighbor, error) {
	rows, err := s.q.Neighbors(ctx, matchingdb.NeighborsParams{Froms: froms, Per: int32(per)})
	if err != nil {
		return nil, fmt.Errorf("matching: co-purchases: %w", pg.Classify(err))
	}
	out := make([]Neighbor, len(rows))
	for i, r := range rows {
		out[i] = Neighbor{From: r.FromID, Co: int(r.N),
			Merchant: Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)}}
	}
	return out, nil
}

func (s pgSource) Near(ctx context.Context, p Point, radiusM float64, maxRows int) ([]Merchant, error) {
	rows, err := s.q.NearMerchants(ctx, matchingdb.NearMerchantsParams{Lat: p.Lat, Lng: p.Lng, RadiusM: radiusM, MaxRows: int32(maxRows)})
	if err != nil {
		return nil, fmt.Errorf("matching: merchants near: %w", pg.Classify(err))
	}
	out := make([]Merchant, len(rows))
	for i, r := range rows {
		out[i] = Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)}
	}
	return out, nil
}

func (s pgSource) TopInCategories(ctx context.Context, cats []string, per int) ([]Merchant, error) {
	rows, err := s.q.TopInCategories(ctx, matchingdb.TopInCategoriesParams{Categories: cats, Per: int32(per)})
	if err != nil {
		return nil, fmt.Errorf("matching: merchants by category: %w", pg.Classify(err))
	}
	out := make([]Merchant, len(rows))
	for i, r := range rows {
		out[i] = Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)}
	}
	return out, nil
}

func (s pgSource) Popular(ctx context.Context, maxRows int) ([]Merchant, error) {
	rows, err := s.q.PopularMerchants(ctx, int32(maxRows))
	if err != nil {
		return nil, fmt.Errorf("matching: popular merchants: %w", pg.Classify(err))
	}
	out := make([]Merchant, len(rows))
	for i, r := range rows {
		out[i] = Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)}
	}
	return out, nil
}
