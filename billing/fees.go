package billing

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// BillFee is WeChat's fee of one payment or refund as its bill states it, in
// 1/1000 fen (bills print five decimals); a refund's is negative (fee given back).
type BillFee struct {
	OutTradeNo  string
	OutRefundNo string // "" for a payment's fee
	FeeMilliFen int64
}

// FeePostings books a fee the merchant bears: off what we owe them, out of the money
// WeChat holds for us. A negative fee (given back with a refund) reverses it.
func FeePostings(feeFen int64) []Posting {
	return []Posting{{AccountPayable, feeFen}, {AccountClearing, -feeFen}}
}

// milliToFen rounds 1/1000 fen to the fen, half to even (WeChat's fees are whole fen
// in every bill seen; this only guards the arithmetic).
func milliToFen(m int64) int64 {
	q, r := m/1000, m%1000
	switch {
	case r > 500 || (r == 500 && q%2 != 0):
		q++
	case r < -500 || (r == -500 && q%2 != 0):
		q--
	}
	return q
}

// BookFees books the fees of a reconciled bill in the ledger, one entry per payment
// or refund ("fee:<order id>", "fee:<refund id>"), in one transaction; a fee booked
// already (a re-run of the day) is left as it is. Fees of orders or refunds billing
// does not have are skipped (reconciliation reports those lines), and so is the fee
// of a refund that has not succeeded here yet (a later run books it). It returns how
// many entries it wrote.
func (s *Service) BookFees(ctx context.Context, fees []BillFee) (int, error) {
	var n int
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		n = 0
		for _, f := range fees {
			fen := milliToFen(f.FeeMilliFen)
			if fen == 0 {
				continue
			}
			o, err := q.GetOrderByNo(ctx, f.OutTradeNo)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			key, memo, at, err := feeEntry(ctx, q, o, f.OutRefundNo)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			} else if err != nil {
				return err
			}
			wrote, err := s.post(ctx, q, o, "fee", key, memo, at, FeePostings(fen))
			if err != nil {
				return err
			}
			if wrote {
				n++
			}
		}
		return nil
	})
	return n, wrap("book fees", err)
}

// feeEntry is the key, memo and business time of the fee entry of an order's
// payment (refundNo "") or of one of its refunds: the payment's success time, or the
// refund's. pgx.ErrNoRows when there is no such payment or succeeded refund.
func feeEntry(ctx context.Context, q *billingdb.Queries, o billingdb.BillingOrder, refundNo string) (key, memo string, at time.Time, err error) {
	if refundNo == "" {
		p, err := q.GetPayment(ctx, o.ID)
		if err != nil {
			return "", "", at, err
		}
		return "fee:" + o.ID.String(), "WeChat fee of payment " + o.OrderNo, p.SuccessTime, nil
	}
	r, err := q.GetRefundByNo(ctx, refundNo)
	if err != nil {
		return "", "", at, err
	}
	if r.OrderID != o.ID || r.SucceededAt == nil {
		return "", "", at, pgx.ErrNoRows
	}
	return "fee:" + r.ID.String(), "WeChat fee given back with refund " + r.OutRefundNo, *r.SucceededAt, nil
}
