-- name: KeepOrderPaid :exec
-- A payment event: the order as the member's 360 shows it (a refund event may have
-- made the row first).
INSERT INTO consumer.member_orders (order_id, consumer_id, order_no, merchant_id, amount_fen, paid_at)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (order_id) DO UPDATE SET order_no = EXCLUDED.order_no, amount_fen = EXCLUDED.amount_fen, paid_at = EXCLUDED.paid_at;

-- name: KeepOrderRefunded :exec
-- A refund event: the order's refunded total so far (events in any order: the largest wins).
INSERT INTO consumer.member_orders (order_id, consumer_id, order_no, merchant_id, refunded_fen)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (order_id) DO UPDATE SET refunded_fen = GREATEST(consumer.member_orders.refunded_fen, EXCLUDED.refunded_fen);

-- name: MemberOrders :many
-- A member's orders, newest first, with the points each earned and the coupons' discount.
SELECT o.*,
    COALESCE((SELECT SUM(l.points) FROM consumer.points_lots l WHERE l.order_id = o.order_id AND l.kind = 'earn'), 0)::bigint AS points,
    COALESCE((SELECT SUM(c.discount_fen) FROM consumer.coupons c WHERE c.order_id = o.order_id), 0)::bigint AS discount_fen
FROM consumer.member_orders o WHERE o.consumer_id = $1
ORDER BY o.paid_at DESC NULLS LAST, o.order_id DESC LIMIT 50;

-- name: InsertAction :execrows
INSERT INTO consumer.member_actions (consumer_id, action, ref, points, at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT DO NOTHING;

-- name: ActionsToday :one
SELECT COUNT(*)::bigint FROM consumer.member_actions WHERE consumer_id = $1 AND action = $2 AND at >= sqlc.arg(day_start);

-- name: MemberReferrals :many
-- The members this member referred (each rewarded once), newest first.
SELECT a.ref, a.points, a.at, m.name, m.phone FROM consumer.member_actions a
LEFT JOIN consumer.members m ON m.id::text = a.ref
WHERE a.consumer_id = $1 AND a.action = 'referral' ORDER BY a.at DESC LIMIT 50;

-- name: ReferredBy :many
-- Who referred this member.
SELECT a.consumer_id, a.at, m.name, m.phone FROM consumer.member_actions a
JOIN consumer.members m ON m.id = a.consumer_id
WHERE a.action = 'referral' AND a.ref = sqlc.arg(invitee)::text LIMIT 1;
