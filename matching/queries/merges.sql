-- name: InsertMerge :one
-- A candidate pair; nothing when the pair is open already.
INSERT INTO matching.merges (id, survivor, merged, confidence, evidence, conflicts, automatic, state, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, 'review', $8)
ON CONFLICT (survivor, merged) WHERE state IN ('review', 'merged') DO NOTHING
RETURNING id;

-- name: LockMerge :one
SELECT * FROM matching.merges WHERE id = $1 FOR UPDATE;

-- name: GetMerge :one
SELECT * FROM matching.merges WHERE id = $1;

-- name: ActiveMergeOf :one
-- The standing merge a consumer is involved in, either side.
SELECT * FROM matching.merges WHERE state = 'merged' AND (merged = $1 OR survivor = $1) LIMIT 1;

-- name: SurvivorOf :one
SELECT id, survivor FROM matching.merges WHERE state = 'merged' AND merged = $1;

-- name: SetMergeState :exec
UPDATE matching.merges SET state = sqlc.arg(state), decided_at = sqlc.arg(at), decided_by = sqlc.arg(actor) WHERE id = $1;

-- name: SetMergeUndone :exec
UPDATE matching.merges SET state = 'undone', undone_at = sqlc.arg(at), undone_by = sqlc.arg(actor) WHERE id = $1;

-- name: ListMerges :many
SELECT * FROM matching.merges
WHERE (sqlc.arg(state)::text = '' OR state = sqlc.arg(state)::text)
  AND (sqlc.arg(before)::uuid = '00000000-0000-0000-0000-000000000000' OR id < sqlc.arg(before)::uuid)
ORDER BY id DESC LIMIT sqlc.arg(max_rows);

-- name: MovePurchases :execrows
-- The merged consumer's purchases to the survivor, each move recorded.
WITH moved AS (
    UPDATE matching.purchases SET consumer_id = sqlc.arg(survivor) WHERE consumer_id = sqlc.arg(merged) RETURNING order_id
)
INSERT INTO matching.merge_moves (merge_id, order_id) SELECT sqlc.arg(merge_id), order_id FROM moved;

-- name: RecordMove :exec
INSERT INTO matching.merge_moves (merge_id, order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING;

-- name: MoveBack :execrows
UPDATE matching.purchases SET consumer_id = sqlc.arg(merged)
WHERE order_id IN (SELECT order_id FROM matching.merge_moves WHERE merge_id = sqlc.arg(merge_id));

-- name: DeleteConsumerMerchantsOf :exec
DELETE FROM matching.consumer_merchants WHERE consumer_id = ANY(sqlc.arg(consumers)::uuid[]);

-- name: RecountConsumerMerchantsOf :exec
INSERT INTO matching.consumer_merchants (consumer_id, merchant_id, orders, net_fen, first_at, last_at)
SELECT consumer_id, merchant_id, count(*) FILTER (WHERE refunded_fen < amount_fen), sum(amount_fen - refunded_fen), min(paid_at), max(paid_at)
FROM matching.purchases WHERE consumer_id = ANY(sqlc.arg(consumers)::uuid[])
GROUP BY consumer_id, merchant_id;

-- name: RecountBuyersOf :exec
UPDATE matching.merchants m SET buyers = (SELECT count(*) FROM matching.consumer_merchants cm WHERE cm.merchant_id = m.merchant_id)
WHERE m.merchant_id IN (SELECT DISTINCT merchant_id FROM matching.purchases WHERE consumer_id = ANY(sqlc.arg(consumers)::uuid[]));

-- name: DeleteConsumerPosition :exec
DELETE FROM matching.consumers WHERE consumer_id = $1;
