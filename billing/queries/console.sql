-- name: SearchOrders :many
-- Orders in the caller's scope, newest first: by order number (or its start), state
-- and merchant.
SELECT * FROM billing.orders
WHERE (sqlc.arg(scope_all)::bool OR merchant_id = ANY(sqlc.arg(scope_merchant_ids)::uuid[]))
  AND (sqlc.arg(order_no)::text = '' OR order_no LIKE sqlc.arg(order_no) || '%')
  AND (sqlc.arg(state)::text = '' OR state = sqlc.arg(state))
  AND (sqlc.narg(merchant_id)::uuid IS NULL OR merchant_id = sqlc.narg(merchant_id))
  AND (sqlc.arg(before)::uuid = '00000000-0000-0000-0000-000000000000' OR id < sqlc.arg(before)::uuid)
ORDER BY id DESC LIMIT sqlc.arg(lim);

-- name: SearchRefunds :many
-- Refunds in the caller's scope (their order's merchant), newest first, by state.
SELECT r.*, o.order_no, o.merchant_id, o.currency FROM billing.refunds r JOIN billing.orders o ON o.id = r.order_id
WHERE (sqlc.arg(scope_all)::bool OR o.merchant_id = ANY(sqlc.arg(scope_merchant_ids)::uuid[]))
  AND (sqlc.arg(state)::text = '' OR r.state = sqlc.arg(state))
  AND (sqlc.arg(before)::uuid = '00000000-0000-0000-0000-000000000000' OR r.id < sqlc.arg(before)::uuid)
ORDER BY r.id DESC LIMIT sqlc.arg(lim);

-- name: LockRefund :one
SELECT * FROM billing.refunds WHERE id = $1 FOR UPDATE;

-- name: InsertPendingRefund :exec
-- A refund waiting for its approval: no call to WeChat yet (attempts 0).
INSERT INTO billing.refunds (id, order_id, out_refund_no, request_key, amount_fen, reason, state, requested_by, created_at,
    attempts, approval_id)
VALUES ($1, $2, $3, $4, $5, $6, 'pending_approval', $7, $8, 0, $9);

-- name: DecideRefund :execrows
-- The approval's decision: approved → requested (sent to WeChat next), rejected → rejected.
UPDATE billing.refunds SET state = sqlc.arg(state), last_error = sqlc.arg(last_error),
    rejected_at = sqlc.narg(rejected_at)
WHERE id = sqlc.arg(id) AND state = 'pending_approval';
