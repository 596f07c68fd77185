package merchant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// CommissionRateOn is the commission rate a merchant's contracts set for a calendar
// day (Asia/Shanghai, the date of day is used as it is): a renewal's rate from its
// first day, the contract it renews' before. ok is false when no contract of the
// merchant had started by then. For other domains (billing books a payment's
// commission at the rate in force the day it was paid): a system read.
func (s *Service) CommissionRateOn(ctx context.Context, merchantID uuid.UUID, day time.Time) (rate decimal.Decimal, ok bool, err error) {
	d := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	rate, err = merchantdb.New(s.db).CommissionRateOn(ctx, merchantdb.CommissionRateOnParams{MerchantID: merchantID, Day: d})
	if errors.Is(err, pgx.ErrNoRows) {
		return decimal.Decimal{}, false, nil
	} else if err != nil {
		return decimal.Decimal{}, false, fmt.Errorf("merchant: commission rate: %w", pg.Classify(err))
	}
	return rate, true, nil
}
