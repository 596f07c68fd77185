package reconciliation

import (
	"context"

	"github.com/google/uuid"
)

// Merchants tells the exceptions queue whose orders its items are about, through
// published read interfaces (billing's orders, the merchant domain's names):
// reconciliation reads neither's tables.
type Merchants struct {
	Orders interface {
		MerchantsOfOrders(ctx context.Context, orderNos []string) (map[string]uuid.UUID, error)
	}
	Names interface {
		MerchantNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error)
	}
}

// merchant is an item's merchant: its id and name.
type merchant struct {
	ID   uuid.UUID
	Name string
}

// itemMerchants are the merchants of items' orders, by order number. Without the
// ports, or when a read fails (logged), items show no merchant: the queue is still
// worth showing.
func (s *Service) itemMerchants(ctx context.Context, items []Item) map[string]merchant {
	m := s.ports.Merchants
	if m.Orders == nil || m.Names == nil {
		return nil
	}
	var nos []string
	for _, it := range items {
		if it.OutTradeNo != "" {
			nos = append(nos, it.OutTradeNo)
		}
	}
	if len(nos) == 0 {
		return nil
	}
	byOrder, err := m.Orders.MerchantsOfOrders(ctx, nos)
	if err != nil {
		s.log.WarnContext(ctx, "reconciliation: merchants of orders", "err", err)
		return nil
	}
	ids := make([]uuid.UUID, 0, len(byOrder))
	for _, id := range byOrder {
		ids = append(ids, id)
	}
	names, err := m.Names.MerchantNames(ctx, ids)
	if err != nil {
		s.log.WarnContext(ctx, "reconciliation: merchant names", "err", err)
		return nil
	}
	out := make(map[string]merchant, len(byOrder))
	for no, id := range byOrder {
		out[no] = merchant{ID: id, Name: names[id]}
	}
	return out
}
