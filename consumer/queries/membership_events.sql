-- name: RedeemOrderCouponsReturning :many
-- RedeemOrderCoupons telling which coupons it redeemed, for their events.
UPDATE consumer.coupons SET state = 'redeemed', redeemed_at = $2 WHERE order_id = $1 AND state = 'reserved'
RETURNING id, batch_id, consumer_id;

-- name: PointsBalancesOf :many
SELECT consumer_id, balance FROM consumer.points_balances WHERE consumer_id = ANY(sqlc.arg(consumers)::uuid[]);
