package billing

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
)

// Settlement reads every merchant's statements of a period from billing's ledger: a
// read-only part of billing for the operator's command (tandem settle) and the
// settlement benchmark, which need neither WeChat Pay nor the other domains.
type Settlement struct{ db *pgxpool.Pool }

// NewSettlement returns the reader over billing's tables in db.
func NewSettlement(db *pgxpool.Pool) Settlement { return Settlement{db: db} }

// Settle is every merchant's statement of one period of a cycle, in one pass: each
// merchant with an entry or an adjustment in the period, by merchant id. Statements
// come from recorded times (each journal entry's business time), so a past period
// comes out the same each time it is asked for as of the same moment; asOf zero is
// now (what is booked so far). It is the operator's: no caller is checked.
func (r Settlement) Settle(ctx context.Context, cycle, per string, asOf time.Time) ([]Statement, error) {
	from, to, payable, err := period(cycle, per)
	if err != nil {
		return nil, err
	}
	if asOf.IsZero() {
		asOf = farFuture
	}
	// One range of the entries (each carries its business time and its postings'
	// sums), aggregated by merchant: no join, no planner settings.
	rows, err := billingdb.New(r.db).PeriodFigures(ctx, billingdb.PeriodFiguresParams{FromAt: from, ToAt: to, AsOf: asOf})
	if err != nil {
		return nil, wrap("settle", err)
	}
	out := make([]Statement, len(rows))
	for i, r := range rows {
		out[i] = previewOf(r.MerchantID, cycle, per, from, to, payable, figuresOf(r))
	}
	return out, nil
}
