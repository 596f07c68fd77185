package main

import (
	"context"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
)

// billingOrders is the consumer domain's Orders port played by billing's MyOrder.
// Billing is built with the payments (openPayments), after the consumer domain: it
// is looked up at each call.
type billingOrders struct{ a *app }

// OwnsOrder implements consumer.Orders: false for an order that does not exist or is
// another consumer's (billing answers both as not found).
func (b billingOrders) OwnsOrder(ctx context.Context, consumerID, orderID uuid.UUID) (bool, error) {
	if b.a.billing == nil {
		return false, errs.E(errs.KindUnavailable, "consumer.billing_unavailable", "billing is not running in this process")
	}
	_, err := b.a.billing.MyOrder(ctx, consumerID, orderID)
	if errs.KindOf(err) == errs.KindNotFound {
		return false, nil
	}
	return err == nil, err
}
