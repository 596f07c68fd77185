-- name: InsertUser :exec
INSERT INTO identity.users (id, login, display_name, kind, org_unit_id, merchant_id, phone, password_hash)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: GetUser :one
SELECT * FROM identity.users WHERE id = $1;

-- name: GetUserForUpdate :one
SELECT * FROM identity.users WHERE id = $1 FOR UPDATE;

-- name: GetUserByLoginForUpdate :one
SELECT * FROM identity.users WHERE login = $1 FOR UPDATE;

-- name: ListUsers :many
-- Users visible in the scope, oldest first from the cursor; filters are optional.
SELECT u.* FROM identity.users u
WHERE (sqlc.arg(scope_all)::bool
       OR u.id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR u.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
       OR u.merchant_id = ANY(sqlc.arg(scope_merchant_ids)::uuid[]))
  AND (sqlc.narg(after_id)::uuid IS NULL OR u.id > sqlc.narg(after_id)::uuid)
  AND (sqlc.narg(q)::text IS NULL OR u.login ILIKE '%' || sqlc.narg(q)::text || '%' OR u.display_name ILIKE '%' || sqlc.narg(q)::text || '%')
  AND (sqlc.narg(org_unit_id)::uuid IS NULL OR u.org_unit_id = sqlc.narg(org_unit_id)::uuid)
  AND (sqlc.narg(role_key)::text IS NULL OR EXISTS (
        SELECT 1 FROM identity.user_roles ur JOIN identity.roles r ON r.id = ur.role_id
        WHERE ur.user_id = u.id AND r.key = sqlc.narg(role_key)::text))
ORDER BY u.id
LIMIT sqlc.arg(max_rows);

-- name: UpdateUserProfile :exec
UPDATE identity.users SET display_name = $2, phone = $3, org_unit_id = $4, disabled_at = $5, updated_at = now()
WHERE id = $1;

-- name: SetPassword :exec
UPDATE identity.users SET password_hash = $2, password_changed_at = now(), failed_logins = 0, locked_until = NULL, updated_at = now()
WHERE id = $1;

-- name: RecordLoginFailure :one
-- Counts a failure; the fifth in a row locks the account until lock_until and restarts the count.
UPDATE identity.users SET
    failed_logins = CASE WHEN failed_logins + 1 >= sqlc.arg(max_failures)::int THEN 0 ELSE failed_logins + 1 END,
    locked_until  = CASE WHEN failed_logins + 1 >= sqlc.arg(max_failures)::int THEN sqlc.arg(lock_until)::timestamptz ELSE locked_until END
WHERE id = sqlc.arg(id)
RETURNING failed_logins, locked_until;

-- name: RecordLoginSuccess :exec
UPDATE identity.users SET failed_logins = 0, locked_until = NULL, last_login_at = now() WHERE id = $1;

-- name: Unlock :exec
UPDATE identity.users SET failed_logins = 0, locked_until = NULL, updated_at = now() WHERE id = $1;

-- name: CountUsersByOrgUnit :many
SELECT u.org_unit_id, count(*)::bigint AS n FROM identity.users u
WHERE u.org_unit_id IS NOT NULL AND u.disabled_at IS NULL
  AND (sqlc.arg(scope_all)::bool OR u.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
GROUP BY u.org_unit_id;

-- name: GetUserByLogin :one
SELECT * FROM identity.users WHERE login = $1;


-- name: GetUsersByID :many
-- Several users by id in one read (names for a report's rows).
SELECT * FROM identity.users WHERE id = ANY(sqlc.arg(ids)::uuid[]);
