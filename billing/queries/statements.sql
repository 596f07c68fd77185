-- name: PeriodFigures :many
-- Merchants' ledgers for a period, one row a merchant with an entry or an adjustment
-- in it: its entries dated by what they book (at), each with its postings' sums, plus
-- the adjustments made in the period. One merchant's (its statement) when merchant_id
-- is given, every merchant's in one pass (tandem settle, the settlement bench) when it
-- is null. Each call's plan folds the null test away (checked with EXPLAIN after a
-- prepared statement's sixth run: still the custom plan), so one merchant's is read
-- through (merchant_id, at), and every merchant's in one parallel pass over the
-- period's entries; no join, no planner settings.
WITH l AS (
    SELECT e.merchant_id,
        COALESCE(SUM(e.clearing_fen) FILTER (WHERE e.kind = 'payment'), 0)::bigint AS gross_fen,
        COALESCE(-SUM(e.clearing_fen) FILTER (WHERE e.kind = 'refund'), 0)::bigint AS refunds_fen,
        COALESCE(-SUM(e.commission_fen), 0)::bigint AS commission_fen,
        COALESCE(SUM(e.payable_fen) FILTER (WHERE e.kind = 'fee'), 0)::bigint AS fees_fen,
        COALESCE(-SUM(e.payable_fen), 0)::bigint AS ledger_net_fen,
        COUNT(*) FILTER (WHERE e.kind = 'payment')::int AS payments,
        COUNT(*) FILTER (WHERE e.kind = 'refund')::int AS refunds
    FROM billing.journal_entries e
    WHERE (sqlc.narg(merchant_id)::uuid IS NULL OR e.merchant_id = sqlc.narg(merchant_id)::uuid)
      AND e.at >= sqlc.arg(from_at)::timestamptz AND e.at < sqlc.arg(to_at)::timestamptz
      AND e.created_at <= sqlc.arg(as_of)::timestamptz
    GROUP BY e.merchant_id
), a AS (
    SELECT merchant_id, SUM(amount_fen)::bigint AS adjustments_fen FROM billing.adjustments
    WHERE (sqlc.narg(merchant_id)::uuid IS NULL OR merchant_id = sqlc.narg(merchant_id)::uuid)
      AND at >= sqlc.arg(from_at)::timestamptz AND at < sqlc.arg(to_at)::timestamptz
    GROUP BY merchant_id
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
SELECT e.id AS entry_id, e.kind, e.source_key, e.at, o.order_no, o.id AS order_id,
    e.clearing_fen, e.commission_fen, e.payable_fen
FROM billing.journal_entries e
JOIN billing.orders o ON o.id = e.order_id
WHERE e.merchant_id = sqlc.arg(merchant_id) AND e.at >= sqlc.arg(from_at)::timestamptz AND e.at < sqlc.arg(to_at)::timestamptz
  AND e.created_at <= sqlc.arg(as_of)::timestamptz
ORDER BY e.at, e.id;

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
