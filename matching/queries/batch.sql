-- A batch of payments at once: its purchases recorded by one statement, and the
-- ranking's inputs of all its payers read by one statement per kind (a refresh of one
-- consumer is a batch of one).

-- name: ConsumersBought :many
-- What each consumer bought, most recent first (the 200 latest), with the merchants'
-- descriptions.
SELECT x.c::uuid AS consumer_id, b.merchant_id, b.orders, b.last_at, b.name, b.category, b.lat, b.lng, b.live, b.buyers
FROM unnest(sqlc.arg(consumer_ids)::uuid[]) AS x(c)
CROSS JOIN LATERAL (
    SELECT cm.merchant_id, cm.orders, cm.last_at, m.name, m.category, m.lat, m.lng, m.live, m.buyers
    FROM matching.consumer_merchants cm JOIN matching.merchants m ON m.merchant_id = cm.merchant_id
    WHERE cm.consumer_id = x.c
    ORDER BY cm.last_at DESC, cm.merchant_id LIMIT 200) b;

-- name: NearMerchantsOfPoints :many
-- Live merchants within radius_m of each point, nearest first (PostGIS, GiST index; i:
-- the point's place in lats and lngs, from 1).
SELECT x.i::int AS i, n.merchant_id, n.name, n.category, n.lat, n.lng, n.buyers
FROM generate_series(1, cardinality(sqlc.arg(lats)::float8[])) AS x(i)
CROSS JOIN LATERAL (
    SELECT m.merchant_id, m.name, m.category, m.lat, m.lng, m.buyers
    FROM matching.merchants m
    WHERE m.live AND ST_DWithin(m.geog, ST_SetSRID(ST_MakePoint((sqlc.arg(lngs)::float8[])[x.i], (sqlc.arg(lats)::float8[])[x.i]), 4326)::geography, sqlc.arg(radius_m)::float8)
    ORDER BY m.geog <-> ST_SetSRID(ST_MakePoint((sqlc.arg(lngs)::float8[])[x.i], (sqlc.arg(lats)::float8[])[x.i]), 4326)::geography
    LIMIT sqlc.arg(max_rows)) n;

-- name: LockConsumers :exec
-- LockConsumer of each consumer, in the order given (callers sort them: one lock order).
SELECT pg_advisory_xact_lock(hashtextextended('matching.consumer:' || x.c::text, 0))
FROM unnest(sqlc.arg(consumer_ids)::uuid[]) WITH ORDINALITY AS x(c, i) ORDER BY x.i;

-- name: SurvivorsOf :many
-- SurvivorOf of each consumer that a standing merge merged into another.
SELECT merged, id, survivor FROM matching.merges WHERE state = 'merged' AND merged = ANY(sqlc.arg(consumer_ids)::uuid[]);

-- name: InsertPurchases :many
-- InsertPurchase of each payment of a batch; returns the orders recorded now (the others
-- were recorded before, or come twice in the batch).
INSERT INTO matching.purchases (order_id, consumer_id, merchant_id, amount_fen, paid_at)
SELECT unnest(sqlc.arg(order_ids)::uuid[]), unnest(sqlc.arg(consumer_ids)::uuid[]), unnest(sqlc.arg(merchant_ids)::uuid[]),
    unnest(sqlc.arg(amounts_fen)::bigint[]), unnest(sqlc.arg(paid_ats)::timestamptz[])
ON CONFLICT (order_id) DO NOTHING
RETURNING order_id;

-- name: AddConsumerMerchantWithOthers :one
-- AddConsumerMerchant, and when the pair is new, OtherMerchantsOf the consumer (read
-- before the insert: the other merchants are what the transaction saw already).
WITH added AS (
    INSERT INTO matching.consumer_merchants AS cm (consumer_id, merchant_id, orders, net_fen, first_at, last_at)
    VALUES (sqlc.arg(consumer_id), sqlc.arg(merchant_id), 1, sqlc.arg(net_fen), sqlc.arg(at), sqlc.arg(at))
    ON CONFLICT (consumer_id, merchant_id) DO UPDATE SET orders = cm.orders + 1, net_fen = cm.net_fen + EXCLUDED.net_fen,
        first_at = LEAST(cm.first_at, EXCLUDED.first_at), last_at = GREATEST(cm.last_at, EXCLUDED.last_at)
    RETURNING (xmax = 0)::boolean AS new)
SELECT a.new, CASE WHEN a.new THEN ARRAY(
    SELECT o.merchant_id FROM matching.consumer_merchants o
    WHERE o.consumer_id = sqlc.arg(consumer_id) AND o.merchant_id <> sqlc.arg(merchant_id)
    ORDER BY o.last_at DESC LIMIT 50) ELSE '{}' END::uuid[] AS others
FROM added a;
