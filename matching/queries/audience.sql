-- name: AudienceCandidates :many
-- Consumers likely to buy at a merchant, from three signals (each capped at sql max_each):
-- near (where they buy is within radius_m), affinity (orders in the merchant's category),
-- alike (customers of the merchant's strongest co-purchase partners). Consumers who
-- bought at the merchant since recent_since are its customers already, not an audience.
WITH m AS (
    SELECT mm.merchant_id, mm.category, mm.geog FROM matching.merchants mm WHERE mm.merchant_id = sqlc.arg(merchant_id)
), sim AS (
    SELECT cp.b AS merchant_id FROM matching.co_purchases cp WHERE cp.a = sqlc.arg(merchant_id) ORDER BY cp.n DESC LIMIT 20
), near AS (
    SELECT c.consumer_id FROM matching.consumers c, m
    WHERE ST_DWithin(c.geog, m.geog, sqlc.arg(radius_m)::float8)
    ORDER BY c.geog <-> m.geog LIMIT sqlc.arg(max_each)
), aff AS (
    SELECT cm.consumer_id, sum(cm.orders)::int AS orders
    FROM matching.consumer_merchants cm
    JOIN matching.merchants mm ON mm.merchant_id = cm.merchant_id
    JOIN m ON mm.category = m.category
    GROUP BY cm.consumer_id ORDER BY 2 DESC LIMIT sqlc.arg(max_each)
), alike AS (
    SELECT cm.consumer_id, count(*)::int AS shops, max(cm.last_at)::timestamptz AS last_at
    FROM matching.consumer_merchants cm JOIN sim ON sim.merchant_id = cm.merchant_id
    GROUP BY cm.consumer_id ORDER BY 2 DESC LIMIT sqlc.arg(max_each)
), cands AS (
    SELECT consumer_id FROM near UNION SELECT consumer_id FROM aff UNION SELECT consumer_id FROM alike
)
SELECT cands.consumer_id,
       coalesce(ST_Distance(c.geog, m.geog), -1)::float8 AS distance_m,
       coalesce(aff.orders, 0)::int AS category_orders,
       coalesce(alike.shops, 0)::int AS alike_shops,
       coalesce(alike.last_at, 'epoch'::timestamptz)::timestamptz AS alike_last_at
FROM cands
CROSS JOIN m
LEFT JOIN matching.consumers c ON c.consumer_id = cands.consumer_id
LEFT JOIN aff ON aff.consumer_id = cands.consumer_id
LEFT JOIN alike ON alike.consumer_id = cands.consumer_id
WHERE NOT EXISTS (SELECT 1 FROM matching.consumer_merchants x
                  WHERE x.consumer_id = cands.consumer_id AND x.merchant_id = sqlc.arg(merchant_id) AND x.last_at >= sqlc.arg(recent_since));
