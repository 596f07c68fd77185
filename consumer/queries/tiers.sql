-- name: GetTierRules :one
-- The tier program and its tiers (as JSON, by level) in one round trip.
SELECT p.metric, p.period_months, p.downgrade, p.updated_at, p.notice_days,
    COALESCE((SELECT json_agg(json_build_object('level', t.level, 'name', t.name, 'threshold', t.threshold,
        'retain', t.retain, 'multiplier_pct', t.multiplier_pct) ORDER BY t.level) FROM consumer.tiers t), '[]')::jsonb AS tiers
FROM consumer.tier_program p;

-- name: UpdateTierProgram :exec
UPDATE consumer.tier_program SET metric = $1, period_months = $2, downgrade = $3, updated_at = $4, notice_days = $5;

-- name: ListTiers :many
SELECT * FROM consumer.tiers ORDER BY level;

-- name: DeleteTiers :exec
DELETE FROM consumer.tiers;

-- name: InsertTier :exec
INSERT INTO consumer.tiers (level, name, threshold, retain, multiplier_pct) VALUES ($1, $2, $3, $4, $5);

-- name: EnsureMemberTier :exec
INSERT INTO consumer.member_tiers (consumer_id, period_start, updated_at) VALUES ($1, $2, $2)
ON CONFLICT (consumer_id) DO NOTHING;

-- name: GetMemberTier :one
SELECT * FROM consumer.member_tiers WHERE consumer_id = $1;

-- name: LockMemberTier :one
SELECT * FROM consumer.member_tiers WHERE consumer_id = $1 FOR UPDATE;

-- name: AddTierMetric :one
UPDATE consumer.member_tiers SET period_growth = GREATEST(period_growth + sqlc.arg(growth)::bigint, 0),
    period_points = GREATEST(period_points + sqlc.arg(points)::bigint, 0), updated_at = sqlc.arg(at)
WHERE consumer_id = sqlc.arg(consumer_id) RETURNING *;

-- name: SetMemberLevel :exec
UPDATE consumer.member_tiers SET level = $2, updated_at = $3 WHERE consumer_id = $1;

-- name: SetTierFloor :exec
UPDATE consumer.member_tiers SET floor_level = $2, floor_until = $3, updated_at = $4 WHERE consumer_id = $1;

-- name: NewTierPeriod :exec
UPDATE consumer.member_tiers SET level = $2, period_start = $3, period_growth = 0, period_points = 0, updated_at = $4
WHERE consumer_id = $1;

-- name: InsertTierHistory :exec
INSERT INTO consumer.tier_history (id, consumer_id, from_level, to_level, reason, metric, note, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);

-- name: TierHistory :many
SELECT * FROM consumer.tier_history WHERE consumer_id = $1 ORDER BY at DESC, id DESC LIMIT 50;

-- name: PeriodsEnded :many
-- Members whose evaluation period has ended, locked, a batch at a time.
SELECT * FROM consumer.member_tiers WHERE period_start <= sqlc.arg(started_before)
ORDER BY consumer_id LIMIT sqlc.arg(lim) FOR UPDATE SKIP LOCKED;

-- name: SetLotGrowth :exec
UPDATE consumer.points_lots SET growth = $2 WHERE id = $1;

-- name: TierCounts :many
SELECT level, COUNT(*)::bigint AS members FROM consumer.member_tiers GROUP BY level ORDER BY level;

-- name: MarkDropNotices :many
-- Members whose period ends within the notice window and whose metric is below their
-- tier's retention threshold (a floor lasting past the period's end keeps them), not
-- told yet this period: marked told, once per period.
UPDATE consumer.member_tiers t SET drop_noticed_for = t.period_start
FROM consumer.tiers r
WHERE r.level = t.level AND t.level > 0
  AND t.drop_noticed_for IS DISTINCT FROM t.period_start
  AND t.period_start + make_interval(months => sqlc.arg(period_months)::int) > sqlc.arg(now)::timestamptz
  AND t.period_start + make_interval(months => sqlc.arg(period_months)::int) <= sqlc.arg(horizon)::timestamptz
  AND (CASE WHEN sqlc.arg(metric)::text = 'points' THEN t.period_points ELSE t.period_growth END) < r.retain
  AND NOT (t.floor_level >= t.level AND t.floor_until IS NOT NULL
           AND t.floor_until >= t.period_start + make_interval(months => sqlc.arg(period_months)::int))
RETURNING t.consumer_id, t.level, r.name, r.retain,
    (CASE WHEN sqlc.arg(metric)::text = 'points' THEN t.period_points ELSE t.period_growth END)::bigint AS metric,
    (t.period_start + make_interval(months => sqlc.arg(period_months)::int))::timestamptz AS period_end;
