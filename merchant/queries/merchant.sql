-- name: InsertLead :exec
INSERT INTO merchant.leads (id, name, category, address, lat, lng, phone_raw, phone, city, owner_id, org_unit_id,
    stage, created_by, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14);

-- name: GetLead :one
SELECT * FROM merchant.leads WHERE id = $1;

-- name: GetLeadForUpdate :one
SELECT * FROM merchant.leads WHERE id = $1 FOR UPDATE;

-- name: GetLeadByPhone :one
SELECT * FROM merchant.leads WHERE phone = $1;

-- name: ListLeads :many
-- The leads in scope, and the public pool when with_pool; pool_only narrows to the pool.
SELECT * FROM merchant.leads
WHERE (sqlc.arg(scope_all)::bool
    OR owner_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
    OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
    OR (sqlc.arg(with_pool)::bool AND owner_id IS NULL))
  AND (NOT sqlc.arg(pool_only)::bool OR owner_id IS NULL)
  AND (sqlc.narg(after_id)::uuid IS NULL OR id > sqlc.narg(after_id)::uuid)
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- name: LockRep :exec
-- Serialises one rep's claims until the end of the transaction (the holding cap).
SELECT pg_advisory_xact_lock(hashtextextended('merchant.rep:' || sqlc.arg(rep_id)::uuid::text, 0));

-- name: CountHeld :one
SELECT count(*) FROM merchant.leads WHERE owner_id = $1 AND stage NOT IN ('live', 'lost');

-- name: ClaimLead :one
-- Takes a lead from the pool; no row when someone else took it first.
UPDATE merchant.leads SET owner_id = sqlc.arg(owner_id), org_unit_id = sqlc.arg(org_unit_id), updated_at = sqlc.arg(at)
WHERE id = sqlc.arg(id) AND owner_id IS NULL
RETURNING *;

-- name: ReleaseLead :one
UPDATE merchant.leads SET owner_id = NULL, updated_at = sqlc.arg(at)
WHERE id = sqlc.arg(id) AND owner_id = sqlc.arg(owner_id)
RETURNING *;

-- name: SetStage :exec
UPDATE merchant.leads SET stage = $2, updated_at = $3 WHERE id = $1;

-- name: InsertOwnerHistory :exec
INSERT INTO merchant.lead_owner_history (id, lead_id, event, from_owner, to_owner, reason, reason_code, reason_params, by_user, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);

-- name: ListOwnerHistory :many
SELECT * FROM merchant.lead_owner_history WHERE lead_id = $1 ORDER BY at, id;

-- name: InsertStageHistory :exec
INSERT INTO merchant.stage_history (id, lead_id, from_stage, to_stage, reason, reason_code, reason_params, by_user, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: ListStageHistory :many
SELECT * FROM merchant.stage_history WHERE lead_id = $1 ORDER BY at, id;

-- name: InsertFollowUp :exec
INSERT INTO merchant.follow_ups (id, lead_id, channel, note, next_step, by_user, at)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: ListFollowUps :many
SELECT * FROM merchant.follow_ups WHERE lead_id = $1 ORDER BY at, id;

-- name: InsertVisit :exec
INSERT INTO merchant.visits (id, lead_id, lat, lng, distance_m, accepted, note, by_user, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: ListVisits :many
SELECT * FROM merchant.visits WHERE lead_id = $1 ORDER BY at, id;

-- name: NextContractNo :one
SELECT nextval('merchant.contract_no_seq')::bigint;

-- name: InsertContract :exec
INSERT INTO merchant.contracts (id, lead_id, contract_no, commission_rate, settlement_cycle, starts_on, ends_on, signed_by, signed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: GetContractByLead :one
-- The lead's current contract: the pending or active one, else the latest.
SELECT * FROM merchant.contracts WHERE lead_id = $1
ORDER BY (status IN ('pending_approval', 'active')) DESC, signed_at DESC
LIMIT 1;

-- name: GetContract :one
SELECT * FROM merchant.contracts WHERE id = $1;

-- name: InsertOnboarding :exec
INSERT INTO merchant.onboarding (id, lead_id, contract_id, state, submitted_by, submitted_at)
VALUES ($1, $2, $3, $4, $5, $6);

-- name: GetOnboardingForUpdate :one
SELECT * FROM merchant.onboarding WHERE lead_id = $1 FOR UPDATE;

-- name: GetOnboarding :one
SELECT * FROM merchant.onboarding WHERE lead_id = $1;

-- name: ResubmitOnboarding :exec
UPDATE merchant.onboarding SET state = 'auditing', review = 'pending', submitted_by = $2, submitted_at = $3, reviewer_id = NULL, reviewed_at = NULL, reason = ''
WHERE lead_id = $1 AND state IN ('editing', 'rejected');

-- name: ReviewOnboarding :exec
UPDATE merchant.onboarding SET state = $2, reviewer_id = $3, reviewed_at = $4, reason = $5
WHERE lead_id = $1 AND state = 'auditing';

-- name: InsertMerchant :exec
INSERT INTO merchant.merchants (id, lead_id, contract_id, name, category, city, lat, lng, owner_id, org_unit_id, status,
    sub_mchid, webhook_url, webhook_secret, commission_rate, settlement_cycle, live_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'live', $11, $12, $13, $14, $15, $16);

-- name: GetMerchant :one
SELECT * FROM merchant.merchants WHERE id = $1;

-- name: GetMerchantByLead :one
SELECT * FROM merchant.merchants WHERE lead_id = $1;

-- name: SetOwnerLogin :execrows
UPDATE merchant.merchants SET owner_login = $2 WHERE id = $1 AND owner_login IS NULL;

-- name: ListMerchants :many
SELECT * FROM merchant.merchants
WHERE (sqlc.arg(scope_all)::bool
    OR owner_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
    OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
    OR id = ANY(sqlc.arg(scope_merchant_ids)::uuid[]))
  AND (sqlc.narg(after_id)::uuid IS NULL OR id > sqlc.narg(after_id)::uuid)
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- name: ListLiveMerchants :many
-- Live merchants, optionally in some categories, for other domains (matching).
SELECT * FROM merchant.merchants
WHERE status = 'live'
  AND (cardinality(sqlc.arg(categories)::text[]) = 0 OR category = ANY(sqlc.arg(categories)::text[]))
  AND (sqlc.narg(city)::text IS NULL OR city = sqlc.narg(city)::text)
  AND (cardinality(sqlc.arg(ids)::uuid[]) = 0 OR id = ANY(sqlc.arg(ids)::uuid[]))
ORDER BY id
LIMIT sqlc.arg(max_rows);

-- name: SetOnboardingState :one
UPDATE merchant.onboarding SET state = $2, review = $3, reason = $4, reviewer_id = $5, reviewed_at = $6
WHERE lead_id = $1
RETURNING *;

-- name: SetOnboardingApplyment :one
UPDATE merchant.onboarding SET business_code = $2, applyment_id = $3, wx_state = $4, synced_at = $5
WHERE lead_id = $1
RETURNING *;

-- name: SyncOnboarding :one
UPDATE merchant.onboarding SET state = $2, wx_state = $3, sub_mchid = $4, sign_url = $5, reason = $6, synced_at = $7
WHERE lead_id = $1
RETURNING *;

-- name: InsertOnboardingHistory :exec
INSERT INTO merchant.onboarding_history (id, lead_id, event, state, review, note, by_user, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: ListOnboardingHistory :many
SELECT * FROM merchant.onboarding_history WHERE lead_id = $1 ORDER BY at, id;

-- name: OnboardingQueue :many
-- Applications for the reviewer: waiting for review (review = pending) or, with
-- all_states, every application; oldest first, with the shop.
SELECT o.*, l.name, l.category, l.city, l.address, l.owner_id AS lead_owner_id, l.org_unit_id AS lead_org_unit_id
FROM merchant.onboarding o JOIN merchant.leads l ON l.id = o.lead_id
WHERE (sqlc.arg(all_states)::bool OR (o.review = 'pending' AND o.state = 'auditing'))
  AND (sqlc.arg(state)::text = '' OR o.state = sqlc.arg(state)::text)
  AND (sqlc.arg(scope_all)::bool
    OR l.owner_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
    OR l.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
  AND (sqlc.narg(after_id)::uuid IS NULL OR o.id > sqlc.narg(after_id)::uuid)
ORDER BY o.id
LIMIT sqlc.arg(max_rows);

-- name: OnboardingAtWeChat :many
-- Applications WeChat is still working on, least recently synced first.
SELECT lead_id FROM merchant.onboarding
WHERE applyment_id IS NOT NULL AND state NOT IN ('finished', 'canceled', 'rejected', 'editing')
ORDER BY synced_at NULLS FIRST
LIMIT sqlc.arg(max_rows);

-- name: MerchantBySubMchID :one
SELECT * FROM merchant.merchants WHERE sub_mchid = $1;

-- name: InsertContractWithStatus :exec
INSERT INTO merchant.contracts (id, lead_id, contract_no, commission_rate, settlement_cycle, starts_on, ends_on, signed_by, signed_at, status, deposit_fen)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: SetContractApproval :exec
UPDATE merchant.contracts SET approval_id = $2 WHERE id = $1;

-- name: DecideContract :one
UPDATE merchant.contracts SET status = $2 WHERE id = $1 AND status = 'pending_approval'
RETURNING *;

-- name: MerchantNames :many
-- The names of merchants by id, for other domains' pages (billing's console).
SELECT id, name FROM merchant.merchants WHERE id = ANY(sqlc.arg(ids)::uuid[]);
