-- name: LockPointsOf :many
-- A batch of payments' members: their points rows locked at once, in one order (two
-- batches never wait on each other crosswise); a consumer with no row is no member.
SELECT consumer_id FROM consumer.points_balances WHERE consumer_id = ANY(sqlc.arg(consumer_ids)::uuid[])
ORDER BY consumer_id FOR UPDATE;

-- name: MemberTiersOf :many
SELECT * FROM consumer.member_tiers WHERE consumer_id = ANY(sqlc.arg(consumer_ids)::uuid[]);
