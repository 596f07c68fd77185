package billing_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
)

// An order is never more than WeChat Pay can charge in one payment, whoever places it
// (the API's edge refuses it first; the service holds the same line).
func TestOrderWithinWeChatPayTotal(t *testing.T) {
	t.Parallel()
	order := func(fen int64) billing.NewOrder {
		return billing.NewOrder{MerchantID: uuid.New(), Description: "x", Amount: money.MustNew(fen, money.CNY)}
	}
	if err := order(money.MaxPaymentFen).Validate(); err != nil {
		t.Fatalf("the largest total: %v", err)
	}
	for _, fen := range []int64{money.MaxPaymentFen + 1, money.MaxFen, 0, -1} {
		if e := errs.As(order(fen).Validate()); e == nil || e.Field != "amount" || e.Kind != errs.KindInvalid {
			t.Errorf("%d fen: %v", fen, e)
		}
	}
}
