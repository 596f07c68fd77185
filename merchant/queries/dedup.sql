-- name: GetLeadByLicence :one
SELECT * FROM merchant.leads WHERE licence_no = $1;

-- name: SetLicence :exec
UPDATE merchant.leads SET licence_no = $2 WHERE id = $1;

-- name: InsertDuplicateOverride :exec
INSERT INTO merchant.duplicate_overrides (lead_id, of_lead_id, reason, by_user, at) VALUES ($1, $2, $3, $4, $5);
