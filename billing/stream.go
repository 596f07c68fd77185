package billing

import (
	"context"
	"time"
)

// Kinds of LedgerRecord.
const (
	RecordPay    = 1
	RecordRefund = 2
)

// LedgerRecord is one payment or refund as our books know it, in WeChat's terms,
// for reconciliation.
type LedgerRecord struct {
	Kind          int // RecordPay or RecordRefund
	OutTradeNo    string
	TransactionID string
	OutRefundNo   string
	RefundID      string
	AmountFen     int64  // payment: the order total; refund: the refund requested
	Status        string // SUCCESS; refunds: PROCESSING, SUCCESS, CLOSED, ABNORMAL
	At            time.Time
	FeeFen        int64 // the fee booked (FindLedger only; a refund's is negative); 0: none
}

// streamSQL is the one query behind StreamLedger: payments by success time, refunds
// by WeChat's create time (ours when WeChat never answered), of one mchid.
// Hand-written because sqlc materialises :many results; this one streams.
const streamSQL = `
SELECT 1, o.order_no, p.transaction_id, '', '', o.amount_fen, 'SUCCESS', p.success_time, 0::bigint
FROM billing.payments p JOIN billing.orders o ON o.id = p.order_id
WHERE p.mchid = $1 AND p.success_time >= $2 AND p.success_time < $3
UNION ALL
SELECT 2, o.order_no, COALESCE(p.transaction_id, ''), r.out_refund_no, COALESCE(r.refund_id, ''), r.amount_fen,
       CASE r.state WHEN 'succeeded' THEN 'SUCCESS' WHEN 'closed' THEN 'CLOSED' WHEN 'abnormal' THEN 'ABNORMAL' ELSE 'PROCESSING' END,
       COALESCE(r.wx_created_at, r.created_at), 0::bigint
FROM billing.refunds r JOIN billing.orders o ON o.id = r.order_id LEFT JOIN billing.payments p ON p.order_id = o.id
WHERE o.mchid = $1 AND COALESCE(r.wx_created_at, r.created_at) >= $2 AND COALESCE(r.wx_created_at, r.created_at) < $3
  AND r.state NOT IN ('pending_approval', 'rejected')` // never at WeChat: waiting for an approval, or refused

// findSQL is streamSQL's records by WeChat's ids (transaction_id, refund_id), on any day,
// with the fee booked for each (a refund's given back is negative; 0: none booked yet).
var findSQL = `
SELECT 1, o.order_no, p.transaction_id, '', '', o.amount_fen, 'SUCCESS', p.success_time, ` + bookedFee("o.id") + `
FROM billing.payments p JOIN billing.orders o ON o.id = p.order_id
WHERE p.mchid = $1 AND p.transaction_id = ANY($2::text[])
UNION ALL
SELECT 2, o.order_no, COALESCE(p.transaction_id, ''), r.out_refund_no, COALESCE(r.refund_id, ''), r.amount_fen,
       CASE r.state WHEN 'succeeded' THEN 'SUCCESS' WHEN 'closed' THEN 'CLOSED' WHEN 'abnormal' THEN 'ABNORMAL' ELSE 'PROCESSING' END,
       COALESCE(r.wx_created_at, r.created_at), ` + bookedFee("r.id") + `
FROM billing.refunds r JOIN billing.orders o ON o.id = r.order_id LEFT JOIN billing.payments p ON p.order_id = o.id
WHERE o.mchid = $1 AND r.refund_id = ANY($2::text[])`

// bookedFee is the fee entry of a payment or refund (fee.go): what it took off the merchant.
func bookedFee(id string) string {
	return `(SELECT COALESCE(SUM(fp.amount_fen), 0) FROM billing.journal_entries fe JOIN billing.postings fp ON fp.entry_id = fe.id
	WHERE fe.source_key = 'fee:' || ` + id + `::text AND fp.account = 'merchant_payable')::bigint`
}

// StreamLedger calls fn for every payment and refund of mchid whose time is in
// [from, to), with one query whose rows stream (nothing is queried per record). The
// record passed to fn is reused: fn copies what it keeps. It stops at fn's first error.
func (s *Service) StreamLedger(ctx context.Context, mchid string, from, to time.Time, fn func(*LedgerRecord) error) error {
	return s.stream(ctx, fn, streamSQL, mchid, from, to)
}

// FindLedger calls fn for every payment and refund of mchid whose WeChat id
// (transaction_id, refund_id) is one of ids, whatever its day, as StreamLedger does.
func (s *Service) FindLedger(ctx context.Context, mchid string, ids []string, fn func(*LedgerRecord) error) error {
	return s.stream(ctx, fn, findSQL, mchid, ids)
}

func (s *Service) stream(ctx context.Context, fn func(*LedgerRecord) error, sql string, args ...any) error {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return wrap("stream ledger", err)
	}
	defer rows.Close()
	var r LedgerRecord
	for rows.Next() {
		if err := rows.Scan(&r.Kind, &r.OutTradeNo, &r.TransactionID, &r.OutRefundNo, &r.RefundID, &r.AmountFen, &r.Status, &r.At, &r.FeeFen); err != nil {
			return wrap("stream ledger", err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return wrap("stream ledger", rows.Err())
}
