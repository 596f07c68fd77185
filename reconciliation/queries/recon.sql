-- name: LockRunDate :exec
-- Serialises the runs of one (mchid, date) until the end of the transaction.
SELECT pg_advisory_xact_lock(hashtextextended('recon.run:' || sqlc.arg(mchid)::text || ':' || sqlc.arg(bill_date)::text, 0));

-- name: DeleteRun :one
-- The run being replaced (same merchant, date and bill type); its classes and
-- exceptions go with it (ON DELETE CASCADE).
DELETE FROM recon.runs WHERE mchid = $1 AND bill_date = $2 AND bill_type = $3 RETURNING attempt;

-- name: InsertRun :exec
INSERT INTO recon.runs (id, mchid, bill_date, attempt, source, state, bill_type, started_at, finished_at,
    bill_lines, order_fen, settlement_fen, refund_fen, requested_refund_fen, fee_milli_fen, net_milli_fen,
    ledger_records, carried_in, repaired, problem_count, problems)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21);

-- name: CopyRunClasses :copyfrom
INSERT INTO recon.run_classes (run_id, class, items, bill_lines, order_fen, settlement_fen, refund_fen,
    requested_refund_fen, fee_milli_fen, our_records, our_amount_fen)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11);

-- name: CopyExceptions :copyfrom
INSERT INTO recon.exceptions (id, run_id, seq, class, kind, out_trade_no, transaction_id, out_refund_no, refund_id,
    line_no, bill_state, bill_time, bill_amount_fen, bill_fee_milli_fen,
    our_status, our_time, our_amount_fen, our_fee_fen, carried_from, repaired_at, note)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21);

-- name: GetRun :one
-- The run of record of a date: the ALL run, else the latest trade-bill run of another
-- type (a FUNDFLOW run is about the account's money, never the day's trades).
SELECT * FROM recon.runs WHERE mchid = $1 AND bill_date = $2 AND bill_type <> 'FUNDFLOW'
ORDER BY (bill_type = 'ALL') DESC, finished_at DESC LIMIT 1;

-- name: ListRunClasses :many
SELECT * FROM recon.run_classes WHERE run_id = $1;

-- name: ListExceptions :many
SELECT * FROM recon.exceptions WHERE run_id = $1 ORDER BY seq;

-- name: ListExceptionsOfClass :many
-- The exceptions of one class of a date's current run: the previous date's
-- outside_window items are carried into the next run with it.
-- Only the ALL run carries: a SUCCESS or REFUND run saw half the day.
SELECT e.* FROM recon.exceptions e JOIN recon.runs r ON r.id = e.run_id
WHERE r.mchid = $1 AND r.bill_date = $2 AND e.class = $3 AND r.bill_type = 'ALL'
ORDER BY e.seq;

-- name: ListRepaired :many
-- What the current run of a date repaired already: a re-run does not repair it again.
SELECT e.* FROM recon.exceptions e JOIN recon.runs r ON r.id = e.run_id
WHERE r.mchid = $1 AND r.bill_date = $2 AND e.repaired_at IS NOT NULL
ORDER BY e.seq;

-- name: ListTopExceptions :many
-- The first exceptions of a run for a report: the most pressing classes first.
SELECT * FROM recon.exceptions WHERE run_id = $1
ORDER BY array_position(ARRAY['missing_ours', 'missing_wechat', 'amount_mismatch', 'status_mismatch',
    'duplicate', 'outside_window']::text[], class), seq
LIMIT $2;

-- name: GetRunByID :one
SELECT * FROM recon.runs WHERE id = $1;

-- name: ListRuns :many
-- The current runs, newest business day first, then by merchant and bill type
-- (ALL, the run of record, first); keyset paged on (bill_date, mchid, bill_type).
-- Empty filters match everything.
SELECT * FROM recon.runs
WHERE (sqlc.arg(mchid)::text = '' OR mchid = sqlc.arg(mchid)::text)
  AND (sqlc.arg(state)::text = '' OR state = sqlc.arg(state)::text)
  AND (sqlc.narg(since)::date IS NULL OR bill_date >= sqlc.narg(since)::date)
  AND (sqlc.narg(until)::date IS NULL OR bill_date <= sqlc.narg(until)::date)
  AND (sqlc.narg(after_date)::date IS NULL
       OR (bill_date, mchid, bill_type) < (sqlc.narg(after_date)::date, sqlc.arg(after_mchid)::text, sqlc.arg(after_type)::text))
ORDER BY bill_date DESC, mchid DESC, bill_type DESC
LIMIT sqlc.arg(lim);

-- name: ListClassesOfRuns :many
SELECT * FROM recon.run_classes WHERE run_id = ANY(sqlc.arg(run_ids)::uuid[]);

-- name: ListExceptionsPage :many
-- A page of a run's exceptions in the order found, optionally of one class.
SELECT * FROM recon.exceptions
WHERE run_id = sqlc.arg(run_id) AND seq > sqlc.arg(after_seq)
  AND (sqlc.arg(class)::text = '' OR class = sqlc.arg(class)::text)
ORDER BY seq
LIMIT sqlc.arg(lim);

-- name: HasRunOfRecord :one
-- Whether a date has its ALL run (downloaded, read from a file, or of a no-bill day).
SELECT EXISTS (SELECT 1 FROM recon.runs WHERE mchid = $1 AND bill_date = $2 AND bill_type = 'ALL');
