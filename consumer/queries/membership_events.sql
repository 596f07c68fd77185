-- name: PointsBalancesOf :many
SELECT consumer_id, balance FROM consumer.points_balances WHERE consumer_id = ANY(sqlc.arg(consumers)::uuid[]);
