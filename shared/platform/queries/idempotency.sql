-- name: ClaimIdempotencyKey :one
-- Inserts the key as in flight, or takes over one whose request died (lease over, same
-- body) or which has outlived the TTL. No row back: someone else holds the key.
INSERT INTO platform.idempotency_keys AS k (scope, key, request_hash, locked_until)
VALUES (sqlc.arg(scope), sqlc.arg(key), sqlc.arg(request_hash), now() + sqlc.arg(lease_ms)::bigint * interval '1 millisecond')
ON CONFLICT (scope, key) DO UPDATE
SET request_hash = EXCLUDED.request_hash, locked_until = EXCLUDED.locked_until,
    status = NULL, headers = NULL, body = NULL, created_at = now()
WHERE (k.status IS NULL AND k.locked_until < now() AND k.request_hash = EXCLUDED.request_hash)
   OR k.created_at < now() - sqlc.arg(ttl_ms)::bigint * interval '1 millisecond'
RETURNING true::boolean AS owned;

-- name: GetIdempotencyKey :one
SELECT request_hash, status, headers, body FROM platform.idempotency_keys
WHERE scope = sqlc.arg(scope) AND key = sqlc.arg(key);

-- name: StoreIdempotentAnswer :exec
UPDATE platform.idempotency_keys SET status = sqlc.arg(status), headers = sqlc.arg(headers), body = sqlc.arg(body)
WHERE scope = sqlc.arg(scope) AND key = sqlc.arg(key);

-- name: DeleteIdempotencyKey :exec
DELETE FROM platform.idempotency_keys WHERE scope = sqlc.arg(scope) AND key = sqlc.arg(key);

-- name: DeleteOldIdempotencyKeys :execrows
DELETE FROM platform.idempotency_keys WHERE created_at < now() - sqlc.arg(older_than_ms)::bigint * interval '1 millisecond';
