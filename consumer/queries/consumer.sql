-- name: InsertMember :one
-- Returns the member whether it was just inserted or was there already.
WITH ins AS (
    INSERT INTO consumer.members (id, phone, app_id, joined_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (id) DO NOTHING RETURNING *
)
SELECT *, true AS created FROM ins
UNION ALL
SELECT *, false AS created FROM consumer.members WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM ins);

-- name: InsertBalance :exec
INSERT INTO consumer.points_balances (consumer_id, balance, updated_at) VALUES ($1, 0, $2)
ON CONFLICT (consumer_id) DO NOTHING;

-- name: GetMember :one
SELECT m.*, b.balance, b.pending, b.earned_total FROM consumer.members m JOIN consumer.points_balances b ON b.consumer_id = m.id
WHERE m.id = $1;

-- name: ListMembers :many
SELECT m.*, b.balance, b.pending, b.earned_total FROM consumer.members m JOIN consumer.points_balances b ON b.consumer_id = m.id
WHERE (sqlc.arg(after)::uuid = '00000000-0000-0000-0000-000000000000' OR m.id > sqlc.arg(after)::uuid)
ORDER BY m.id LIMIT sqlc.arg(lim);

-- name: ListEntries :many
-- Newest first by time, then id; the cursor is the last entry of the page before (an id
-- that is not one of the member's entries ends the list).
SELECT * FROM consumer.points_entries e
WHERE e.consumer_id = sqlc.arg(consumer_id)
  AND (sqlc.arg(before)::uuid = '00000000-0000-0000-0000-000000000000'
    OR (e.created_at, e.id) < (SELECT c.created_at, c.id FROM consumer.points_entries c
                               WHERE c.id = sqlc.arg(before)::uuid AND c.consumer_id = sqlc.arg(consumer_id)))
ORDER BY e.created_at DESC, e.id DESC LIMIT sqlc.arg(lim);
