-- name: LeadsByIDs :many
-- The leads an import made, to publish them as shops (lead_events.go).
SELECT * FROM merchant.leads WHERE id = ANY(sqlc.arg(ids)::uuid[]);
