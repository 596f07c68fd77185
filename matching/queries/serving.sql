-- name: NoteServingChange :exec
INSERT INTO matching.serving_changes (consumers) VALUES (sqlc.arg(consumers)::uuid[]);

-- name: ServingChangesAfter :many
-- The changes a cache has not seen: every row after the highest id it has applied, and
-- the ids below it that it may have missed (a transaction that took its id earlier and
-- had not committed at the last poll; see serve_cache.go). Rows it has applied are not
-- read again: after a rebuild they name every consumer.
SELECT id, consumers FROM matching.serving_changes
WHERE id > sqlc.arg(after) OR id = ANY(sqlc.arg(missed)::bigint[])
ORDER BY id LIMIT 10000;

-- name: LastServingChange :one
SELECT COALESCE(max(id), 0)::bigint FROM matching.serving_changes;

-- name: PruneServingChanges :exec
DELETE FROM matching.serving_changes WHERE at < sqlc.arg(before);
