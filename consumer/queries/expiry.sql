-- The expiry job (jobs.go: ExpireLots).

-- name: DueConsumers :many
-- A batch of members with lots due to expire, their balance rows locked in id order
-- (the same order as every other writer: balance row first, then lots).
-- (= ANY(ARRAY(…)) has the balances found by key, not scanned whole for each batch.)
SELECT b.consumer_id FROM consumer.points_balances b
WHERE b.consumer_id = ANY(ARRAY(
    SELECT DISTINCT l.consumer_id FROM consumer.points_lots l
    WHERE l.remaining > 0 AND l.expires_at <= sqlc.arg(now) AND l.consumer_id > sqlc.arg(after)::uuid
      AND l.consumer_id <= sqlc.arg(upto)::uuid
    ORDER BY l.consumer_id LIMIT sqlc.arg(lim)))
ORDER BY b.consumer_id
FOR UPDATE OF b;
