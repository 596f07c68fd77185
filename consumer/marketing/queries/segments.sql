-- name: InsertSegment :exec
INSERT INTO marketing.segments (id, name, rule, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5);

-- name: UpdateSegment :execrows
UPDATE marketing.segments SET name = $2, rule = $3, updated_at = $4 WHERE id = $1;

-- name: GetSegment :one
SELECT * FROM marketing.segments WHERE id = $1;

-- name: ListSegments :many
SELECT * FROM marketing.segments ORDER BY lower(name);
