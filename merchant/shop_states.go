package merchant

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/pg"
)

// ShopState is a lead as a shop, as the lead events tell of it (lead_events.go), with
// its merchant once it went live (uuid.Nil before).
type ShopState struct {
	events.LeadChanged
	MerchantID uuid.UUID
}

// ShopStates is every lead as a shop, a page of at most limit (200 by default, at most
// 1,000) in lead id order after the cursor, and the cursor of the next page (uuid.Nil
// at the end): a system read for matching's backfill of the shops that existed before
// leads were published as events.
func (s *Service) ShopStates(ctx context.Context, after uuid.UUID, limit int) ([]ShopState, uuid.UUID, error) {
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, 1000)
	rows, err := merchantdb.New(s.db).ShopStates(ctx, merchantdb.ShopStatesParams{AfterID: after, MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("merchant: shop states: %w", pg.Classify(err))
	}
	rows, next := pg.TrimPage(rows, limit, func(r merchantdb.ShopStatesRow) uuid.UUID { return r.MerchantLead.ID })
	out := make([]ShopState, len(rows))
	for i, r := range rows {
		out[i] = ShopState{LeadChanged: leadChanged(r.MerchantLead), MerchantID: r.MerchantID.UUID}
	}
	return out, next, nil
}
