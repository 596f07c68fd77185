-- name: InsertInvitation :exec
INSERT INTO identity.invitations (id, user_id, token_hash, created_by, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: GetInvitation :one
SELECT i.id, i.user_id, i.expires_at, i.used_at, u.login, u.display_name
FROM identity.invitations i JOIN identity.users u ON u.id = i.user_id
WHERE i.token_hash = $1;

-- name: UseInvitation :one
-- Single use: only the first of concurrent acceptances gets the row.
UPDATE identity.invitations SET used_at = $2
WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2
RETURNING user_id;

-- name: ExpireUserInvitations :exec
-- A new invitation replaces the user's open ones.
UPDATE identity.invitations SET expires_at = created_at + interval '1 microsecond'
WHERE user_id = $1 AND used_at IS NULL AND expires_at > $2;
