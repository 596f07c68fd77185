-- The expiry job (expiry.go: ExpireLots).

-- name: DueConsumers :many
-- A batch of members with lots due to expire, their balance rows locked in id order
-- (the same order as every other writer: balance row first, then lots).
-- The members are found by a loose index scan (a recursive step per member: the next
-- member's first due lot, from the draw index), so of a member's due lots only the
-- first is read here; a DISTINCT over the due lots read every one of them twice, here
-- and again when they are expired.
-- (= ANY(ARRAY(…)) has the balances found by key, not scanned whole for each batch.)
WITH RECURSIVE due AS (
    (SELECT l.consumer_id FROM consumer.points_lots l
     WHERE l.consumer_id > sqlc.arg(after)::uuid AND l.consumer_id <= sqlc.arg(upto)::uuid
       AND l.expires_at <= sqlc.arg(now) AND l.remaining > 0
     ORDER BY l.consumer_id LIMIT 1)
    UNION ALL
    SELECT (SELECT l.consumer_id FROM consumer.points_lots l
            WHERE l.consumer_id > due.consumer_id AND l.consumer_id <= sqlc.arg(upto)::uuid
              AND l.expires_at <= sqlc.arg(now) AND l.remaining > 0
            ORDER BY l.consumer_id LIMIT 1)
    FROM due WHERE due.consumer_id IS NOT NULL
)
SELECT b.consumer_id FROM consumer.points_balances b
WHERE b.consumer_id = ANY(ARRAY(SELECT due.consumer_id FROM due WHERE due.consumer_id IS NOT NULL LIMIT sqlc.arg(lim)))
ORDER BY b.consumer_id
FOR UPDATE OF b;
