-- name: NoteServingChange :exec
INSERT INTO matching.serving_changes (consumers) VALUES (sqlc.arg(consumers)::uuid[]);

-- name: ServingChangesAfter :many
-- The changes a cache has not seen; committed ones only, so a row whose transaction is
-- still open (a lower id, committed later) is read at a later poll: the cache keeps
-- the lowest id it may have missed (see serve_cache.go).
SELECT id, consumers FROM matching.serving_changes WHERE id > sqlc.arg(after) ORDER BY id LIMIT 10000;

-- name: LastServingChange :one
SELECT COALESCE(max(id), 0)::bigint FROM matching.serving_changes;

-- name: PruneServingChanges :exec
DELETE FROM matching.serving_changes WHERE at < sqlc.arg(before);
