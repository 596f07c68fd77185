-- name: ConsumerPosition :one
SELECT lat, lng FROM matching.consumers WHERE consumer_id = $1;

-- name: Neighbors :many
-- The strongest co-purchase partners of each of the given merchants, live ones only, in
-- the order of froms (the ranking credits a tie to the first merchant tried that gives it).
-- Ties here and in the ranking's other reads (batch.sql) go by merchant id, so that a
-- list does not depend on the plan PostgreSQL picks.
SELECT x.a::uuid AS from_id, c.b AS merchant_id, c.n, m.name, m.category, m.lat, m.lng, m.buyers
FROM unnest(sqlc.arg(froms)::uuid[]) WITH ORDINALITY AS x(a, i)
CROSS JOIN LATERAL (SELECT cp.b, cp.n FROM matching.co_purchases cp WHERE cp.a = x.a ORDER BY cp.n DESC, cp.b LIMIT sqlc.arg(per)) c
JOIN matching.merchants m ON m.merchant_id = c.b AND m.live
ORDER BY x.i, c.n DESC, c.b;

-- name: TopInCategories :many
-- The most popular live merchants of each category.
SELECT m.merchant_id, m.name, m.category, m.lat, m.lng, m.buyers
FROM unnest(sqlc.arg(categories)::text[]) AS x(category)
CROSS JOIN LATERAL (SELECT * FROM matching.merchants mm WHERE mm.live AND mm.category = x.category ORDER BY mm.buyers DESC, mm.merchant_id LIMIT sqlc.arg(per)) m;

-- name: PopularMerchants :many
-- The cold-start list: live merchants by number of buyers.
SELECT m.merchant_id, m.name, m.category, m.lat, m.lng, m.buyers
FROM matching.merchants m WHERE m.live
ORDER BY m.buyers DESC, m.merchant_id LIMIT sqlc.arg(max_rows);

-- name: LockConsumer :exec
-- Serialises the recomputes of one consumer until the end of the transaction.
SELECT pg_advisory_xact_lock(hashtextextended('matching.consumer:' || sqlc.arg(consumer_id)::uuid::text, 0));

-- name: DeleteRecommendations :exec
DELETE FROM matching.recommendation_lists WHERE consumer_id = ANY(sqlc.arg(consumer_ids)::uuid[]);

-- name: CopyRecommendations :copyfrom
INSERT INTO matching.recommendation_lists (consumer_id, items, computed_at) VALUES ($1, $2, $3);

-- name: GetRecommendations :one
SELECT items, computed_at FROM matching.recommendation_lists WHERE consumer_id = $1;

-- name: MerchantByID :one
SELECT merchant_id, name, category, city, lat, lng, live, buyers FROM matching.merchants WHERE merchant_id = $1;

-- name: AllMerchants :many
SELECT merchant_id, name, category, lat, lng, live FROM matching.merchants;

-- name: AllConsumerMerchants :many
SELECT consumer_id, merchant_id, orders, last_at FROM matching.consumer_merchants;

-- name: DeleteCoPurchases :exec
DELETE FROM matching.co_purchases;

-- name: CopyCoPurchases :copyfrom
INSERT INTO matching.co_purchases (a, b, n) VALUES ($1, $2, $3);

-- name: ColdStart :many
-- The popular list for a consumer with nothing stored, without what they tried (a
-- consumer who tried every popular merchant has an empty ranking, not these).
SELECT m.merchant_id, m.name, m.category, m.buyers
FROM matching.merchants m
WHERE m.live AND NOT EXISTS (SELECT 1 FROM matching.consumer_merchants cm WHERE cm.consumer_id = $1 AND cm.merchant_id = m.merchant_id)
ORDER BY m.buyers DESC, m.merchant_id LIMIT sqlc.arg(max_rows);
