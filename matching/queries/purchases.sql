-- name: UpsertLiveMerchant :exec
-- A merchant went live: its description; the purchase counts, if purchases came first, stay.
INSERT INTO matching.merchants (merchant_id, name, category, city, lat, lng, live, live_at)
VALUES ($1, $2, $3, $4, $5, $6, true, sqlc.arg(live_at)::timestamptz)
ON CONFLICT (merchant_id) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category, city = EXCLUDED.city,
    lat = EXCLUDED.lat, lng = EXCLUDED.lng, live = true, live_at = EXCLUDED.live_at;

-- name: LockPurchase :one
SELECT order_id, consumer_id, merchant_id, amount_fen, refunded_fen, paid_at FROM matching.purchases WHERE order_id = $1 FOR UPDATE;

-- name: SetRefunded :exec
UPDATE matching.purchases SET refunded_fen = $2 WHERE order_id = $1;

-- name: RefundConsumerMerchant :exec
-- A refund lowers the net spent; an order wholly refunded no longer counts as an order.
UPDATE matching.consumer_merchants
SET net_fen = net_fen - sqlc.arg(refund_delta_fen), orders = orders - sqlc.arg(orders_delta)::int
WHERE consumer_id = $1 AND merchant_id = $2;

-- name: CountMerchantOrders :exec
-- Paid orders at merchants, and new buyers there (a payment batch's, summed per
-- merchant: each merchant once, in the order given).
INSERT INTO matching.merchants AS m (merchant_id, buyers, orders)
SELECT unnest(sqlc.arg(merchant_ids)::uuid[]), unnest(sqlc.arg(new_buyers)::int[]), unnest(sqlc.arg(orders)::int[])
ON CONFLICT (merchant_id) DO UPDATE SET buyers = m.buyers + EXCLUDED.buyers, orders = m.orders + EXCLUDED.orders;

-- name: AddCoPurchases :exec
-- Both directions of each pair, in key order so that concurrent payments lock rows in one order.
INSERT INTO matching.co_purchases AS c (a, b, n)
SELECT x.a, x.b, 1 FROM (
    SELECT sqlc.arg(merchant_id)::uuid AS a, o AS b FROM unnest(sqlc.arg(others)::uuid[]) o
    UNION ALL
    SELECT o, sqlc.arg(merchant_id)::uuid FROM unnest(sqlc.arg(others)::uuid[]) o
) x ORDER BY x.a, x.b
ON CONFLICT (a, b) DO UPDATE SET n = c.n + 1;

-- name: RefreshConsumerPositions :exec
-- Where consumers buy: the centre of the live merchants each tried.
INSERT INTO matching.consumers (consumer_id, lat, lng, merchants, last_at)
SELECT cm.consumer_id, avg(m.lat), avg(m.lng), count(*), max(cm.last_at)
FROM matching.consumer_merchants cm JOIN matching.merchants m ON m.merchant_id = cm.merchant_id AND m.live
WHERE cm.consumer_id = ANY(sqlc.arg(consumer_ids)::uuid[])
GROUP BY cm.consumer_id
ON CONFLICT (consumer_id) DO UPDATE SET lat = EXCLUDED.lat, lng = EXCLUDED.lng, merchants = EXCLUDED.merchants, last_at = EXCLUDED.last_at;
