-- Leads as a user finds them (issue 12): visibility through pools, search and filters.

-- name: MemberPoolIDs :many
-- The pools a user may claim from: their unit's, and those they were added to.
SELECT id FROM merchant.pools WHERE org_unit_id = sqlc.narg(unit_id)::uuid
UNION
SELECT pool_id FROM merchant.pool_members WHERE user_id = sqlc.arg(user_id);

-- name: ListVisibleLeads :many
-- Held leads in scope; pool leads of the caller's pools, or of units in scope.
-- q searches the name and address (pg_trgm) and the normalised phone. sort is one of
-- name, created, updated (a leading '-' descending) or '' (by id); the cursor is the
-- last id of the page before, its sort key looked up.
SELECT * FROM merchant.leads
WHERE ((owner_id IS NOT NULL AND (sqlc.arg(scope_all)::bool
        OR owner_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
        OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])))
    OR (owner_id IS NULL AND (sqlc.arg(scope_all)::bool
        OR pool_id = ANY(sqlc.arg(member_pool_ids)::uuid[])
        OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))))
  AND (NOT sqlc.arg(pool_only)::bool OR owner_id IS NULL)
  AND (NOT sqlc.arg(held_only)::bool OR owner_id IS NOT NULL)
  AND (NOT sqlc.arg(handed_over)::bool OR handed_over_from IS NOT NULL)
  AND (sqlc.narg(pool_id)::uuid IS NULL OR pool_id = sqlc.narg(pool_id)::uuid)
  AND (sqlc.narg(owner_id)::uuid IS NULL OR owner_id = sqlc.narg(owner_id)::uuid)
  AND (sqlc.narg(stage)::text IS NULL OR stage = sqlc.narg(stage)::text)
  AND (sqlc.narg(level)::text IS NULL OR level = sqlc.narg(level)::text)
  AND (sqlc.narg(q)::text IS NULL OR name ILIKE '%' || sqlc.narg(q)::text || '%'
        OR address ILIKE '%' || sqlc.narg(q)::text || '%'
        OR (sqlc.narg(phone)::text IS NOT NULL AND phone LIKE '%' || sqlc.narg(phone)::text || '%'))
  AND (sqlc.narg(after_id)::uuid IS NULL OR CASE sqlc.arg(sort)::text
        WHEN 'name' THEN (name, id) > (SELECT a.name, a.id FROM merchant.leads a WHERE a.id = sqlc.narg(after_id)::uuid)
        WHEN '-name' THEN (name, id) < (SELECT a.name, a.id FROM merchant.leads a WHERE a.id = sqlc.narg(after_id)::uuid)
        WHEN 'created' THEN (created_at, id) > (SELECT a.created_at, a.id FROM merchant.leads a WHERE a.id = sqlc.narg(after_id)::uuid)
        WHEN '-created' THEN (created_at, id) < (SELECT a.created_at, a.id FROM merchant.leads a WHERE a.id = sqlc.narg(after_id)::uuid)
        WHEN 'updated' THEN (updated_at, id) > (SELECT a.updated_at, a.id FROM merchant.leads a WHERE a.id = sqlc.narg(after_id)::uuid)
        WHEN '-updated' THEN (updated_at, id) < (SELECT a.updated_at, a.id FROM merchant.leads a WHERE a.id = sqlc.narg(after_id)::uuid)
        ELSE id > sqlc.narg(after_id)::uuid END)
ORDER BY
  CASE WHEN sqlc.arg(sort)::text = 'name' THEN name END,
  CASE WHEN sqlc.arg(sort)::text = '-name' THEN name END DESC,
  CASE WHEN sqlc.arg(sort)::text = 'created' THEN created_at END,
  CASE WHEN sqlc.arg(sort)::text = '-created' THEN created_at END DESC,
  CASE WHEN sqlc.arg(sort)::text = 'updated' THEN updated_at END,
  CASE WHEN sqlc.arg(sort)::text = '-updated' THEN updated_at END DESC,
  CASE WHEN left(sqlc.arg(sort)::text, 1) = '-' THEN id END DESC,
  id
LIMIT sqlc.arg(max_rows);

-- name: CountAcceptedVisits :one
SELECT count(*) FROM merchant.visits WHERE lead_id = $1 AND accepted;

-- name: UpdateLeadDetails :one
UPDATE merchant.leads SET name = sqlc.arg(name), category = sqlc.arg(category), address = sqlc.arg(address),
    lat = sqlc.arg(lat), lng = sqlc.arg(lng), phone_raw = sqlc.arg(phone_raw), phone = sqlc.arg(phone), city = sqlc.arg(city),
    licence_no = sqlc.narg(licence_no), level = sqlc.arg(level), updated_at = sqlc.arg(at)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: ListSavedViews :many
SELECT * FROM merchant.saved_views WHERE user_id = $1 ORDER BY name;

-- name: UpsertSavedView :one
INSERT INTO merchant.saved_views (id, user_id, name, filters, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT ON CONSTRAINT saved_views_name_key DO UPDATE SET filters = EXCLUDED.filters
RETURNING *;

-- name: DeleteSavedView :execrows
DELETE FROM merchant.saved_views WHERE id = $1 AND user_id = $2;

-- name: GetSavedView :one
SELECT * FROM merchant.saved_views WHERE id = $1 AND user_id = $2;
