-- name: UpsertShop :exec
INSERT INTO matching.shops (merchant_id, lead_id, name, phone, licence_no, lat, lng, seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (merchant_id) DO UPDATE SET lead_id = EXCLUDED.lead_id, name = EXCLUDED.name, phone = EXCLUDED.phone,
    licence_no = EXCLUDED.licence_no, lat = EXCLUDED.lat, lng = EXCLUDED.lng, seen_at = EXCLUDED.seen_at;

-- name: ShopCandidates :many
-- Other shops with the same phone or licence, or a name at least min_similarity alike
-- (pg_trgm) within radius_m: the signals of merchant's lead dedup.
SELECT s.merchant_id, s.name, s.phone, s.licence_no,
       similarity(s.name, sqlc.arg(name)::text)::float8 AS name_similarity,
       ST_Distance(s.geog, ST_SetSRID(ST_MakePoint(sqlc.arg(lng)::float8, sqlc.arg(lat)::float8), 4326)::geography)::float8 AS distance_m
FROM matching.shops s
WHERE s.merchant_id <> sqlc.arg(merchant_id)::uuid
  AND ((sqlc.arg(phone)::text <> '' AND s.phone = sqlc.arg(phone)::text)
    OR (sqlc.arg(licence_no)::text <> '' AND s.licence_no = sqlc.arg(licence_no)::text)
    OR (ST_DWithin(s.geog, ST_SetSRID(ST_MakePoint(sqlc.arg(lng)::float8, sqlc.arg(lat)::float8), 4326)::geography, sqlc.arg(radius_m)::float8)
        AND similarity(s.name, sqlc.arg(name)::text) >= sqlc.arg(min_similarity)::float8))
LIMIT 20;

-- name: InsertShopMatch :exec
INSERT INTO matching.shop_matches (id, a, b, confidence, evidence, state, automatic, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (a, b) DO NOTHING;

-- name: ListShopMatches :many
SELECT m.*, sa.name AS a_name, sb.name AS b_name FROM matching.shop_matches m
JOIN matching.shops sa ON sa.merchant_id = m.a JOIN matching.shops sb ON sb.merchant_id = m.b
WHERE (sqlc.arg(state)::text = '' OR m.state = sqlc.arg(state)::text)
ORDER BY m.created_at DESC, m.id LIMIT sqlc.arg(max_rows);

-- name: DecideShopMatch :one
UPDATE matching.shop_matches SET state = sqlc.arg(state), decided_at = sqlc.arg(at), decided_by = sqlc.arg(actor)
WHERE id = sqlc.arg(id) AND state = 'review' RETURNING *;

-- name: GetShopMatch :one
SELECT * FROM matching.shop_matches WHERE id = $1;

-- name: InsertOwnerLink :exec
INSERT INTO matching.owner_links (merchant_id, consumer_id, confidence, state, created_at)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING;

-- name: OwnerLinksOfMerchant :many
SELECT * FROM matching.owner_links WHERE merchant_id = $1 AND state <> 'rejected' ORDER BY created_at;

-- name: OwnerLinksOfConsumer :many
SELECT l.*, s.name FROM matching.owner_links l JOIN matching.shops s ON s.merchant_id = l.merchant_id
WHERE l.consumer_id = $1 AND l.state <> 'rejected' ORDER BY l.created_at;
