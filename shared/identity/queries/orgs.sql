-- name: InsertOrgUnit :exec
INSERT INTO identity.org_units (id, parent_id, kind, name) VALUES ($1, $2, $3, $4);

-- name: InsertOrgClosure :exec
-- A new leaf: itself at depth 0, and every ancestor of its parent one level further.
INSERT INTO identity.org_closure (ancestor_id, descendant_id, depth)
SELECT sqlc.arg(id)::uuid, sqlc.arg(id)::uuid, 0
UNION ALL
SELECT c.ancestor_id, sqlc.arg(id)::uuid, c.depth + 1
FROM identity.org_closure c WHERE c.descendant_id = sqlc.narg(parent_id)::uuid;

-- name: GetOrgUnit :one
SELECT * FROM identity.org_units WHERE id = $1;

-- name: GetOrgUnitForUpdate :one
SELECT * FROM identity.org_units WHERE id = $1 FOR UPDATE;

-- name: RootOrgUnit :one
SELECT * FROM identity.org_units WHERE parent_id IS NULL;

-- name: ListOrgUnits :many
-- Units in the scope (all, or the given ids), with their depth from the root.
SELECT u.*, (SELECT max(c.depth) FROM identity.org_closure c WHERE c.descendant_id = u.id)::int AS level
FROM identity.org_units u
WHERE sqlc.arg(scope_all)::bool OR u.id = ANY(sqlc.arg(ids)::uuid[])
ORDER BY level, lower(u.name);

-- name: SubtreeIDs :many
SELECT descendant_id FROM identity.org_closure WHERE ancestor_id = $1;

-- name: IsDescendant :one
SELECT EXISTS (SELECT 1 FROM identity.org_closure WHERE ancestor_id = sqlc.arg(ancestor) AND descendant_id = sqlc.arg(descendant));

-- name: DetachSubtree :exec
-- Moving a unit: drop every link from an ancestor outside the subtree to a node inside it.
DELETE FROM identity.org_closure c
WHERE c.descendant_id IN (SELECT s.descendant_id FROM identity.org_closure s WHERE s.ancestor_id = sqlc.arg(id))
  AND c.ancestor_id NOT IN (SELECT s.descendant_id FROM identity.org_closure s WHERE s.ancestor_id = sqlc.arg(id));

-- name: AttachSubtree :exec
-- ... and link every ancestor of the new parent to every node of the subtree.
INSERT INTO identity.org_closure (ancestor_id, descendant_id, depth)
SELECT up.ancestor_id, down.descendant_id, up.depth + down.depth + 1
FROM identity.org_closure up, identity.org_closure down
WHERE up.descendant_id = sqlc.arg(parent_id) AND down.ancestor_id = sqlc.arg(id);

-- name: SetOrgUnitParent :exec
UPDATE identity.org_units SET parent_id = $2, updated_at = now() WHERE id = $1;
