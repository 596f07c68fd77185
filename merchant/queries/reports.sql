-- name: ReportFunnelUnits :many
-- Leads of the teams in scope by current stage from their counters
-- (merchant.lead_stage_counts, migration 011), and the scope's own leads outside
-- those teams from the leads themselves (leads_owner_idx).
SELECT stage, sum(leads)::bigint AS leads FROM (
    SELECT stage, leads FROM merchant.lead_stage_counts
    WHERE org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
      AND (sqlc.narg(city)::text IS NULL OR city = sqlc.narg(city)::text)
    UNION ALL
    SELECT stage, 1 FROM merchant.leads
    WHERE owner_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
      AND (org_unit_id IS NULL OR org_unit_id <> ALL(sqlc.arg(scope_org_unit_ids)::uuid[]))
      AND (sqlc.narg(city)::text IS NULL OR city = sqlc.narg(city)::text)
) l
GROUP BY stage;

-- name: ReportFunnelAll :many
SELECT stage, sum(leads)::bigint AS leads FROM merchant.lead_stage_counts
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

-- name: ReportReachedByRep :many
-- Leads that first reached each stage since from_month, per rep: the teams in scope
-- by an index-only scan of stage_rollup_rep_unit_month_idx (migration 011), and the
-- scope's own reps outside them by stage_rollup_rep_key.
SELECT rep_id, to_stage, sum(leads)::bigint AS leads, sum(days_sum)::float8 AS days_sum FROM (
    SELECT rep_id, to_stage, leads, days_sum FROM merchant.stage_rollup_rep t1
    WHERE t1.month >= sqlc.arg(from_month) AND t1.rep_id IS NOT NULL
      AND (sqlc.arg(scope_all)::bool OR t1.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
    UNION ALL
    SELECT rep_id, to_stage, leads, days_sum FROM merchant.stage_rollup_rep t2
    WHERE t2.month >= sqlc.arg(from_month) AND NOT sqlc.arg(scope_all)::bool
      AND t2.rep_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
      AND (t2.org_unit_id IS NULL OR t2.org_unit_id <> ALL(sqlc.arg(scope_org_unit_ids)::uuid[]))
) r
GROUP BY 1, 2;

-- name: ReportReachedByUnit :many
-- The same per team and city, from the teams' rollup (a few hundred rows per team
-- and month, whatever the number of reps), and the scope's own reps outside the
-- teams from the reps' rollup.
SELECT org_unit_id, city, to_stage, sum(leads)::bigint AS leads, sum(days_sum)::float8 AS days_sum FROM (
    SELECT org_unit_id, city, to_stage, leads, days_sum FROM merchant.stage_rollup t3
    WHERE t3.month >= sqlc.arg(from_month)
      AND (sqlc.arg(scope_all)::bool OR t3.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
    UNION ALL
    SELECT org_unit_id, city, to_stage, leads, days_sum FROM merchant.stage_rollup_rep t4
    WHERE t4.month >= sqlc.arg(from_month) AND NOT sqlc.arg(scope_all)::bool
      AND t4.rep_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
      AND (t4.org_unit_id IS NULL OR t4.org_unit_id <> ALL(sqlc.arg(scope_org_unit_ids)::uuid[]))
) r
GROUP BY 1, 2, 3;

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
-- Leads taken back to the pools per Shanghai day since from_at, in scope: the
-- reclaims of those days (lead_owner_history_reclaimed_idx), each checked against its
-- lead's team by primary key, never a scan of the city's leads.
SELECT (h.at AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*)::bigint AS reclaims
FROM merchant.lead_owner_history h
WHERE h.event = 'reclaimed' AND h.at >= sqlc.arg(from_at)
  AND (sqlc.arg(scope_all)::bool OR h.from_owner = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR EXISTS (SELECT 1 FROM merchant.leads l WHERE l.id = h.lead_id
                  AND l.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])))
GROUP BY 1
ORDER BY 1;
