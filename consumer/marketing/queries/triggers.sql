-- name: SetBirthday :exec
UPDATE marketing.members SET birthday = $2 WHERE consumer_id = $1;

-- name: SetTierChangedAt :exec
-- The latest change wins, whatever order the events arrive in.
UPDATE marketing.members SET tier_changed_at = GREATEST(tier_changed_at, sqlc.arg(at)::timestamptz) WHERE consumer_id = $1;

-- name: TriggeredCampaigns :many
SELECT id FROM marketing.campaigns WHERE schedule = 'triggered' AND state IN ('scheduled', 'running') AND starts_at <= $1
ORDER BY created_at;

-- name: BirthdayCandidates :many
SELECT m.consumer_id, m.seq FROM marketing.members m
WHERE m.birthday IS NOT NULL AND extract(month FROM m.birthday) = sqlc.arg(month)::int AND extract(day FROM m.birthday) = sqlc.arg(day)::int
  AND NOT EXISTS (SELECT 1 FROM marketing.trigger_fires f WHERE f.campaign_id = sqlc.arg(campaign_id) AND f.consumer_id = m.consumer_id AND f.occurrence = sqlc.arg(occurrence)::text);

-- name: FirstOrderCandidates :many
SELECT m.consumer_id, m.seq FROM marketing.members m
WHERE m.first_order_at IS NOT NULL AND m.first_order_at >= sqlc.arg(since)::timestamptz
  AND NOT EXISTS (SELECT 1 FROM marketing.trigger_fires f WHERE f.campaign_id = sqlc.arg(campaign_id) AND f.consumer_id = m.consumer_id);

-- name: LapsedCandidates :many
-- Members whose last order is N days old (crossed after the campaign started); the
-- occurrence is that last order, so a member who orders and lapses again fires again.
SELECT m.consumer_id, m.seq, m.last_order_at::timestamptz AS occurred_at FROM marketing.members m
WHERE m.last_order_at IS NOT NULL AND m.last_order_at < sqlc.arg(lapsed_before)::timestamptz AND m.last_order_at >= sqlc.arg(lapsed_since)::timestamptz
  AND NOT EXISTS (SELECT 1 FROM marketing.trigger_fires f WHERE f.campaign_id = sqlc.arg(campaign_id) AND f.consumer_id = m.consumer_id
    AND f.occurrence = to_char(m.last_order_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'));

-- name: TierChangedCandidates :many
SELECT m.consumer_id, m.seq, m.tier_changed_at::timestamptz AS occurred_at FROM marketing.members m
WHERE m.tier_changed_at IS NOT NULL AND m.tier_changed_at >= sqlc.arg(since)::timestamptz
  AND NOT EXISTS (SELECT 1 FROM marketing.trigger_fires f WHERE f.campaign_id = sqlc.arg(campaign_id) AND f.consumer_id = m.consumer_id
    AND f.occurrence = to_char(m.tier_changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'));
