-- name: ShopStates :many
-- Every lead as a shop, a page at a time in id order, with its merchant once live: what
-- matching's backfill of shops reads (ShopStates).
SELECT sqlc.embed(l), m.id AS merchant_id
FROM merchant.leads l LEFT JOIN merchant.merchants m ON m.lead_id = l.id
WHERE l.id > sqlc.arg(after_id)::uuid
ORDER BY l.id
LIMIT sqlc.arg(max_rows);
