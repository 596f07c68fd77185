-- The ranking's inputs for a batch of consumers at once (a batch of payments), each the
-- per-consumer query of recommend.sql run for every consumer or item in one statement.

-- name: ConsumersBought :many
-- ConsumerBought of each consumer.
SELECT x.c::uuid AS consumer_id, b.merchant_id, b.orders, b.last_at, b.name, b.category, b.lat, b.lng, b.live, b.buyers
FROM unnest(sqlc.arg(consumer_ids)::uuid[]) AS x(c)
CROSS JOIN LATERAL (
    SELECT cm.merchant_id, cm.orders, cm.last_at, m.name, m.category, m.lat, m.lng, m.live, m.buyers
    FROM matching.consumer_merchants cm JOIN matching.merchants m ON m.merchant_id = cm.merchant_id
    WHERE cm.consumer_id = x.c
    ORDER BY cm.last_at DESC, cm.merchant_id LIMIT 200) b;

-- name: NearMerchantsOfPoints :many
-- NearMerchants of each point (i: the point's place in lats and lngs, from 1).
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
