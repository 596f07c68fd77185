package billing

import (
	"context"
	"time"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
)

// rateWhenPaid fixes an order's commission rate when its payment is applied: the
// contract's rate in force on the Asia/Shanghai day of WeChat's success time (a
// rate can change from a date, and an order placed before the change may be paid
// after it). The order keeps the rate it was placed at when no contract had started
// by then. Every later refund gives commission back at this rate, even after
// another change or the contract's end. It runs under the order's row lock; the
// order it returns carries the rate, which ApplyPayment writes.
func (s *Service) rateWhenPaid(ctx context.Context, o billingdb.BillingOrder, paidAt time.Time) (billingdb.BillingOrder, error) {
	rate, ok, err := s.ports.Merchants.CommissionRateOn(ctx, o.MerchantID, paidAt.In(shanghai))
	if err != nil || !ok {
		return o, err
	}
	o.CommissionRate = numericOf(rate)
	return o, nil
}
