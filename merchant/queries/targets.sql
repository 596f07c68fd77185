-- name: UpsertTarget :one
INSERT INTO merchant.sales_targets (month, subject, subject_id, org_unit_id, signings, live_shops, first_month_gmv_fen, set_by, set_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (month, subject, subject_id) DO UPDATE SET org_unit_id = excluded.org_unit_id, signings = excluded.signings,
    live_shops = excluded.live_shops, first_month_gmv_fen = excluded.first_month_gmv_fen, set_by = excluded.set_by, set_at = excluded.set_at
RETURNING *;

-- name: ListTargets :many
SELECT * FROM merchant.sales_targets
WHERE month = sqlc.arg(month)
  AND (sqlc.arg(scope_all)::bool OR (subject = 'rep' AND subject_id = ANY(sqlc.arg(scope_owner_ids)::uuid[]))
       OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
ORDER BY subject DESC, subject_id;

-- name: CreditsByRep :many
-- Signings and live shops of a month per rep (and team), in scope: the teams' by an
-- index-only scan of sales_credits_month_unit_idx (migration 011), the scope's own
-- reps' outside those teams besides.
SELECT rep_id, org_unit_id,
    count(*) FILTER (WHERE kind = 'signed')::int AS signings,
    count(*) FILTER (WHERE kind = 'live')::int AS live_shops
FROM (
    SELECT t1.rep_id, t1.org_unit_id, t1.kind FROM merchant.sales_credits t1
    WHERE t1.month = sqlc.arg(month)
      AND (sqlc.arg(scope_all)::bool OR t1.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
    UNION ALL
    SELECT t2.rep_id, t2.org_unit_id, t2.kind FROM merchant.sales_credits t2
    WHERE t2.month = sqlc.arg(month) AND NOT sqlc.arg(scope_all)::bool
      AND t2.rep_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
      AND (t2.org_unit_id IS NULL OR t2.org_unit_id <> ALL(sqlc.arg(scope_org_unit_ids)::uuid[]))
) c
GROUP BY rep_id, org_unit_id;

-- name: GMVByRep :many
SELECT rep_id, org_unit_id, sum(amount_fen)::bigint AS gmv_fen
FROM (
    SELECT t1.rep_id, t1.org_unit_id, t1.amount_fen FROM merchant.first_month_gmv t1
    WHERE t1.month = sqlc.arg(month)
      AND (sqlc.arg(scope_all)::bool OR t1.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
    UNION ALL
    SELECT t2.rep_id, t2.org_unit_id, t2.amount_fen FROM merchant.first_month_gmv t2
    WHERE t2.month = sqlc.arg(month) AND NOT sqlc.arg(scope_all)::bool
      AND t2.rep_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
      AND (t2.org_unit_id IS NULL OR t2.org_unit_id <> ALL(sqlc.arg(scope_org_unit_ids)::uuid[]))
) g
GROUP BY rep_id, org_unit_id;

-- name: InsertCommissionRun :exec
INSERT INTO merchant.commission_runs (id, month, org_unit_id, state, approval_id, total_fen, rules, computed_by, computed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: SetCommissionApproval :exec
UPDATE merchant.commission_runs SET approval_id = $2 WHERE id = $1;

-- name: InsertCommissionLine :exec
INSERT INTO merchant.commission_lines (run_id, rep_id, org_unit_id, signings, live_shops, gmv_fen, amount_fen)
VALUES ($1, $2, $3, $4, $5, $6, $7);

-- name: DecideCommissionRun :one
UPDATE merchant.commission_runs SET state = $2 WHERE id = $1 AND state = 'pending_approval' RETURNING *;

-- name: GetCommissionRun :one
SELECT * FROM merchant.commission_runs WHERE id = $1;

-- name: ListCommissionRuns :many
SELECT * FROM merchant.commission_runs
WHERE (sqlc.arg(scope_all)::bool OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
ORDER BY month DESC, computed_at DESC
LIMIT 100;

-- name: ListCommissionLines :many
SELECT * FROM merchant.commission_lines WHERE run_id = $1 ORDER BY amount_fen DESC, rep_id;

-- name: MerchantsForGMV :many
-- A batch's merchants, for the payments of their first 30 days live.
SELECT id, live_at FROM merchant.merchants WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: InsertGMVs :exec
-- A batch's payments and refunds of merchants' first 30 days (the caller picked them),
-- each credited to the merchant's rep and team once per source id.
INSERT INTO merchant.first_month_gmv (source_id, merchant_id, rep_id, org_unit_id, month, amount_fen, at)
SELECT x.source_id, m.id, m.owner_id, m.org_unit_id, x.month, x.amount_fen, x.at
FROM (SELECT unnest(sqlc.arg(source_ids)::uuid[]) AS source_id, unnest(sqlc.arg(merchant_ids)::uuid[]) AS merchant_id,
             unnest(sqlc.arg(months)::date[]) AS month, unnest(sqlc.arg(amounts_fen)::bigint[]) AS amount_fen,
             unnest(sqlc.arg(ats)::timestamptz[]) AS at) x
JOIN merchant.merchants m ON m.id = x.merchant_id
ON CONFLICT (source_id) DO NOTHING;
