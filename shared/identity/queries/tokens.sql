-- name: InsertToken :exec
INSERT INTO identity.api_tokens (id, user_id, name, prefix, token_hash, expires_at)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: GetTokenByHash :one
SELECT * FROM identity.api_tokens WHERE token_hash = $1;

-- name: TouchToken :exec
UPDATE identity.api_tokens SET last_used_at = $2 WHERE id = $1;

-- name: GetTokenWithOwner :one
SELECT t.*, u.login AS owner_login, u.org_unit_id AS owner_org_unit_id, u.merchant_id AS owner_merchant_id
FROM identity.api_tokens t JOIN identity.users u ON u.id = t.user_id
WHERE t.id = $1;

-- name: RevokeToken :exec
UPDATE identity.api_tokens SET revoked_at = now(), revoked_by = $2 WHERE id = $1 AND revoked_at IS NULL;

-- name: ListTokens :many
-- Tokens of the users visible in the scope, newest first.
SELECT t.*, u.login AS owner_login
FROM identity.api_tokens t JOIN identity.users u ON u.id = t.user_id
WHERE (sqlc.arg(scope_all)::bool
       OR u.id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR u.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
       OR u.merchant_id = ANY(sqlc.arg(scope_merchant_ids)::uuid[]))
  AND (sqlc.narg(before_id)::uuid IS NULL OR t.id < sqlc.narg(before_id)::uuid)
ORDER BY t.id DESC
LIMIT sqlc.arg(max_rows);
