-- name: SeqsOfMembers :many
SELECT seq FROM marketing.members WHERE consumer_id = ANY(sqlc.arg(ids)::uuid[]);
