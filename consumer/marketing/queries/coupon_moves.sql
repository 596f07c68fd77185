-- name: CouponsMovedOut :exec
-- A merge's move takes a batch's coupons from a member (never below none: a redemption
-- told late has taken its own already).
UPDATE marketing.member_coupons SET held = GREATEST(held - sqlc.arg(held)::int, 0), unused = GREATEST(unused - sqlc.arg(unused)::int, 0)
WHERE consumer_id = sqlc.arg(consumer_id) AND batch_id = sqlc.arg(batch_id);

-- name: CouponsMovedIn :exec
INSERT INTO marketing.member_coupons (consumer_id, seq, batch_id, held, unused)
VALUES (sqlc.arg(consumer_id), sqlc.arg(seq), sqlc.arg(batch_id), sqlc.arg(held)::int, sqlc.arg(unused)::int)
ON CONFLICT (consumer_id, batch_id) DO UPDATE SET held = marketing.member_coupons.held + EXCLUDED.held,
    unused = marketing.member_coupons.unused + EXCLUDED.unused;
