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
SELECT m.*, b.balance FROM consumer.members m JOIN consumer.points_balances b ON b.consumer_id = m.id
WHERE m.id = $1;

-- name: ListMembers :many
SELECT m.*, b.balance FROM consumer.members m JOIN consumer.points_balances b ON b.consumer_id = m.id
WHERE (sqlc.arg(after)::uuid = '00000000-0000-0000-0000-000000000000' OR m.id > sqlc.arg(after)::uuid)
ORDER BY m.id LIMIT sqlc.arg(lim);

-- name: LockBalance :one
SELECT balance FROM consumer.points_balances WHERE consumer_id = $1 FOR UPDATE;

-- name: InsertEntry :execrows
-- Writes the entry once per source_key; 0 rows when it exists already.
INSERT INTO consumer.points_entries (id, consumer_id, delta, kind, source_key, order_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (source_key) DO NOTHING;

-- name: AddToBalance :one
UPDATE consumer.points_balances SET balance = balance + sqlc.arg(delta)::bigint, updated_at = sqlc.arg(at)
WHERE consumer_id = sqlc.arg(consumer_id) RETURNING balance;

-- name: OrderPoints :one
-- What an order earned and what its refunds have reversed so far.
SELECT COALESCE(SUM(delta) FILTER (WHERE kind = 'earn'), 0)::bigint AS earned,
       COUNT(*) FILTER (WHERE kind = 'earn')::bigint AS earn_entries,
       COALESCE(-SUM(delta) FILTER (WHERE kind = 'reverse'), 0)::bigint AS reversed
FROM consumer.points_entries WHERE order_id = $1;

-- name: ListEntries :many
SELECT * FROM consumer.points_entries
WHERE consumer_id = sqlc.arg(consumer_id)
  AND (sqlc.arg(before)::uuid = '00000000-0000-0000-0000-000000000000' OR id < sqlc.arg(before)::uuid)
ORDER BY id DESC LIMIT sqlc.arg(lim);
