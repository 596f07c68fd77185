package billing

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Settle is every merchant's statement of one period of a cycle, from the ledger in
// one pass (tandem settle, and the settlement benchmark): each merchant with an entry
// or an adjustment in the period, by merchant id. Statements come from recorded times
// (billing.statement_entries), so a past period comes out the same each time it is
// asked for as of the same moment; asOf zero is now (what is booked so far).
// It is the operator's command: no caller is checked.
func (s *Service) Settle(ctx context.Context, cycle, per string, asOf time.Time) ([]Statement, error) {
	from, to, payable, err := period(cycle, per)
	if err != nil {
		return nil, err
	}
	if asOf.IsZero() {
		asOf = farFuture
	}
	var rows []billingdb.SettlementFiguresRow
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		// One pass over a month of the ledger: hash joins and in-memory aggregation,
		// not an index probe per entry (what the planner picks from its estimates).
		for _, set := range []string{"SET LOCAL enable_nestloop = off", "SET LOCAL work_mem = '256MB'"} {
			if _, err := tx.Exec(ctx, set); err != nil {
				return err
			}
		}
		var err error
		rows, err = billingdb.New(tx).SettlementFigures(ctx, billingdb.SettlementFiguresParams{FromAt: from, ToAt: to, AsOf: asOf})
		return err
	})
	if err != nil {
		return nil, wrap("settle", err)
	}
	out := make([]Statement, len(rows))
	for i, r := range rows {
		out[i] = previewOf(r.MerchantID, cycle, per, from, to, payable, figures{GrossFen: r.GrossFen, RefundsFen: r.RefundsFen,
			CommissionFen: r.CommissionFen, FeesFen: r.FeesFen, LedgerNetFen: r.LedgerNetFen, Payments: r.Payments,
			Refunds: r.Refunds, AdjustmentsFen: r.AdjustmentsFen})
	}
	return out, nil
}
