-- name: ClaimOutbox :many
-- Claims the oldest unsent rows that no live lease holds; SKIP LOCKED lets relays
-- running at once take disjoint rows without waiting for each other.
WITH next AS (
    SELECT o.id FROM platform.outbox o
    WHERE o.sent_at IS NULL AND (o.lease_until IS NULL OR o.lease_until < now())
    ORDER BY o.id
    LIMIT sqlc.arg(batch_size)
    FOR UPDATE SKIP LOCKED
)
UPDATE platform.outbox o
SET lease_until = now() + sqlc.arg(lease_ms)::bigint * interval '1 millisecond',
    leased_by = sqlc.arg(relay)::text,
    attempts = o.attempts + 1
FROM next WHERE o.id = next.id
RETURNING o.id, o.topic, o.aggregate_key, o.payload, o.request_id, o.created_at;

-- name: MarkOutboxSent :exec
UPDATE platform.outbox SET sent_at = now(), lease_until = NULL, last_error = NULL
WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: ReleaseOutbox :exec
-- Hands failed rows back after a backoff that grows with their attempts.
UPDATE platform.outbox
SET lease_until = now() + least(attempts, 60) * interval '1 second', last_error = sqlc.arg(last_error)::text
WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: InsertOutbox :exec
INSERT INTO platform.outbox (id, topic, aggregate_key, payload, request_id)
VALUES (sqlc.arg(id), sqlc.arg(topic), sqlc.arg(aggregate_key), sqlc.arg(payload), sqlc.arg(request_id));

-- name: OutboxBacklog :one
SELECT count(*)::bigint AS unsent,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
FROM platform.outbox WHERE sent_at IS NULL;

-- name: DeleteSentOutbox :execrows
DELETE FROM platform.outbox WHERE sent_at < now() - sqlc.arg(older_than_ms)::bigint * interval '1 millisecond';
