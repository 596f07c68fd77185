-- name: InsertImport :one
-- A new import, queued with its file; the same file into the same pool again answers
-- no row (the first import stands), unless that one failed: then it is queued again.
INSERT INTO merchant.imports (id, pool_id, sha256, file_name, state, by_user, by_rules, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $7)
ON CONFLICT ON CONSTRAINT imports_file_key DO UPDATE SET state = 'queued', file_name = EXCLUDED.file_name,
    by_user = EXCLUDED.by_user, by_rules = EXCLUDED.by_rules, error = '', problems = '[]', total_rows = 0, done_rows = 0,
    imported = 0, assigned = 0, updated_at = EXCLUDED.updated_at
WHERE merchant.imports.state = 'failed'
RETURNING *;

-- name: PutImportFile :exec
INSERT INTO merchant.import_files (import_id, data) VALUES ($1, $2)
ON CONFLICT (import_id) DO UPDATE SET data = EXCLUDED.data;

-- name: GetImportFile :one
SELECT data FROM merchant.import_files WHERE import_id = $1;

-- name: DeleteImportFile :exec
DELETE FROM merchant.import_files WHERE import_id = $1;

-- name: GetImportByFile :one
SELECT * FROM merchant.imports WHERE pool_id = $1 AND sha256 = $2;

-- name: GetImport :one
SELECT * FROM merchant.imports WHERE id = $1;

-- name: StartImport :one
-- Takes an import to run: the one named, or (id NULL) the oldest queued, or a running
-- one whose runner went quiet (stale_before); no row when there is none.
UPDATE merchant.imports SET state = 'running', updated_at = sqlc.arg(at)
WHERE id = (SELECT i.id FROM merchant.imports i
    WHERE (sqlc.narg(id)::uuid IS NULL OR i.id = sqlc.narg(id)::uuid)
      AND (i.state = 'queued' OR (i.state = 'running' AND i.updated_at < sqlc.arg(stale_before)::timestamptz))
    ORDER BY i.created_at, i.id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING *;

-- name: ImportProgress :exec
UPDATE merchant.imports SET done_rows = $2, updated_at = $3 WHERE id = $1 AND state = 'running';

-- name: FinishImport :exec
UPDATE merchant.imports SET state = $2, total_rows = $3, done_rows = $3, imported = $4, assigned = $5, problems = $6,
    error = $7, updated_at = $8
WHERE id = $1;

-- name: ListImports :many
-- Imports into the given pools, newest first.
SELECT * FROM merchant.imports WHERE pool_id = ANY(sqlc.arg(pool_ids)::uuid[])
ORDER BY created_at DESC, id DESC LIMIT sqlc.arg(max_rows);
