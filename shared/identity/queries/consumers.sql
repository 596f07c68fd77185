-- name: FindConsumerIdentities :many
SELECT * FROM identity.consumer_identities
WHERE (kind = 'openid' AND app_id = sqlc.arg(app_id) AND value = sqlc.arg(openid))
   OR (kind = 'unionid' AND value = sqlc.arg(unionid))
   OR (kind = 'phone' AND value = sqlc.arg(phone))
ORDER BY id;

-- name: InsertConsumerIdentity :execrows
INSERT INTO identity.consumer_identities (id, consumer_id, kind, app_id, value)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (kind, app_id, value) DO NOTHING;

-- name: ListConsumerIdentities :many
SELECT * FROM identity.consumer_identities WHERE consumer_id = $1 ORDER BY id;

-- name: InsertConsumerSession :exec
INSERT INTO identity.consumer_sessions (id, token_hash, consumer_id, app_id, ip, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, sqlc.arg(now), $6);

-- name: GetConsumerSessionByHash :one
SELECT * FROM identity.consumer_sessions WHERE token_hash = $1;
