-- name: UpsertRunItem :batchexec
-- An exception of a run of record becomes (or updates) its queue item; an item
-- already resolved stays resolved.
INSERT INTO recon.queue_items (id, source, item_key, mchid, bill_date, kind, out_trade_no, out_refund_no,
    transaction_id, amount_fen, detail, run_id, state, first_seen, last_seen, bill_type)
VALUES ($1, 'reconciliation', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'open', $12, $12, $13)
ON CONFLICT (source, item_key) DO UPDATE SET kind = EXCLUDED.kind, amount_fen = EXCLUDED.amount_fen,
    detail = EXCLUDED.detail, run_id = EXCLUDED.run_id, last_seen = EXCLUDED.last_seen,
    transaction_id = EXCLUDED.transaction_id;

-- name: ClearRunItems :execrows
-- Open items of a date and bill that its new run of record no longer reports: cleared.
UPDATE recon.queue_items SET state = 'resolved', resolution = sqlc.arg(resolution), resolved_at = sqlc.arg(at)
WHERE source = 'reconciliation' AND mchid = sqlc.arg(mchid) AND bill_date = sqlc.arg(bill_date) AND state = 'open'
  AND bill_type = sqlc.arg(bill_type) AND run_id <> sqlc.arg(run_id)::uuid;

-- name: UpsertBillingItem :exec
INSERT INTO recon.queue_items (id, source, item_key, mchid, kind, out_trade_no, out_refund_no, transaction_id,
    amount_fen, detail, state, first_seen, last_seen)
VALUES ($1, 'billing', $2, $3, $4, $5, $6, $7, $8, $9, 'open', $10, $10)
ON CONFLICT (source, item_key) DO NOTHING;

-- name: ListQueue :many
SELECT * FROM recon.queue_items
WHERE (sqlc.arg(state)::text = '' OR state = sqlc.arg(state)::text)
  AND (sqlc.arg(source)::text = '' OR source = sqlc.arg(source)::text)
  AND (sqlc.narg(assignee)::uuid IS NULL OR assignee = sqlc.narg(assignee)::uuid)
  AND (sqlc.arg(before)::uuid = '00000000-0000-0000-0000-000000000000' OR id < sqlc.arg(before)::uuid)
ORDER BY id DESC LIMIT sqlc.arg(lim);

-- name: GetQueueItem :one
SELECT * FROM recon.queue_items WHERE id = $1;

-- name: LockQueueItem :one
SELECT * FROM recon.queue_items WHERE id = $1 FOR UPDATE;

-- name: AssignQueueItem :exec
UPDATE recon.queue_items SET assignee = sqlc.narg(assignee) WHERE id = $1;

-- name: ResolveQueueItem :exec
UPDATE recon.queue_items SET state = 'resolved', resolution = $2, resolved_by = $3, resolved_at = $4 WHERE id = $1;

-- name: InsertQueueNote :exec
INSERT INTO recon.queue_notes (id, item_id, author, body, created_at) VALUES ($1, $2, $3, $4, $5);

-- name: ListQueueNotes :many
SELECT * FROM recon.queue_notes WHERE item_id = $1 ORDER BY id;
