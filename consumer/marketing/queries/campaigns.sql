-- name: InsertCampaign :exec
INSERT INTO marketing.campaigns (id, name, segment_id, offer_kind, coupon_batch, points, message, unit_cost_fen, budget_fen,
  holdout_pct, freq_cap, freq_days, schedule, every_days, trigger_event, starts_at, attribution_days, state, created_by,
  created_at, next_run_at, trigger_days, message_template)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23);

-- name: GetCampaign :one
SELECT * FROM marketing.campaigns WHERE id = $1;

-- name: LockCampaign :one
SELECT * FROM marketing.campaigns WHERE id = $1 FOR UPDATE;

-- name: ListCampaigns :many
SELECT * FROM marketing.campaigns ORDER BY created_at DESC LIMIT 200;

-- name: SetCampaignState :exec
UPDATE marketing.campaigns SET state = $2, next_run_at = $3 WHERE id = $1;

-- name: SetCampaignAudience :exec
UPDATE marketing.campaigns SET segment_id = $2 WHERE id = $1;

-- name: DueCampaigns :many
SELECT id FROM marketing.campaigns WHERE state IN ('scheduled', 'running') AND schedule <> 'triggered'
  AND next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at LIMIT 20;

-- name: InsertRun :exec
INSERT INTO marketing.campaign_runs (id, campaign_id, started_at, audience, total, skipped, state)
VALUES ($1, $2, $3, $4, $5, $6, 'sending');

-- name: GetRun :one
SELECT * FROM marketing.campaign_runs WHERE id = $1;

-- name: ListRuns :many
SELECT id, campaign_id, started_at, finished_at, total, next_seq, treated, control, skipped, spent_fen, state
FROM marketing.campaign_runs WHERE campaign_id = $1 ORDER BY started_at DESC;

-- name: ClaimRun :one
UPDATE marketing.campaign_runs SET lease_until = sqlc.arg(lease_until)::timestamptz
WHERE id = sqlc.arg(id) AND state = 'sending' AND (lease_until IS NULL OR lease_until < sqlc.arg(now)::timestamptz)
RETURNING *;

-- name: RunsToSend :many
SELECT id FROM marketing.campaign_runs WHERE state = 'sending' AND (lease_until IS NULL OR lease_until < $1) ORDER BY started_at;

-- name: AdvanceRun :execrows
UPDATE marketing.campaign_runs SET next_seq = $2, treated = treated + $3, control = control + $4, skipped = skipped + $5,
  spent_fen = spent_fen + $6, lease_until = $7 WHERE id = $1 AND next_seq = $8;

-- name: FinishRun :exec
UPDATE marketing.campaign_runs SET state = $2, finished_at = $3, lease_until = NULL WHERE id = $1;

-- name: CappedMembers :many
SELECT seq FROM marketing.sends WHERE arm = 'treatment' AND sent_at >= $1 GROUP BY seq HAVING count(*) >= sqlc.arg(cap)::int;

-- name: ArmOutcomes :many
-- Per arm of a run: members, members who redeemed the campaign's batch, and the sum and
-- sum of squares of each member's net GMV in the attribution window (for the variance).
SELECT s.arm, count(*)::bigint AS members,
  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM marketing.coupon_redemptions r WHERE r.consumer_id = s.consumer_id
    AND r.batch_id = sqlc.arg(batch)::text AND r.redeemed_at >= sqlc.arg(from_at)::timestamptz AND r.redeemed_at < sqlc.arg(to_at)::timestamptz))::bigint AS redeemed,
  coalesce(sum(g.gmv), 0)::bigint AS gmv_fen,
  coalesce(sum(g.gmv::float8 * g.gmv::float8), 0)::float8 AS gmv_sq,
  count(*) FILTER (WHERE g.gmv > 0)::bigint AS buyers
FROM marketing.sends s
CROSS JOIN LATERAL (SELECT coalesce(sum(o.amount_fen - o.refunded_fen), 0)::bigint AS gmv FROM marketing.orders o
  WHERE o.consumer_id = s.consumer_id AND o.paid_at >= sqlc.arg(from_at)::timestamptz AND o.paid_at < sqlc.arg(to_at)::timestamptz) g
WHERE s.run_id = sqlc.arg(run_id)::uuid
GROUP BY s.arm;

-- name: CampaignSpent :one
SELECT coalesce(sum(spent_fen), 0)::bigint FROM marketing.campaign_runs WHERE campaign_id = $1;

-- name: OpenRuns :one
SELECT count(*) FROM marketing.campaign_runs WHERE campaign_id = $1 AND state = 'sending';

-- name: StopRuns :exec
UPDATE marketing.campaign_runs SET state = 'stopped', finished_at = $2, lease_until = NULL WHERE campaign_id = $1 AND state = 'sending';
