-- Following matching's consumer merges (merge_moves.go).

-- name: EnsureMergeSurvivor :exec
-- The survivor becomes a member (with the merged member's phone and app) when only the
-- merged consumer was one, so what moves has somewhere to go.
INSERT INTO consumer.members (id, phone, app_id, joined_at)
SELECT sqlc.arg(survivor)::uuid, m.phone, m.app_id, m.joined_at FROM consumer.members m WHERE m.id = sqlc.arg(merged)::uuid
ON CONFLICT (id) DO NOTHING;

-- name: EnsureMergeSurvivorBalance :exec
INSERT INTO consumer.points_balances (consumer_id, balance, updated_at)
SELECT sqlc.arg(survivor)::uuid, 0, sqlc.arg(at) WHERE EXISTS (SELECT 1 FROM consumer.members WHERE id = sqlc.arg(survivor)::uuid)
ON CONFLICT (consumer_id) DO NOTHING;

-- name: MoveMemberLots :many
-- Lots of one member to another: all of them (with listed ids, only those still with
-- the first); each with what it still holds, so the balances move by as much.
UPDATE consumer.points_lots SET consumer_id = sqlc.arg(to_consumer)
WHERE consumer_id = sqlc.arg(from_consumer) AND (sqlc.arg(all_lots)::bool OR id = ANY(sqlc.arg(ids)::uuid[]))
RETURNING id, state, remaining;

-- name: MoveMemberDebits :many
UPDATE consumer.points_debits SET consumer_id = sqlc.arg(to_consumer)
WHERE consumer_id = sqlc.arg(from_consumer) AND (sqlc.arg(all_debits)::bool OR id = ANY(sqlc.arg(ids)::uuid[]))
RETURNING id;

-- name: MoveMemberCoupons :many
UPDATE consumer.coupons SET consumer_id = sqlc.arg(to_consumer)
WHERE consumer_id = sqlc.arg(from_consumer) AND (sqlc.arg(all_coupons)::bool OR id = ANY(sqlc.arg(ids)::uuid[]))
RETURNING id;

-- name: MoveMemberTags :many
-- Tags the other member does not carry yet (a tag both carry stays where it is).
UPDATE consumer.member_tags t SET consumer_id = sqlc.arg(to_consumer)
WHERE t.consumer_id = sqlc.arg(from_consumer) AND (sqlc.arg(all_tags)::bool OR t.tag = ANY(sqlc.arg(tags)::text[]))
  AND NOT EXISTS (SELECT 1 FROM consumer.member_tags o WHERE o.consumer_id = sqlc.arg(to_consumer) AND o.tag = t.tag)
RETURNING t.tag;
