-- name: InsertTierDropNotice :exec
INSERT INTO consumer.member_notices (id, consumer_id, kind, tier, metric, missing, period_end, created_at)
VALUES ($1, $2, 'tier_drop', $3, $4, $5, $6, $7);

-- name: MemberNotices :many
-- A member's notices, newest first.
SELECT * FROM consumer.member_notices WHERE consumer_id = $1 ORDER BY id DESC LIMIT sqlc.arg(lim);
