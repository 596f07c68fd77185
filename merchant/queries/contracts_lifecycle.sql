-- name: GetContractForUpdate :one
SELECT * FROM merchant.contracts WHERE id = $1 FOR UPDATE;

-- name: EndContract :one
UPDATE merchant.contracts SET status = sqlc.arg(status), ended_at = sqlc.arg(ended_at), end_reason = sqlc.arg(end_reason),
    ended_by = sqlc.arg(ended_by)
WHERE id = sqlc.arg(id) AND status = 'active'
RETURNING *;

-- name: InsertRenewal :exec
INSERT INTO merchant.contracts (id, lead_id, contract_no, commission_rate, settlement_cycle, starts_on, ends_on, signed_by,
    signed_at, status, deposit_fen, renewed_from)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $11);

-- name: ContractsEndingBefore :many
-- Active contracts whose last day is before the given day: the expiry task's work.
SELECT * FROM merchant.contracts WHERE status = 'active' AND ends_on < $1 ORDER BY ends_on, id LIMIT $2 FOR UPDATE SKIP LOCKED;

-- name: SetMerchantContract :exec
-- The live merchant follows its current contract (billing reads the terms from here).
UPDATE merchant.merchants SET contract_id = $2, commission_rate = $3, settlement_cycle = $4 WHERE lead_id = $1;

-- name: EndMerchant :execrows
UPDATE merchant.merchants SET status = 'ended' WHERE lead_id = $1 AND status = 'live';

-- name: ListContractsOfLead :many
SELECT * FROM merchant.contracts WHERE lead_id = $1 ORDER BY signed_at, id;

-- name: ContractsEndingWithin :many
-- Active contracts in scope ending in [from, to]: the renewal list.
SELECT c.*, l.name AS lead_name, l.city AS lead_city FROM merchant.contracts c JOIN merchant.leads l ON l.id = c.lead_id
WHERE c.status = 'active' AND c.ends_on >= sqlc.arg(from_day) AND c.ends_on <= sqlc.arg(to_day)
  AND (sqlc.arg(scope_all)::bool OR l.owner_id = ANY(sqlc.arg(scope_owner_ids)::uuid[])
       OR l.org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[]))
ORDER BY c.ends_on, c.id
LIMIT 500;
