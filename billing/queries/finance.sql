-- name: ListStaleOrders :many
-- Orders left in a state (created or paying) since before a time: the sweeps' work.
SELECT * FROM billing.orders
WHERE state = sqlc.arg(state) AND created_at < sqlc.arg(before)
ORDER BY created_at LIMIT sqlc.arg(lim);

-- name: ListOpenRefunds :many
-- Refunds not settled yet in a state, created before a time, oldest first.
SELECT * FROM billing.refunds
WHERE state = sqlc.arg(state) AND created_at < sqlc.arg(before)
ORDER BY created_at LIMIT sqlc.arg(lim);

-- name: RefundRules :one
-- What WeChat's refund rules look at: the order's refunds that count (all but the
-- rejected) and the last time one was asked for.
SELECT COUNT(*)::int AS refunds, COALESCE(MAX(created_at), 'epoch'::timestamptz)::timestamptz AS last_at
FROM billing.refunds WHERE order_id = $1 AND state <> 'rejected';

-- name: GetRefundByNo :one
SELECT * FROM billing.refunds WHERE out_refund_no = $1;

-- name: RejectRefund :execrows
-- WeChat refused a refund (or it was cancelled by rule): it reserves nothing any more.
UPDATE billing.refunds SET state = 'rejected', last_error = sqlc.arg(last_error), rejected_at = sqlc.arg(at)
WHERE id = sqlc.arg(id) AND state = 'requested';

-- name: NoteRefundAttempt :exec
UPDATE billing.refunds SET attempts = attempts + sqlc.arg(add)::int, last_error = sqlc.arg(last_error) WHERE id = sqlc.arg(id);

-- name: LockException :one
SELECT * FROM billing.exceptions WHERE id = $1 FOR UPDATE;

-- name: ResolveException :exec
UPDATE billing.exceptions SET resolved_at = sqlc.arg(at), resolved_by = sqlc.arg(by), resolution = sqlc.arg(resolution)
WHERE id = sqlc.arg(id) AND resolved_at IS NULL;

-- name: MerchantsOfOrderNos :many
SELECT order_no, merchant_id FROM billing.orders WHERE order_no = ANY(sqlc.arg(order_nos)::text[]);
