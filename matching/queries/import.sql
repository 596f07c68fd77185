-- name: CopyMerchants :copyfrom
INSERT INTO matching.merchants (merchant_id, name, category, city, lat, lng, live, live_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: CopyPurchases :copyfrom
INSERT INTO matching.purchases (order_id, consumer_id, merchant_id, amount_fen, paid_at) VALUES ($1, $2, $3, $4, $5);

-- name: RecountConsumerMerchants :exec
-- Every consumer's record at each merchant from the purchases (a bulk import's aggregates).
INSERT INTO matching.consumer_merchants (consumer_id, merchant_id, orders, net_fen, first_at, last_at)
SELECT consumer_id, merchant_id, count(*) FILTER (WHERE refunded_fen < amount_fen), sum(amount_fen - refunded_fen), min(paid_at), max(paid_at)
FROM matching.purchases GROUP BY consumer_id, merchant_id
ON CONFLICT (consumer_id, merchant_id) DO UPDATE SET orders = EXCLUDED.orders, net_fen = EXCLUDED.net_fen,
    first_at = EXCLUDED.first_at, last_at = EXCLUDED.last_at;

-- name: RecountMerchants :exec
UPDATE matching.merchants m SET buyers = x.buyers, orders = x.orders
FROM (SELECT merchant_id, count(*)::int AS buyers, sum(orders)::int AS orders FROM matching.consumer_merchants GROUP BY merchant_id) x
WHERE m.merchant_id = x.merchant_id;

-- name: RecountConsumers :exec
INSERT INTO matching.consumers (consumer_id, lat, lng, merchants, last_at)
SELECT cm.consumer_id, avg(m.lat), avg(m.lng), count(*), max(cm.last_at)
FROM matching.consumer_merchants cm JOIN matching.merchants m ON m.merchant_id = cm.merchant_id AND m.live
GROUP BY cm.consumer_id
ON CONFLICT (consumer_id) DO UPDATE SET lat = EXCLUDED.lat, lng = EXCLUDED.lng, merchants = EXCLUDED.merchants, last_at = EXCLUDED.last_at;

-- name: AllPurchases :many
SELECT order_id, consumer_id, merchant_id, amount_fen - refunded_fen AS net_fen, paid_at
FROM matching.purchases WHERE refunded_fen < amount_fen ORDER BY paid_at, order_id;

-- name: HasPurchases :one
SELECT EXISTS (SELECT 1 FROM matching.purchases);
