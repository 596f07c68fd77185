// Package consumercoupons adapts the consumer domain's coupons to the port billing
// declares (billing.Coupons): billing hands over an unpaid order and its lines and
// keeps what the coupons take off each. Billing itself never reads the consumer's
// tables; cmd/tandem wires this adapter.
package consumercoupons

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/consumer"
)

// Adapter implements billing.Coupons over a consumer service.
type Adapter struct{ Consumer *consumer.Service }

var _ billing.Coupons = Adapter{}

// Apply implements billing.Coupons with consumer.Service.ApplyCoupons, in billing's
// transaction.
func (a Adapter) Apply(ctx context.Context, tx pgx.Tx, o billing.CouponOrder, couponIDs []uuid.UUID) ([]int64, error) {
	in := consumer.OrderForCoupon{OrderID: o.OrderID, ConsumerID: o.ConsumerID, MerchantID: o.MerchantID}
	for _, line := range o.Lines {
		in.Lines = append(in.Lines, consumer.OrderLine{Category: line.Category, AmountFen: line.AmountFen})
	}
	applied, err := a.Consumer.ApplyCoupons(ctx, tx, in, couponIDs)
	if err != nil {
		return nil, err
	}
	return applied.Lines, nil
}
