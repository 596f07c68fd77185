-- Following matching's consumer merges (merge_moves.go).

-- name: MoveConsumerOrders :many
-- Orders of one consumer to another: all of them, or only the listed ones still with
-- the first. Locked in id order, the order billing's writers of orders take them.
WITH target AS (
    SELECT t.id FROM billing.orders t
    WHERE t.consumer_id = sqlc.arg(from_consumer) AND (sqlc.arg(all_orders)::bool OR t.id = ANY(sqlc.arg(ids)::uuid[]))
    ORDER BY t.id FOR UPDATE
)
UPDATE billing.orders o SET consumer_id = sqlc.arg(to_consumer) FROM target WHERE o.id = target.id
RETURNING o.id;
