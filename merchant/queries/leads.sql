-- Leads as a user finds them (issue 12): visibility through pools, search and filters.

-- name: MemberPoolIDs :many
-- The pools a user may claim from: their unit's, and those they were added to.
SELECT id FROM merchant.pools WHERE org_unit_id = sqlc.narg(unit_id)::uuid
UNION
SELECT pool_id FROM merchant.pool_members WHERE user_id = sqlc.arg(user_id);

-- name: ListVisibleLeads :many
-- Held leads in scope; pool leads of the caller's pools, or of units in scope.
-- q searches the name and address (pg_trgm) and the normalised phone.
SELECT * FROM merchant.leads
WHERE ((owner_id IS NOT NULL AND (sqlc.arg(scope_all)::bool
        OR owner_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
        OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])))
    OR (owner_id IS NULL AND (sqlc.arg(scope_all)::bool
        OR pool_id = ANY(sqlc.arg(member_pool_ids)::uuid[])
        OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))))
  AND (NOT sqlc.arg(pool_only)::bool OR owner_id IS NULL)
  AND (NOT sqlc.arg(held_only)::bool OR owner_id IS NOT NULL)
  AND (sqlc.narg(pool_id)::uuid IS NULL OR pool_id = sqlc.narg(pool_id)::uuid)
  AND (sqlc.narg(owner_id)::uuid IS NULL OR owner_id = sqlc.narg(owner_id)::uuid)
  AND (sqlc.narg(stage)::text IS NULL OR stage = sqlc.narg(stage)::text)
  AND (sqlc.narg(q)::text IS NULL OR name ILIKE '%' || sqlc.narg(q)::text || '%'
        OR address ILIKE '%' || sqlc.narg(q)::text || '%'
        OR (sqlc.narg(phone)::text IS NOT NULL AND phone LIKE '%' || sqlc.narg(phone)::text || '%'))
  AND (sqlc.narg(after_id)::uuid IS NULL OR id > sqlc.narg(after_id)::uuid)
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- name: CountAcceptedVisits :one
SELECT count(*) FROM merchant.visits WHERE lead_id = $1 AND accepted;

-- name: UpdateLeadDetails :one
UPDATE merchant.leads SET name = sqlc.arg(name), category = sqlc.arg(category), address = sqlc.arg(address),
    lat = sqlc.arg(lat), lng = sqlc.arg(lng), phone_raw = sqlc.arg(phone_raw), phone = sqlc.arg(phone), city = sqlc.arg(city),
    licence_no = sqlc.narg(licence_no), level = sqlc.arg(level), updated_at = sqlc.arg(at)
WHERE id = sqlc.arg(id)
RETURNING *;
