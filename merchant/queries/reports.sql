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
-- Leads waiting in the pools in scope, by how long since they last changed: the
-- pools' sizes from merchant.lead_stage_counts, and only the leads changed in the last
-- 90 days read (leads_pool_age_idx); whatever is not recent is "90+".
WITH recent AS (
    SELECT CASE WHEN updated_at > sqlc.arg(now)::timestamptz - interval '7 days' THEN '0-7'
                WHEN updated_at > sqlc.arg(now)::timestamptz - interval '30 days' THEN '8-30'
                ELSE '31-90' END AS bucket
    FROM merchant.leads
    WHERE owner_id IS NULL AND stage NOT IN ('live', 'lost') AND updated_at > sqlc.arg(now)::timestamptz - interval '90 days'
      AND (sqlc.arg(scope_all)::bool OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
)
SELECT r.bucket::text AS bucket, count(*)::bigint AS leads FROM recent r GROUP BY 1
UNION ALL
SELECT '90+', (SELECT coalesce(sum(c.leads), 0) FROM merchant.lead_stage_counts c
               WHERE c.pooled AND c.stage NOT IN ('live', 'lost')
                 AND (sqlc.arg(scope_all)::bool OR c.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])))::bigint
              - (SELECT count(*) FROM recent)::bigint;

-- name: ReportReclaims :many
-- Leads taken back to the pools per Shanghai day since from_day, in scope: the teams'
-- from merchant.reclaim_days (migration 011), the scope's own reps' outside those teams
-- from the history (lead_owner_history_reclaimed_idx).
SELECT day::date AS day, sum(n)::bigint AS reclaims FROM (
    SELECT d.day, d.reclaims AS n FROM merchant.reclaim_days d
    WHERE d.day >= sqlc.arg(from_day)::date
      AND (sqlc.arg(scope_all)::bool OR d.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
    UNION ALL
    SELECT (h.at AT TIME ZONE 'Asia/Shanghai')::date, 1 FROM merchant.lead_owner_history h
    WHERE NOT sqlc.arg(scope_all)::bool AND h.event = 'reclaimed' AND h.at >= sqlc.arg(from_at)
      AND h.from_owner = ANY(sqlc.arg(scope_owner_ids)::uuid[])
      AND NOT EXISTS (SELECT 1 FROM merchant.leads l WHERE l.id = h.lead_id
                      AND l.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
) r
GROUP BY 1
ORDER BY 1;
