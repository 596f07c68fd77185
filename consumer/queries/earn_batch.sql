-- name: LockBalances :many
-- Members' balance rows locked at once, in consumer-id order: the order every writer of
-- points takes them, so two writers never wait on each other crosswise (a merge's two
-- members, a batch of payments' members). A consumer with no row is no member.
SELECT consumer_id FROM consumer.points_balances WHERE consumer_id = ANY(sqlc.arg(consumer_ids)::uuid[])
ORDER BY consumer_id FOR UPDATE;

-- name: MemberTiersOf :many
SELECT * FROM consumer.member_tiers WHERE consumer_id = ANY(sqlc.arg(consumer_ids)::uuid[]);
