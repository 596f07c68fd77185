-- name: StatementFigures :one
-- A merchant's ledger for a period: each entry dated by what it books
-- (billing.statement_entries), plus the adjustments made in the period.
SELECT
    COALESCE(SUM(p.amount_fen) FILTER (WHERE t.kind = 'payment' AND p.account = 'wxpay_clearing'), 0)::bigint AS gross_fen,
    COALESCE(-SUM(p.amount_fen) FILTER (WHERE t.kind = 'refund' AND p.account = 'wxpay_clearing'), 0)::bigint AS refunds_fen,
    COALESCE(-SUM(p.amount_fen) FILTER (WHERE p.account = 'platform_commission'), 0)::bigint AS commission_fen,
    COALESCE(SUM(p.amount_fen) FILTER (WHERE t.kind = 'fee' AND p.account = 'merchant_payable'), 0)::bigint AS fees_fen,
    COALESCE(-SUM(p.amount_fen) FILTER (WHERE p.account = 'merchant_payable'), 0)::bigint AS ledger_net_fen,
    COUNT(*) FILTER (WHERE t.kind = 'payment' AND p.account = 'wxpay_clearing')::int AS payments,
    COUNT(*) FILTER (WHERE t.kind = 'refund' AND p.account = 'wxpay_clearing')::int AS refunds,
    (SELECT COALESCE(SUM(a.amount_fen), 0) FROM billing.adjustments a
     WHERE a.merchant_id = sqlc.arg(merchant_id) AND a.at >= sqlc.arg(from_at)::timestamptz AND a.at < sqlc.arg(to_at)::timestamptz)::bigint AS adjustments_fen
FROM billing.statement_entries t JOIN billing.postings p ON p.entry_id = t.id
WHERE t.merchant_id = sqlc.arg(merchant_id) AND t.at >= sqlc.arg(from_at)::timestamptz AND t.at < sqlc.arg(to_at)::timestamptz
  AND t.booked_at <= sqlc.arg(as_of)::timestamptz;

-- name: SettlementFigures :many
-- Every merchant's ledger for a period in one pass (tandem settle, the settlement
-- bench): the same figures as StatementFigures, grouped by merchant. A payment or a
-- refund entry has exactly one clearing posting, so counting those counts entries
-- without a DISTINCT (which would sort every posting).
WITH l AS (
    SELECT t.merchant_id,
        COALESCE(SUM(p.amount_fen) FILTER (WHERE t.kind = 'payment' AND p.account = 'wxpay_clearing'), 0)::bigint AS gross_fen,
        COALESCE(-SUM(p.amount_fen) FILTER (WHERE t.kind = 'refund' AND p.account = 'wxpay_clearing'), 0)::bigint AS refunds_fen,
        COALESCE(-SUM(p.amount_fen) FILTER (WHERE p.account = 'platform_commission'), 0)::bigint AS commission_fen,
        COALESCE(SUM(p.amount_fen) FILTER (WHERE t.kind = 'fee' AND p.account = 'merchant_payable'), 0)::bigint AS fees_fen,
        COALESCE(-SUM(p.amount_fen) FILTER (WHERE p.account = 'merchant_payable'), 0)::bigint AS ledger_net_fen,
        COUNT(*) FILTER (WHERE t.kind = 'payment' AND p.account = 'wxpay_clearing')::int AS payments,
        COUNT(*) FILTER (WHERE t.kind = 'refund' AND p.account = 'wxpay_clearing')::int AS refunds
    FROM billing.statement_entries t JOIN billing.postings p ON p.entry_id = t.id
    WHERE t.at >= sqlc.arg(from_at)::timestamptz AND t.at < sqlc.arg(to_at)::timestamptz
      AND t.booked_at <= sqlc.arg(as_of)::timestamptz
    GROUP BY t.merchant_id
), a AS (
    SELECT merchant_id, SUM(amount_fen)::bigint AS adjustments_fen FROM billing.adjustments
    WHERE at >= sqlc.arg(from_at)::timestamptz AND at < sqlc.arg(to_at)::timestamptz GROUP BY merchant_id
)
SELECT COALESCE(l.merchant_id, a.merchant_id)::uuid AS merchant_id,
    COALESCE(l.gross_fen, 0)::bigint AS gross_fen, COALESCE(l.refunds_fen, 0)::bigint AS refunds_fen,
    COALESCE(l.commission_fen, 0)::bigint AS commission_fen, COALESCE(l.fees_fen, 0)::bigint AS fees_fen,
    COALESCE(l.ledger_net_fen, 0)::bigint AS ledger_net_fen, COALESCE(l.payments, 0)::int AS payments,
    COALESCE(l.refunds, 0)::int AS refunds, COALESCE(a.adjustments_fen, 0)::bigint AS adjustments_fen
FROM l FULL JOIN a ON a.merchant_id = l.merchant_id
ORDER BY 1;

-- name: StatementLines :many
-- The entries behind a merchant's statement of a period, oldest first: what each
-- figure of the statement sums.
SELECT t.id AS entry_id, t.kind, t.source_key, t.at, o.order_no, o.id AS order_id,
    COALESCE(SUM(p.amount_fen) FILTER (WHERE p.account = 'wxpay_clearing'), 0)::bigint AS clearing_fen,
    COALESCE(SUM(p.amount_fen) FILTER (WHERE p.account = 'platform_commission'), 0)::bigint AS commission_fen,
    COALESCE(SUM(p.amount_fen) FILTER (WHERE p.account = 'merchant_payable'), 0)::bigint AS payable_fen
FROM billing.statement_entries t
JOIN billing.postings p ON p.entry_id = t.id
JOIN billing.orders o ON o.id = t.order_id
WHERE t.merchant_id = sqlc.arg(merchant_id) AND t.at >= sqlc.arg(from_at)::timestamptz AND t.at < sqlc.arg(to_at)::timestamptz
  AND t.booked_at <= sqlc.arg(as_of)::timestamptz
GROUP BY t.id, t.kind, t.source_key, t.at, o.order_no, o.id
ORDER BY t.at, t.id;

-- name: PeriodAdjustments :many
SELECT * FROM billing.adjustments
WHERE merchant_id = sqlc.arg(merchant_id) AND at >= sqlc.arg(from_at)::timestamptz AND at < sqlc.arg(to_at)::timestamptz
ORDER BY at, id;

-- name: InsertAdjustment :exec
INSERT INTO billing.adjustments (id, merchant_id, amount_fen, reason, corrects, at, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: GetStatement :one
SELECT * FROM billing.statements WHERE id = $1;

-- name: ListStatements :many
-- Issued statements in the caller's scope, newest period first.
SELECT * FROM billing.statements
WHERE (sqlc.arg(scope_all)::bool OR merchant_id = ANY(sqlc.arg(scope_merchant_ids)::uuid[]))
  AND (sqlc.narg(merchant_id)::uuid IS NULL OR merchant_id = sqlc.narg(merchant_id))
  AND (sqlc.arg(paid)::text = '' OR (sqlc.arg(paid) = 'paid') = (paid_at IS NOT NULL))
  AND (sqlc.arg(before)::uuid = '00000000-0000-0000-0000-000000000000' OR id < sqlc.arg(before)::uuid)
ORDER BY id DESC LIMIT sqlc.arg(lim);

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
