package reconciliation

import (
	"context"
	"time"
)

// LedgerQuery selects our records of one merchant for a window of time.
type LedgerQuery struct {
	MchID string
	From  time.Time // inclusive
	To    time.Time // exclusive
}

// Record is one of our payments or refunds as the ledger knows it. Its strings are
// valid only during the callback that receives it (an implementation may slice
// them from a reused buffer); the engine copies what it keeps.
type Record struct {
	Kind          Kind
	OutTradeNo    string // our order number
	TransactionID string // WeChat's, "" when we never learned it
	OutRefundNo   string // refunds: our refund number
	RefundID      string // refunds: WeChat's, "" when we never learned it
	AmountFen     int64  // payment: the order total; refund: the refund requested
	FeeFen        int64  // WeChat's fee as we booked it (negative on refunds), 0 when unknown
	Status        string // WeChat's state as we know it: SUCCESS, or for refunds PROCESSING, CLOSED, ABNORMAL
	At            time.Time
	// Pos is where a LedgerRereader finds the record again (a CSV ledger's line
	// number); 0 when the source cannot.
	Pos int64
}

// StatusSuccess is the status of a paid payment and of a refund that went through.
const StatusSuccess = "SUCCESS"

// LedgerSource streams our records. It is declared here, by its consumer; billing
// implements it over its own tables with one query that streams rows (no query per
// line), e.g.
//
//	rows, err := db.Query(ctx, `SELECT kind, out_trade_no, transaction_id, out_refund_no,
//	    refund_id, amount_fen, fee_fen, status, occurred_at FROM billing.wxpay_ledger
//	    WHERE mchid = $1 AND occurred_at >= $2 AND occurred_at < $3`, q.MchID, q.From, q.To)
//	for rows.Next() { scan into one reused Record; if err := fn(&rec); err != nil { return err } }
//
// At is the time WeChat gives the item (a payment's success time, a refund's
// creation time), the same clock the bill files lines by.
type LedgerSource interface {
	// StreamLedger calls fn for every payment and refund of q.MchID whose time is in
	// [q.From, q.To), in any order, and stops at fn's first error, returning it.
	StreamLedger(ctx context.Context, q LedgerQuery, fn func(*Record) error) error
}

// LedgerFinder is implemented by a LedgerSource that finds records by WeChat's ids
// (transaction_id, refund_id) whatever their day. A bill line that matches nothing
// in the day's window is looked up there, all such lines at once: one we have on an
// earlier day is a transaction that reappears on a later day's bill, a duplicate,
// not missing on our side.
type LedgerFinder interface {
	FindLedger(ctx context.Context, mchid string, ids []string, fn func(*Record) error) error
}

// FindLedger implements LedgerFinder over the records in memory, on any day.
func (rs Records) FindLedger(ctx context.Context, mchid string, ids []string, fn func(*Record) error) error {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	for i := range rs {
		r := rs[i]
		if (r.Kind == KindPay && want[r.TransactionID]) || (r.Kind == KindRefund && want[r.RefundID]) {
			if err := fn(&r); err != nil {
				return err
			}
		}
	}
	return ctx.Err()
}

// LedgerRereader is implemented by a LedgerSource that can stream chosen records
// of an earlier StreamLedger again by their Record.Pos, without the rest: at the
// end of a run the engine needs the ids of the few records no bill line claimed,
// which its index does not keep.
type LedgerRereader interface {
	// RestreamLedger calls fn for the records of q at positions, in any order.
	RestreamLedger(ctx context.Context, q LedgerQuery, positions []int64, fn func(*Record) error) error
}

// LedgerSizeHinter is implemented by a LedgerSource that can estimate how many
// records a query streams (a file's size, a planner estimate), so that the
// engine's index is allocated once instead of growing.
type LedgerSizeHinter interface {
	LedgerSizeHint(ctx context.Context, q LedgerQuery) int
}

// Records is a LedgerSource over records in memory, for tests and small tools; it
// streams the records of the window.
type Records []Record

// StreamLedger implements LedgerSource.
func (rs Records) StreamLedger(ctx context.Context, q LedgerQuery, fn func(*Record) error) error {
	for i := range rs {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		r := rs[i]
		if r.At.Before(q.From) || !r.At.Before(q.To) {
			continue
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// FeeFact is WeChat's fee of a matched payment or refund, as the bill states it
// (1/1000 fen; negative when a refund gives it back), named by our numbers.
type FeeFact struct {
	Kind        Kind
	OutTradeNo  string
	OutRefundNo string
	FeeMilliFen int64
}

// FeeBooker books the fees of a run's matched lines in our ledger, idempotently
// (a re-run books nothing twice); billing implements it.
type FeeBooker interface {
	BookFees(ctx context.Context, fees []FeeFact) (int, error)
}
