-- name: InsertRequest :one
INSERT INTO approval.requests (id, kind, subject_type, subject_id, title, summary, payload, approver_perm,
    owner_id, org_unit_id, merchant_id, requested_by, requested_by_login, requested_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
RETURNING *;

-- name: GetRequest :one
SELECT * FROM approval.requests WHERE id = $1;

-- name: LockRequest :one
SELECT * FROM approval.requests WHERE id = $1 FOR UPDATE;

-- name: DecideRequest :one
UPDATE approval.requests
SET state = $2, decided_by = $3, decided_by_login = $4, decided_at = $5, comment = $6
WHERE id = $1 AND state = 'pending'
RETURNING *;

-- name: PendingForSubject :many
SELECT * FROM approval.requests
WHERE subject_type = $1 AND subject_id = $2 AND state = 'pending'
ORDER BY id DESC;

-- name: RequestsForSubject :many
SELECT * FROM approval.requests
WHERE subject_type = $1 AND subject_id = $2
ORDER BY id DESC
LIMIT 50;
