-- name: InsertCheckIn :exec
INSERT INTO merchant.visits (id, lead_id, lat, lng, distance_m, accepted, note, by_user, at, accuracy_m, plan_id,
    org_unit_id, speed_kmh, flag)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14);

-- name: PreviousCheckIn :one
-- The rep's last accepted check-in before at: where the speed flag measures from.
SELECT id, lat, lng, at FROM merchant.visits
WHERE by_user = $1 AND accepted AND at <= $2
ORDER BY at DESC
LIMIT 1;

-- name: GetVisitForUpdate :one
SELECT * FROM merchant.visits WHERE id = $1 FOR UPDATE;

-- name: GetVisit :one
SELECT * FROM merchant.visits WHERE id = $1;

-- name: CheckOut :one
UPDATE merchant.visits SET out_at = $2, out_lat = $3, out_lng = $4, out_distance_m = $5
WHERE id = $1 AND out_at IS NULL
RETURNING *;

-- name: InsertVisitPhoto :execrows
INSERT INTO merchant.visit_photos (id, visit_id, storage_key, content_type, size_bytes, sha256, by_user, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT ON CONSTRAINT visit_photos_same_key DO NOTHING;

-- name: GetVisitPhotoBySum :one
SELECT * FROM merchant.visit_photos WHERE visit_id = $1 AND sha256 = $2;

-- name: CountVisitPhotos :one
SELECT count(*) FROM merchant.visit_photos WHERE visit_id = $1;

-- name: ListVisitPhotos :many
SELECT * FROM merchant.visit_photos WHERE visit_id = ANY(sqlc.arg(visit_ids)::uuid[]) ORDER BY at, id;

-- name: GetVisitPhoto :one
SELECT * FROM merchant.visit_photos WHERE id = $1;

-- name: InsertVisitPlan :exec
INSERT INTO merchant.visit_plans (id, lead_id, rep_id, org_unit_id, starts_at, minutes, purpose, remind_at, status,
    created_by, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'planned', $9, $10);

-- name: GetVisitPlanForUpdate :one
SELECT * FROM merchant.visit_plans WHERE id = $1 FOR UPDATE;

-- name: SetVisitPlanStatus :one
UPDATE merchant.visit_plans SET status = $2, visit_id = $3 WHERE id = $1 RETURNING *;

-- name: OpenPlanOfRep :one
-- The rep's planned visit to a lead on the check-in's day, if any: a check-in fulfils it.
SELECT * FROM merchant.visit_plans
WHERE rep_id = $1 AND lead_id = $2 AND status = 'planned' AND starts_at >= sqlc.arg(day_start) AND starts_at < sqlc.arg(day_end)
ORDER BY starts_at
LIMIT 1
FOR UPDATE;

-- name: CalendarPlans :many
-- Planned visits in [from, to) of the reps in scope, optionally one rep or one team.
SELECT p.*, l.name AS lead_name, l.address AS lead_address, l.lat AS lead_lat, l.lng AS lead_lng
FROM merchant.visit_plans p JOIN merchant.leads l ON l.id = p.lead_id
WHERE p.starts_at >= sqlc.arg(from_at) AND p.starts_at < sqlc.arg(to_at)
  AND (sqlc.arg(scope_all)::bool OR p.rep_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR p.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
  AND (sqlc.narg(rep_id)::uuid IS NULL OR p.rep_id = sqlc.narg(rep_id)::uuid)
  AND (sqlc.narg(unit_id)::uuid IS NULL OR p.org_unit_id = sqlc.narg(unit_id)::uuid)
ORDER BY p.starts_at, p.id
LIMIT 2000;

-- name: CalendarVisits :many
-- Check-ins in [from, to) by the reps in scope (the calendar shows what was done too).
SELECT v.*, l.name AS lead_name
FROM merchant.visits v JOIN merchant.leads l ON l.id = v.lead_id
WHERE v.accepted AND v.at >= sqlc.arg(from_at) AND v.at < sqlc.arg(to_at)
  AND (sqlc.arg(scope_all)::bool OR v.by_user = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR v.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
  AND (sqlc.narg(rep_id)::uuid IS NULL OR v.by_user = sqlc.narg(rep_id)::uuid)
  AND (sqlc.narg(unit_id)::uuid IS NULL OR v.org_unit_id = sqlc.narg(unit_id)::uuid)
ORDER BY v.at, v.id
LIMIT 2000;

-- name: DueReminders :many
-- Reminders due by now, locked so that two workers never send one twice.
SELECT p.*, l.name AS lead_name FROM merchant.visit_plans p JOIN merchant.leads l ON l.id = p.lead_id
WHERE p.remind_at <= $1 AND p.reminded_at IS NULL AND p.status = 'planned' AND p.remind_at IS NOT NULL
ORDER BY p.remind_at
LIMIT $2
FOR UPDATE OF p SKIP LOCKED;

-- name: MarkReminded :exec
UPDATE merchant.visit_plans SET reminded_at = $2 WHERE id = $1;

-- name: InsertRepTodo :execrows
INSERT INTO merchant.rep_todos (id, rep_id, plan_id, lead_id, title, due_at, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT ON CONSTRAINT rep_todos_plan_key DO NOTHING;

-- name: OpenRepTodos :many
SELECT * FROM merchant.rep_todos WHERE rep_id = $1 AND done_at IS NULL ORDER BY due_at, id LIMIT 100;

-- name: DoneRepTodo :execrows
UPDATE merchant.rep_todos SET done_at = $3 WHERE id = $1 AND rep_id = $2 AND done_at IS NULL;

-- name: DoneTodosOfPlan :exec
UPDATE merchant.rep_todos SET done_at = $2 WHERE plan_id = $1 AND done_at IS NULL;

-- name: VisitsPerRepPerDay :many
-- Accepted check-ins per team, rep and Shanghai day in [from_day, to_day], in scope,
-- from merchant.visit_days (migration 011): by team (visit_days_key) and the scope's
-- own reps outside those teams (visit_days_rep_idx). Unsorted and not summed: a rep
-- who changed teams within a day has two rows, which the caller adds (cheaper there
-- than a sort and an aggregate spilling to disk over a city's month).
SELECT t1.rep_id, t1.day, t1.visits, t1.flagged FROM merchant.visit_days t1
WHERE t1.day BETWEEN sqlc.arg(from_day)::date AND sqlc.arg(to_day)::date AND t1.visits > 0
  AND (sqlc.arg(scope_all)::bool OR t1.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
UNION ALL
SELECT t2.rep_id, t2.day, t2.visits, t2.flagged FROM merchant.visit_days t2
WHERE t2.day BETWEEN sqlc.arg(from_day)::date AND sqlc.arg(to_day)::date AND t2.visits > 0 AND NOT sqlc.arg(scope_all)::bool
  AND t2.rep_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
  AND (t2.org_unit_id IS NULL OR t2.org_unit_id <> ALL(sqlc.arg(scope_org_unit_ids)::uuid[]));

-- name: FlaggedVisits :many
SELECT v.*, l.name AS lead_name FROM merchant.visits v JOIN merchant.leads l ON l.id = v.lead_id
WHERE v.flag <> '' AND v.at >= sqlc.arg(from_at)
  AND (sqlc.arg(scope_all)::bool OR v.by_user = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR v.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
ORDER BY v.at DESC
LIMIT 200;
