-- name: MovedCouponsByBatch :many
-- The coupons a merge (or its undo) moved, counted per batch: held, and not redeemed.
SELECT batch_id, count(*)::int AS held, (count(*) FILTER (WHERE state <> 'redeemed'))::int AS unused
FROM consumer.coupons WHERE id = ANY(sqlc.arg(ids)::uuid[])
GROUP BY batch_id ORDER BY batch_id;
