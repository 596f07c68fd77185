-- Pools, claim rules, assignment and reclaim (issue 12).

-- name: EnsurePool :one
-- The pool of an org unit, made on first use with the default rules.
INSERT INTO merchant.pools (id, org_unit_id, name, holding_cap, daily_quota, cooldown_days, created_at, updated_at)
VALUES (sqlc.arg(id), sqlc.narg(org_unit_id), sqlc.arg(name), sqlc.arg(holding_cap), sqlc.arg(daily_quota), sqlc.arg(cooldown_days),
    sqlc.arg(at), sqlc.arg(at))
ON CONFLICT ON CONSTRAINT pools_unit_key DO UPDATE SET updated_at = merchant.pools.updated_at
RETURNING *;

-- name: GetPool :one
SELECT * FROM merchant.pools WHERE id = $1;

-- name: ListPools :many
-- The pools a user is a member of (their unit's, or by membership) and, with scope,
-- the pools of the units they manage.
SELECT p.*, coalesce(m.role, '')::text AS member_role,
    (p.org_unit_id = sqlc.narg(unit_id)::uuid OR m.user_id IS NOT NULL)::bool AS is_member
FROM merchant.pools p
LEFT JOIN merchant.pool_members m ON m.pool_id = p.id AND m.user_id = sqlc.arg(user_id)
WHERE p.org_unit_id = sqlc.narg(unit_id)::uuid OR m.user_id IS NOT NULL
   OR sqlc.arg(scope_all)::bool OR p.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
ORDER BY p.name, p.id;

-- name: PoolMembership :one
-- '' when the user is no member; 'member' or 'admin' otherwise (a unit's users are members).
SELECT coalesce((SELECT m.role FROM merchant.pool_members m WHERE m.pool_id = sqlc.arg(pool_id) AND m.user_id = sqlc.arg(user_id)),
    (SELECT 'member' FROM merchant.pools p WHERE p.id = sqlc.arg(pool_id) AND p.org_unit_id = sqlc.narg(unit_id)::uuid), '')::text;

-- name: UpdatePoolRules :one
UPDATE merchant.pools SET name = sqlc.arg(name), holding_cap = sqlc.arg(holding_cap), daily_quota = sqlc.arg(daily_quota),
    cooldown_days = sqlc.arg(cooldown_days), protect_hours = sqlc.arg(protect_hours),
    reclaim_followup_days = sqlc.arg(reclaim_followup_days), reclaim_unsigned_days = sqlc.arg(reclaim_unsigned_days),
    reclaim_contract_ended_days = sqlc.arg(reclaim_contract_ended_days),
    remind_days = sqlc.arg(remind_days), updated_at = sqlc.arg(at)
WHERE id = sqlc.arg(id)
RETURNING *;

-- name: UpsertPoolMember :exec
INSERT INTO merchant.pool_members (pool_id, user_id, role, added_by, added_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (pool_id, user_id) DO UPDATE SET role = EXCLUDED.role, added_by = EXCLUDED.added_by, added_at = EXCLUDED.added_at;

-- name: DeletePoolMember :execrows
DELETE FROM merchant.pool_members WHERE pool_id = $1 AND user_id = $2;

-- name: ListPoolMembers :many
SELECT * FROM merchant.pool_members WHERE pool_id = $1 ORDER BY added_at, user_id;

-- name: InsertLeadInPool :exec
INSERT INTO merchant.leads (id, name, category, address, lat, lng, phone_raw, phone, city, owner_id, org_unit_id,
    stage, created_by, created_at, updated_at, pool_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $15);

-- name: CountClaimsSince :one
-- A rep's claims since a moment (the start of their day): released leads are not refunded.
SELECT count(*) FROM merchant.lead_owner_history WHERE event = 'claimed' AND to_owner = sqlc.arg(rep_id) AND at >= sqlc.arg(since);

-- name: LastHeldSince :one
-- When the rep last gave up the lead (released, reclaimed or transferred away) since a
-- moment; every former owner of the window counts, not only the last one.
SELECT coalesce(max(at), '0001-01-01'::timestamptz)::timestamptz FROM merchant.lead_owner_history
WHERE lead_id = sqlc.arg(lead_id) AND from_owner = sqlc.arg(rep_id) AND at >= sqlc.arg(since);

-- name: TakeFromPool :one
-- A claim or an assignment out of the pool; no row when someone took it first.
UPDATE merchant.leads SET owner_id = sqlc.arg(owner_id), org_unit_id = sqlc.narg(org_unit_id), claimed_at = sqlc.arg(at)::timestamptz,
    protected_until = NULL, handed_over_from = NULL, updated_at = sqlc.arg(at)
WHERE id = sqlc.arg(id) AND owner_id IS NULL
RETURNING *;

-- name: MoveOwner :one
-- A transfer from one owner to another; no row when the owner changed meanwhile.
UPDATE merchant.leads SET owner_id = sqlc.arg(owner_id), org_unit_id = sqlc.narg(org_unit_id), claimed_at = sqlc.arg(at)::timestamptz,
    updated_at = sqlc.arg(at)
WHERE id = sqlc.arg(id) AND owner_id = sqlc.arg(from_owner)
RETURNING *;

-- name: ReturnToPool :one
-- Back to the lead's own pool (its unit again), protected until a moment (or NULL).
UPDATE merchant.leads l SET owner_id = NULL, org_unit_id = p.org_unit_id, claimed_at = NULL,
    protected_until = sqlc.narg(protected_until), updated_at = sqlc.arg(at)
FROM merchant.pools p
WHERE l.id = sqlc.arg(id) AND l.owner_id = sqlc.arg(owner_id) AND p.id = l.pool_id
RETURNING l.*;

-- name: SetLocked :one
UPDATE merchant.leads SET locked = $2, updated_at = $3 WHERE id = $1 RETURNING *;

-- name: ListHeldBy :many
SELECT * FROM merchant.leads WHERE owner_id = $1 AND stage NOT IN ('live', 'lost') ORDER BY id;

-- name: InsertReminder :execrows
INSERT INTO merchant.reclaim_reminders (lead_id, owner_id, due_on, sent_at) VALUES ($1, $2, $3, $4)
ON CONFLICT DO NOTHING;

-- name: ListUnderReclaim :many
-- Held leads of pools with a reclaim rule (their own or a level's), a page at a time;
-- Go decides which are due (the same reckoning as "days left").
SELECT l.id FROM merchant.leads l JOIN merchant.pools p ON p.id = l.pool_id
WHERE l.owner_id IS NOT NULL AND l.claimed_at IS NOT NULL AND NOT l.locked AND l.stage <> 'lost'
  AND (p.reclaim_followup_days > 0 OR p.reclaim_unsigned_days > 0 OR p.reclaim_contract_ended_days > 0
       OR EXISTS (SELECT 1 FROM merchant.pool_level_rules r WHERE r.pool_id = p.id))
  AND (sqlc.narg(after_id)::uuid IS NULL OR l.id > sqlc.narg(after_id)::uuid)
ORDER BY l.id
LIMIT sqlc.arg(max_rows);

-- name: ListReminders :many
SELECT * FROM merchant.reclaim_reminders WHERE owner_id = $1 ORDER BY due_on, lead_id;

-- name: GetPoolByUnit :one
SELECT * FROM merchant.pools WHERE org_unit_id IS NOT DISTINCT FROM sqlc.narg(org_unit_id)::uuid;

-- name: ListPoolLevelRules :many
SELECT * FROM merchant.pool_level_rules WHERE pool_id = ANY(sqlc.arg(pool_ids)::uuid[]) ORDER BY pool_id, level;

-- name: DeletePoolLevelRules :exec
DELETE FROM merchant.pool_level_rules WHERE pool_id = $1;

-- name: InsertPoolLevelRule :exec
INSERT INTO merchant.pool_level_rules (pool_id, level, reclaim_followup_days, reclaim_unsigned_days, reclaim_contract_ended_days)
VALUES ($1, $2, $3, $4, $5);

-- name: MarkHandedOver :exec
UPDATE merchant.leads SET handed_over_from = $2 WHERE id = $1;

-- name: ListHeldInUnit :many
-- A rep's open leads of one unit (the team they left).
SELECT * FROM merchant.leads WHERE owner_id = $1 AND org_unit_id IS NOT DISTINCT FROM sqlc.narg(unit_id)::uuid
  AND stage NOT IN ('live', 'lost') ORDER BY id;
