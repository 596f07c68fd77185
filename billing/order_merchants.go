package billing

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
)

// MerchantsOfOrders is billing's published read of each order's merchant by the
// order's number (the out_trade_no), for reconciliation's exceptions queue; numbers
// of no order here are left out.
func (s *Service) MerchantsOfOrders(ctx context.Context, orderNos []string) (map[string]uuid.UUID, error) {
	rows, err := billingdb.New(s.db).MerchantsOfOrderNos(ctx, orderNos)
	if err != nil {
		return nil, fmt.Errorf("billing: merchants of orders: %w", err)
	}
	out := make(map[string]uuid.UUID, len(rows))
	for _, r := range rows {
		out[r.OrderNo] = r.MerchantID
	}
	return out, nil
}
