-- name: KeepOrdersPaid :exec
-- A batch of payment events in one statement: the orders as their members' 360 shows
-- them (a refund event may have made a row first). The caller gives each order once.
INSERT INTO consumer.member_orders (order_id, consumer_id, order_no, merchant_id, amount_fen, paid_at)
SELECT unnest(sqlc.arg(order_ids)::uuid[]), unnest(sqlc.arg(consumer_ids)::uuid[]), unnest(sqlc.arg(order_nos)::text[]),
    unnest(sqlc.arg(merchant_ids)::uuid[]), unnest(sqlc.arg(amounts_fen)::bigint[]), unnest(sqlc.arg(paid_ats)::timestamptz[])
ON CONFLICT (order_id) DO UPDATE SET order_no = EXCLUDED.order_no, amount_fen = EXCLUDED.amount_fen, paid_at = EXCLUDED.paid_at;

-- name: RedeemOrdersCoupons :many
-- A batch of paid orders' reserved coupons marked redeemed in one statement, telling
-- which, for their events.
UPDATE consumer.coupons SET state = 'redeemed', redeemed_at = sqlc.arg(redeemed_at)
WHERE order_id = ANY(sqlc.arg(order_ids)::uuid[]) AND state = 'reserved'
RETURNING id, batch_id, consumer_id, order_id;
