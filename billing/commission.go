package billing

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/money"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
)

// rateWhenPaid fixes an order's commission rate when its payment is applied: the
// contract's rate in force on the Asia/Shanghai day of WeChat's success time (a
// rate can change from a date, and an order placed before the change may be paid
// after it). The order keeps the rate it was placed at when no contract had started
// by then. Every later refund gives commission back at this rate, even after
// another change or the contract's end. It runs under the order's row lock; the
// order it returns carries the rate, which ApplyPayments writes. The merchant port
// is asked once per merchant and day of rates, the answers of one transaction (a
// batch of payments asks once for all payments of a merchant that day). They are
// never kept beyond it: a contract change can start in the past, and nothing tells
// billing of it.
func (s *Service) rateWhenPaid(ctx context.Context, o billingdb.BillingOrder, paidAt time.Time, rates dayRates) (billingdb.BillingOrder, error) {
	day := paidAt.In(shanghai)
	key := merchantDay{o.MerchantID, clockDay(day)}
	r, asked := rates[key]
	if !asked {
		var err error
		if r.rate, r.ok, err = s.ports.Merchants.CommissionRateOn(ctx, o.MerchantID, day); err != nil {
			return o, err
		}
		rates[key] = r
	}
	if !r.ok {
		return o, nil
	}
	o.CommissionRate = numericOf(r.rate)
	return o, nil
}

// dayRates are the commission rates asked of the merchant port in one transaction.
type dayRates map[merchantDay]dayRate

type merchantDay struct {
	merchant uuid.UUID
	day      string // YYYY-MM-DD in Asia/Shanghai
}

type dayRate struct {
	rate money.Rate
	ok   bool
}

func clockDay(t time.Time) string { return t.Format(time.DateOnly) }
