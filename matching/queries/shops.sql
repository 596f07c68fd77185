-- name: UpsertShop :exec
-- A shop's facts as of seen_at: the latest facts win whatever order events arrive in;
-- the merchant id, once known, stays; the origin is the first source that told of it.
INSERT INTO matching.shops AS s (lead_id, merchant_id, origin, import_id, name, category, city, phone, licence_no, lat, lng, archived, seen_at)
VALUES (sqlc.arg(lead_id), sqlc.narg(merchant_id), sqlc.arg(origin), sqlc.narg(import_id), sqlc.arg(name), sqlc.arg(category),
        sqlc.arg(city), sqlc.arg(phone), sqlc.arg(licence_no), sqlc.arg(lat), sqlc.arg(lng), sqlc.arg(archived), sqlc.arg(seen_at))
ON CONFLICT (lead_id) DO UPDATE SET
    merchant_id = coalesce(EXCLUDED.merchant_id, s.merchant_id),
    import_id   = coalesce(s.import_id, EXCLUDED.import_id),
    name        = CASE WHEN EXCLUDED.seen_at >= s.seen_at THEN EXCLUDED.name ELSE s.name END,
    category    = CASE WHEN EXCLUDED.seen_at >= s.seen_at AND EXCLUDED.category <> '' THEN EXCLUDED.category ELSE s.category END,
    city        = CASE WHEN EXCLUDED.seen_at >= s.seen_at AND EXCLUDED.city <> '' THEN EXCLUDED.city ELSE s.city END,
    phone       = CASE WHEN EXCLUDED.seen_at >= s.seen_at THEN EXCLUDED.phone ELSE s.phone END,
    licence_no  = CASE WHEN EXCLUDED.seen_at >= s.seen_at THEN EXCLUDED.licence_no ELSE s.licence_no END,
    lat         = CASE WHEN EXCLUDED.seen_at >= s.seen_at THEN EXCLUDED.lat ELSE s.lat END,
    lng         = CASE WHEN EXCLUDED.seen_at >= s.seen_at THEN EXCLUDED.lng ELSE s.lng END,
    archived    = CASE WHEN EXCLUDED.seen_at >= s.seen_at THEN EXCLUDED.archived ELSE s.archived END,
    seen_at     = greatest(s.seen_at, EXCLUDED.seen_at);

-- name: GetShop :one
SELECT lead_id, merchant_id, name, phone, licence_no, lat, lng FROM matching.shops WHERE lead_id = $1;

-- name: ShopCandidates :many
-- Other shops with the same phone or licence, or a name at least min_similarity alike
-- (pg_trgm) within radius_m: the signals of merchant's lead dedup.
SELECT s.lead_id, s.name, s.phone, s.licence_no,
       similarity(s.name, sqlc.arg(name)::text)::float8 AS name_similarity,
       ST_Distance(s.geog, ST_SetSRID(ST_MakePoint(sqlc.arg(lng)::float8, sqlc.arg(lat)::float8), 4326)::geography)::float8 AS distance_m
FROM matching.shops s
WHERE s.lead_id <> sqlc.arg(lead_id)::uuid
  AND ((sqlc.arg(phone)::text <> '' AND s.phone = sqlc.arg(phone)::text)
    OR (sqlc.arg(licence_no)::text <> '' AND s.licence_no = sqlc.arg(licence_no)::text)
    OR (ST_DWithin(s.geog, ST_SetSRID(ST_MakePoint(sqlc.arg(lng)::float8, sqlc.arg(lat)::float8), 4326)::geography, sqlc.arg(radius_m)::float8)
        AND similarity(s.name, sqlc.arg(name)::text) >= sqlc.arg(min_similarity)::float8))
LIMIT 20;

-- name: InsertShopMatch :exec
-- A pair waiting for review takes the evidence as it stands now (a lead that went live
-- with the other's licence may be linked now), and a withdrawn pair whose evidence came
-- back waits again; a pair a reviewer decided is never redone.
INSERT INTO matching.shop_matches AS m (id, a, b, confidence, evidence, state, automatic, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (a, b) DO UPDATE SET confidence = EXCLUDED.confidence, evidence = EXCLUDED.evidence, state = EXCLUDED.state,
    automatic = EXCLUDED.automatic, decided_at = NULL, decided_by = ''
WHERE m.state IN ('review', 'withdrawn')
  AND (m.confidence, m.evidence, m.state) IS DISTINCT FROM (EXCLUDED.confidence, EXCLUDED.evidence, EXCLUDED.state);

-- name: ShopPairsInReview :many
-- The pairs of a shop waiting for review, with what the other shop shares with it now.
SELECT m.id, o.phone, o.licence_no,
       similarity(o.name, s.name)::float8 AS name_similarity,
       ST_Distance(o.geog, s.geog)::float8 AS distance_m
FROM matching.shop_matches m
JOIN matching.shops s ON s.lead_id = sqlc.arg(lead_id)::uuid
JOIN matching.shops o ON o.lead_id = CASE WHEN m.a = s.lead_id THEN m.b ELSE m.a END
WHERE (m.a = sqlc.arg(lead_id)::uuid OR m.b = sqlc.arg(lead_id)::uuid) AND m.state = 'review';

-- name: WithdrawShopMatch :exec
UPDATE matching.shop_matches SET state = 'withdrawn', decided_at = sqlc.arg(at), decided_by = 'matching'
WHERE id = sqlc.arg(id) AND state = 'review';

-- name: ListShopMatches :many
SELECT m.*, sa.name AS a_name, sb.name AS b_name, sa.merchant_id AS a_merchant, sb.merchant_id AS b_merchant,
       sa.origin AS a_origin, sb.origin AS b_origin, sa.archived AS a_archived, sb.archived AS b_archived
FROM matching.shop_matches m
JOIN matching.shops sa ON sa.lead_id = m.a JOIN matching.shops sb ON sb.lead_id = m.b
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
-- The consumer's own links and those of every consumer merged into it (merges of
-- merges too): a merge moves the owner's shops to the survivor, an undo back.
WITH RECURSIVE merged_in (id) AS (
    SELECT sqlc.arg(consumer_id)::uuid
    UNION
    SELECT m.merged FROM matching.merges m JOIN merged_in ON m.survivor = merged_in.id WHERE m.state = 'merged'
)
SELECT l.*, s.name FROM matching.owner_links l JOIN matching.shops s ON s.merchant_id = l.merchant_id
WHERE l.consumer_id IN (SELECT id FROM merged_in) AND l.state <> 'rejected' ORDER BY l.created_at;

-- name: CountShopMatches :one
SELECT count(*) FROM matching.shop_matches;
