-- name: InsertEntry :exec
INSERT INTO audit.entries (id, at, actor_id, actor_login, actor_org_unit_id, actor_merchant_id,
    action, object_type, object_id, before, after, request_id, ip)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13);

-- name: ListEntries :many
-- Newest first, from the cursor (an entry id) down; every filter is optional, and the
-- data scope (all / actors / org units / merchants) always applies.
SELECT * FROM audit.entries e
WHERE (sqlc.arg(scope_all)::bool
       OR e.actor_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR e.actor_org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
       OR e.actor_merchant_id = ANY(sqlc.arg(scope_merchant_ids)::uuid[]))
  AND (sqlc.narg(before_id)::uuid IS NULL OR e.id < sqlc.narg(before_id)::uuid)
  AND (sqlc.narg(actor)::text IS NULL OR e.actor_login = sqlc.narg(actor)::text OR e.actor_id::text = sqlc.narg(actor)::text)
  AND (sqlc.narg(action)::text IS NULL OR e.action LIKE sqlc.narg(action)::text || '%')
  AND (sqlc.narg(object_type)::text IS NULL OR e.object_type = sqlc.narg(object_type)::text)
  AND (sqlc.narg(object_id)::text IS NULL OR e.object_id = sqlc.narg(object_id)::text)
  AND (sqlc.narg(since)::timestamptz IS NULL OR e.at >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR e.at < sqlc.narg(until)::timestamptz)
ORDER BY e.id DESC
LIMIT sqlc.arg(max_rows);

-- name: CountByDay :many
-- Entries of one action per day (Asia/Shanghai) since a time, within the data scope.
SELECT (e.at AT TIME ZONE 'Asia/Shanghai')::date::text AS day, count(*)::bigint AS n
FROM audit.entries e
WHERE e.action = sqlc.arg(action) AND e.at >= sqlc.arg(since)
  AND (sqlc.arg(scope_all)::bool
       OR e.actor_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR e.actor_org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
       OR e.actor_merchant_id = ANY(sqlc.arg(scope_merchant_ids)::uuid[]))
GROUP BY 1 ORDER BY 1;
