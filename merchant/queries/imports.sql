-- name: InsertImport :one
INSERT INTO merchant.imports (id, pool_id, sha256, file_name, state, by_user, created_at, updated_at)
VALUES ($1, $2, $3, $4, 'running', $5, $6, $6)
ON CONFLICT ON CONSTRAINT imports_file_key DO NOTHING
RETURNING *;

-- name: GetImportByFile :one
SELECT * FROM merchant.imports WHERE pool_id = $1 AND sha256 = $2;

-- name: GetImport :one
SELECT * FROM merchant.imports WHERE id = $1;

-- name: ImportProgress :exec
UPDATE merchant.imports SET total_rows = $2, done_rows = $3, imported = $4, updated_at = $5 WHERE id = $1;

-- name: FinishImport :exec
UPDATE merchant.imports SET state = $2, total_rows = $3, done_rows = $3, imported = $4, problems = $5, updated_at = $6 WHERE id = $1;
