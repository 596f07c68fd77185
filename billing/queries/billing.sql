-- name: NextOrderSeq :one
SELECT nextval('billing.order_no_seq')::bigint;

-- name: NextRefundSeq :one
SELECT nextval('billing.refund_no_seq')::bigint;

-- name: InsertOrder :exec
INSERT INTO billing.orders (id, order_no, consumer_id, merchant_id, description, amount_fen, currency,
    commission_rate, state, mchid, appid, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'created', $9, $10, $11);

-- name: GetOrder :one
SELECT * FROM billing.orders WHERE id = $1;

-- name: LockOrder :one
SELECT * FROM billing.orders WHERE id = $1 FOR UPDATE;

-- name: LockOrderByNo :one
SELECT * FROM billing.orders WHERE order_no = $1 FOR UPDATE;

-- name: GetOrderByNo :one
SELECT * FROM billing.orders WHERE order_no = $1;

-- name: ListOrders :many
SELECT * FROM billing.orders
WHERE (sqlc.arg(scope_all)::bool
    OR merchant_id = ANY(sqlc.arg(scope_merchant_ids)::uuid[])
    OR consumer_id = ANY(sqlc.arg(consumer_ids)::uuid[]))
  AND (sqlc.arg(before)::uuid = '00000000-0000-0000-0000-000000000000' OR id < sqlc.arg(before)::uuid)
ORDER BY id DESC LIMIT sqlc.arg(lim);

-- name: SetOrderState :execrows
-- Moves the state machine; 0 rows when the order was not in from_state.
UPDATE billing.orders SET state = sqlc.arg(to_state),
    paid_at = COALESCE(sqlc.narg(paid_at), paid_at),
    closed_at = COALESCE(sqlc.narg(closed_at), closed_at),
    refunded_fen = refunded_fen + sqlc.arg(refunded_add)::bigint
WHERE id = sqlc.arg(id) AND state = sqlc.arg(from_state);

-- name: InsertTransition :exec
INSERT INTO billing.order_transitions (id, order_id, from_state, to_state, cause, at) VALUES ($1, $2, $3, $4, $5, $6);

-- name: SetFulfilled :exec
UPDATE billing.orders SET fulfilled_at = $2 WHERE id = $1 AND fulfilled_at IS NULL;

-- name: InsertPayment :exec
INSERT INTO billing.payments (id, order_id, transaction_id, mchid, amount_fen, payer_total_fen, trade_type,
    payer_openid, success_time, source, recorded_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: GetPayment :one
SELECT * FROM billing.payments WHERE order_id = $1;

-- name: InsertRefund :exec
INSERT INTO billing.refunds (id, order_id, out_refund_no, request_key, amount_fen, reason, state, requested_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, 'requested', $7, $8);

-- name: GetRefundByKey :one
SELECT * FROM billing.refunds WHERE order_id = $1 AND request_key = $2;

-- name: LockRefundByNo :one
SELECT * FROM billing.refunds WHERE out_refund_no = $1 FOR UPDATE;

-- name: GetRefund :one
SELECT * FROM billing.refunds WHERE id = $1;

-- name: ListRefunds :many
SELECT * FROM billing.refunds WHERE order_id = $1 ORDER BY id;

-- name: PendingRefundFen :one
-- Refunds of the order asked for and not (yet) failed: what is no longer refundable.
SELECT COALESCE(SUM(amount_fen), 0)::bigint FROM billing.refunds
WHERE order_id = $1 AND state IN ('pending_approval', 'requested', 'processing', 'succeeded', 'abnormal');

-- name: UpdateRefund :exec
UPDATE billing.refunds SET state = sqlc.arg(state),
    refund_id = COALESCE(sqlc.narg(refund_id), refund_id),
    wx_created_at = COALESCE(sqlc.narg(wx_created_at), wx_created_at),
    succeeded_at = COALESCE(sqlc.narg(succeeded_at), succeeded_at)
WHERE id = sqlc.arg(id);

-- name: InsertNotification :exec
INSERT INTO billing.notifications_log (id, notification_id, event_type, verified, outcome, out_trade_no, out_refund_no, detail, received_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: ListNotifications :many
SELECT * FROM billing.notifications_log WHERE out_trade_no = $1 ORDER BY id;

-- name: InsertException :exec
INSERT INTO billing.exceptions (id, kind, out_trade_no, out_refund_no, notification_id, detail, payload, created_at,
    transaction_id, amount_fen)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: ListExceptions :many
SELECT * FROM billing.exceptions WHERE out_trade_no = $1 ORDER BY id;

-- name: InsertJournalEntry :execrows
-- at is the business time; the figures are the sums of the postings written next.
INSERT INTO billing.journal_entries (id, order_id, merchant_id, kind, source_key, memo, created_at, at,
    clearing_fen, payable_fen, commission_fen)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (source_key) DO NOTHING;

-- name: InsertPosting :exec
INSERT INTO billing.postings (id, entry_id, account, merchant_id, amount_fen, currency) VALUES ($1, $2, $3, $4, $5, $6);

-- name: OrderPostings :many
SELECT e.kind, e.source_key, p.account, p.amount_fen
FROM billing.postings p JOIN billing.journal_entries e ON e.id = p.entry_id
WHERE e.order_id = $1 ORDER BY e.id, p.id;

-- name: CommissionReversed :one
SELECT COALESCE(SUM(p.amount_fen), 0)::bigint FROM billing.postings p JOIN billing.journal_entries e ON e.id = p.entry_id
WHERE e.order_id = $1 AND e.kind = 'refund' AND p.account = 'platform_commission';

-- name: LastWebhookAttempt :one
-- The order's attempts so far and when the latest unfinished one started (1970: none).
SELECT COALESCE(max(attempt), 0)::int AS attempts,
       COALESCE(max(created_at) FILTER (WHERE finished_at IS NULL AND webhook_id IS NOT NULL), 'epoch')::timestamptz AS unfinished_since
FROM billing.webhook_deliveries WHERE order_id = $1;

-- name: InsertWebhookAttempt :exec
INSERT INTO billing.webhook_deliveries (id, order_id, event_id, webhook_id, attempt, url, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: FinishWebhookAttempt :exec
UPDATE billing.webhook_deliveries SET status_code = $2, error = $3, duration_ms = $4, finished_at = $5
WHERE id = $1;

-- name: ListDeliveries :many
SELECT * FROM billing.webhook_deliveries WHERE order_id = $1 ORDER BY id;

-- name: OrderLineRefunds :many
-- The order's lines with what its refunds reserve of each (all but rejected or closed
-- ones: no more may be refunded of the line) and what they have given back.
SELECT l.line_no, l.description, l.category, l.amount_fen, l.discount_fen,
       COALESCE(SUM(rl.amount_fen) FILTER (WHERE r.state IN ('pending_approval', 'requested', 'processing', 'succeeded', 'abnormal')), 0)::bigint AS reserved_fen,
       COALESCE(SUM(rl.amount_fen) FILTER (WHERE r.state = 'succeeded'), 0)::bigint AS refunded_fen
FROM billing.order_lines l
LEFT JOIN billing.refund_lines rl ON rl.order_id = l.order_id AND rl.line_no = l.line_no
LEFT JOIN billing.refunds r ON r.id = rl.refund_id
WHERE l.order_id = $1
GROUP BY l.order_id, l.line_no
ORDER BY l.line_no;

-- name: InsertRefundLines :exec
INSERT INTO billing.refund_lines (refund_id, order_id, line_no, amount_fen)
SELECT sqlc.arg(refund_id)::uuid, sqlc.arg(order_id)::uuid, unnest(sqlc.arg(line_nos)::int[]), unnest(sqlc.arg(amounts)::bigint[]);

-- name: RefundLines :many
SELECT line_no, amount_fen FROM billing.refund_lines WHERE refund_id = $1 ORDER BY line_no;

-- name: OrderRefundLines :many
SELECT refund_id, line_no, amount_fen FROM billing.refund_lines WHERE order_id = $1 ORDER BY refund_id, line_no;

-- name: SetFulfilledOrders :exec
-- A fulfilment batch's orders of merchants without a webhook, in one statement, in the
-- batch's transaction; an order fulfilled before keeps its time.
UPDATE billing.orders SET fulfilled_at = sqlc.arg(fulfilled_at)
WHERE id = ANY(sqlc.arg(ids)::uuid[]) AND fulfilled_at IS NULL;
