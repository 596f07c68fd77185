-- name: InsertRole :exec
INSERT INTO identity.roles (id, key, name, description, scope, builtin) VALUES ($1, $2, $3, $4, $5, $6);

-- name: InsertRoleIfMissing :one
INSERT INTO identity.roles (id, key, name, description, scope, builtin) VALUES ($1, $2, $3, $4, $5, true)
ON CONFLICT (key) DO NOTHING
RETURNING id;

-- name: GetRole :one
SELECT * FROM identity.roles WHERE id = $1;

-- name: GetRoleByKey :one
SELECT * FROM identity.roles WHERE key = $1;

-- name: ListRoles :many
SELECT * FROM identity.roles ORDER BY builtin DESC, created_at, key;

-- name: UpdateRole :exec
UPDATE identity.roles SET name = $2, description = $3, scope = $4, updated_at = now() WHERE id = $1;

-- name: AddRolePermission :exec
INSERT INTO identity.role_permissions (role_id, permission) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: ClearRolePermissions :exec
DELETE FROM identity.role_permissions WHERE role_id = $1;

-- name: ListRolePermissions :many
SELECT role_id, permission FROM identity.role_permissions ORDER BY role_id, permission;

-- name: UserRoles :many
-- The roles of a user with their permissions (one row per permission; NULL for none).
SELECT r.id, r.key, r.name, r.scope, rp.permission
FROM identity.user_roles ur
JOIN identity.roles r ON r.id = ur.role_id
LEFT JOIN identity.role_permissions rp ON rp.role_id = r.id
WHERE ur.user_id = $1
ORDER BY r.key, rp.permission;

-- name: UserRoleKeys :many
SELECT ur.user_id, r.key FROM identity.user_roles ur JOIN identity.roles r ON r.id = ur.role_id
WHERE ur.user_id = ANY(sqlc.arg(user_ids)::uuid[]) ORDER BY r.key;

-- name: ClearUserRoles :exec
DELETE FROM identity.user_roles WHERE user_id = $1;

-- name: GrantRole :exec
INSERT INTO identity.user_roles (user_id, role_id, granted_by) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING;
