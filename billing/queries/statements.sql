-- name: StatementFigures :one
-- A merchant's ledger for a period: each entry dated by what it books (a payment and
-- its fee by WeChat's success time, a refund and its fee by the refund's success).
WITH t AS (
    SELECT e.id, e.kind,
        CASE
            WHEN e.kind = 'payment' OR (e.kind = 'fee' AND e.source_key = 'fee:' || e.order_id::text)
                THEN (SELECT p.success_time FROM billing.payments p WHERE p.order_id = e.order_id)
            WHEN e.kind = 'refund'
                THEN (SELECT r.succeeded_at FROM billing.refunds r WHERE 'refund:' || r.id::text = e.source_key)
            ELSE (SELECT r.succeeded_at FROM billing.refunds r WHERE 'fee:' || r.id::text = e.source_key)
        END AS at
    FROM billing.journal_entries e WHERE e.merchant_id = sqlc.arg(merchant_id)
)
SELECT
    COALESCE(SUM(p.amount_fen) FILTER (WHERE t.kind = 'payment' AND p.account = 'wxpay_clearing'), 0)::bigint AS gross_fen,
    COALESCE(-SUM(p.amount_fen) FILTER (WHERE t.kind = 'refund' AND p.account = 'wxpay_clearing'), 0)::bigint AS refunds_fen,
    COALESCE(-SUM(p.amount_fen) FILTER (WHERE p.account = 'platform_commission'), 0)::bigint AS commission_fen,
    COALESCE(SUM(p.amount_fen) FILTER (WHERE t.kind = 'fee' AND p.account = 'merchant_payable'), 0)::bigint AS fees_fen,
    COALESCE(-SUM(p.amount_fen) FILTER (WHERE p.account = 'merchant_payable'), 0)::bigint AS net_fen,
    (COUNT(DISTINCT t.id) FILTER (WHERE t.kind = 'payment'))::int AS payments,
    (COUNT(DISTINCT t.id) FILTER (WHERE t.kind = 'refund'))::int AS refunds
FROM t JOIN billing.postings p ON p.entry_id = t.id
WHERE t.at >= sqlc.arg(from_at)::timestamptz AND t.at < sqlc.arg(to_at)::timestamptz;

-- name: InsertStatement :exec
INSERT INTO billing.statements (id, merchant_id, cycle, period_start, period_end, payable_on, gross_fen, refunds_fen,
    commission_fen, fees_fen, adjustments_fen, net_fen, payments, refunds, issued_at, issued_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
ON CONFLICT (merchant_id, cycle, period_start) DO NOTHING;

-- name: GetStatementOf :one
SELECT * FROM billing.statements WHERE merchant_id = $1 AND cycle = $2 AND period_start = $3;

-- name: LockStatement :one
SELECT * FROM billing.statements WHERE id = $1 FOR UPDATE;

-- name: MarkStatementPaid :exec
UPDATE billing.statements SET paid_at = $2, paid_by = $3, payout_ref = $4 WHERE id = $1 AND paid_at IS NULL;
