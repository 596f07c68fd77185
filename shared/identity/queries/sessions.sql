-- name: InsertSession :exec
INSERT INTO identity.sessions (id, token_hash, user_id, csrf_token, ip, user_agent, expires_at, created_at, last_seen_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, sqlc.arg(now), sqlc.arg(now));

-- name: GetSessionByHash :one
SELECT * FROM identity.sessions WHERE token_hash = $1;

-- name: TouchSession :exec
UPDATE identity.sessions SET last_seen_at = $2 WHERE id = $1;

-- name: RevokeSession :exec
UPDATE identity.sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL;

-- name: RevokeUserSessions :exec
UPDATE identity.sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL;
