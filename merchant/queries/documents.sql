-- name: InsertDocument :execrows
INSERT INTO merchant.onboarding_documents (id, lead_id, doc_key, storage_key, file_name, content_type, size_bytes, sha256, by_user, at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT ON CONSTRAINT onboarding_documents_same_file DO NOTHING;

-- name: GetDocumentBySum :one
SELECT * FROM merchant.onboarding_documents WHERE lead_id = $1 AND doc_key = $2 AND sha256 = $3;

-- name: RestoreDocument :one
UPDATE merchant.onboarding_documents SET removed_at = NULL WHERE id = $1 RETURNING *;

-- name: ListDocuments :many
SELECT * FROM merchant.onboarding_documents WHERE lead_id = $1 AND removed_at IS NULL ORDER BY doc_key, at, id;

-- name: GetDocument :one
SELECT * FROM merchant.onboarding_documents WHERE id = $1;

-- name: RemoveDocument :execrows
UPDATE merchant.onboarding_documents SET removed_at = $2 WHERE id = $1 AND removed_at IS NULL;

-- name: CountDocuments :one
SELECT count(*) FROM merchant.onboarding_documents WHERE lead_id = $1 AND doc_key = $2 AND removed_at IS NULL;
