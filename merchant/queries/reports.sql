-- name: ReportFunnelUnits :many
-- Leads of the teams in scope (and the scope's own leads outside them) by current
-- stage: an index-only scan of leads_unit_stage_idx per team.
SELECT stage, count(*)::bigint AS leads FROM (
    SELECT stage FROM merchant.leads
    WHERE org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
      AND (sqlc.narg(city)::text IS NULL OR city = sqlc.narg(city)::text)
    UNION ALL
    SELECT stage FROM merchant.leads
    WHERE owner_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
      AND (org_unit_id IS NULL OR org_unit_id <> ALL(sqlc.arg(scope_org_unit_ids)::uuid[]))
      AND (sqlc.narg(city)::text IS NULL OR city = sqlc.narg(city)::text)
) l
GROUP BY stage;

-- name: ReportFunnelAll :many
SELECT stage, count(*)::bigint AS leads FROM merchant.leads
WHERE (sqlc.narg(city)::text IS NULL OR city = sqlc.narg(city)::text)
GROUP BY stage;

-- name: ReportReached :many
-- Leads that first reached each stage, by cohort (month created) or month reached, with
-- the days taken from creation, from the teams' rollup.
SELECT (CASE WHEN sqlc.arg(by_cohort)::bool THEN cohort ELSE month END)::date AS period, to_stage,
    sum(leads)::bigint AS leads, sum(days_sum)::float8 AS days_sum
FROM merchant.stage_rollup
WHERE (CASE WHEN sqlc.arg(by_cohort)::bool THEN cohort ELSE month END) >= sqlc.arg(from_month)
  AND (sqlc.arg(scope_all)::bool OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
  AND (sqlc.narg(city)::text IS NULL OR city = sqlc.narg(city)::text)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: ReportReachedOwn :many
-- The same by month reached for a rep's own leads (a scope without teams), from the
-- reps' rollup; there is no cohort there, so period is the month reached.
SELECT month AS period, to_stage, sum(leads)::bigint AS leads, sum(days_sum)::float8 AS days_sum
FROM merchant.stage_rollup_rep
WHERE month >= sqlc.arg(from_month) AND rep_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
  AND (sqlc.narg(city)::text IS NULL OR city = sqlc.narg(city)::text)
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: ReportReachedBy :many
-- Leads that first reached each stage since from_month, per rep, team and city.
SELECT org_unit_id, rep_id, city, to_stage, sum(leads)::bigint AS leads, sum(days_sum)::float8 AS days_sum
FROM merchant.stage_rollup_rep
WHERE month >= sqlc.arg(from_month)
  AND (sqlc.arg(scope_all)::bool OR rep_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
GROUP BY 1, 2, 3, 4;

-- name: ReportPoolAge :many
-- Leads waiting in the pools in scope, by how long since they last changed.
SELECT CASE WHEN updated_at > sqlc.arg(now)::timestamptz - interval '7 days' THEN '0-7'
            WHEN updated_at > sqlc.arg(now)::timestamptz - interval '30 days' THEN '8-30'
            WHEN updated_at > sqlc.arg(now)::timestamptz - interval '90 days' THEN '31-90'
            ELSE '90+' END AS bucket, count(*)::bigint AS leads
FROM merchant.leads
WHERE owner_id IS NULL AND stage NOT IN ('live', 'lost')
  AND (sqlc.arg(scope_all)::bool OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
GROUP BY 1;

-- name: ReportReclaims :many
-- Leads taken back to the pools per Shanghai day since from_at, in scope.
SELECT (h.at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*)::bigint AS reclaims
FROM merchant.lead_owner_history h JOIN merchant.leads l ON l.id = h.lead_id
WHERE h.event = 'reclaimed' AND h.at >= sqlc.arg(from_at)
  AND (sqlc.arg(scope_all)::bool OR h.from_owner = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR l.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
GROUP BY 1
ORDER BY 1;
