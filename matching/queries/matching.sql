-- name: LockConsumer :exec
-- Serialises the recomputes of one consumer until the end of the transaction.
SELECT pg_advisory_xact_lock(hashtextextended('matching.consumer:' || sqlc.arg(consumer_id)::uuid::text, 0));

-- name: DeleteRecommendations :exec
DELETE FROM matching.recommendations WHERE consumer_id = $1;

-- name: CopyRecommendations :copyfrom
INSERT INTO matching.recommendations (consumer_id, merchant_id, rank, category, name, distance_m, computed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: ListRecommendations :many
SELECT * FROM matching.recommendations WHERE consumer_id = $1 ORDER BY rank LIMIT sqlc.arg(max_rows);
