-- name: StageImport :one
-- The import's rows are staged and deduplicated: its chunk size, rows and report so far.
UPDATE merchant.imports SET chunk_rows = $2, total_rows = $3, done_rows = $3, problems = $4, updated_at = $5
WHERE id = $1
RETURNING *;

-- name: ImportChunkDone :exec
-- A chunk of the import committed: its leads, the routed ones, and its rows a
-- concurrent create took meanwhile, counted once however many runners ran it.
UPDATE merchant.imports SET chunks_done = chunks_done || sqlc.arg(chunk)::int4,
    imported = imported + sqlc.arg(imported), assigned = assigned + sqlc.arg(assigned),
    problems = problems || sqlc.arg(problems)::jsonb, updated_at = sqlc.arg(updated_at)
WHERE id = sqlc.arg(id) AND NOT sqlc.arg(chunk)::int4 = ANY(chunks_done);

-- name: RequeueImport :exec
-- A staged import whose runner failed or was stopped waits for the next run, which goes
-- on from its last committed chunk.
UPDATE merchant.imports SET state = 'queued', error = $2, updated_at = $3 WHERE id = $1 AND state = 'running';
