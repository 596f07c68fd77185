-- name: InsertCouponTemplate :exec
INSERT INTO consumer.coupon_templates (id, name, kind, amount_fen, percent, cap_fen, threshold_fen, valid_days,
    valid_from, valid_to, merchant_ids, categories, stackable, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14);

-- name: ListCouponTemplates :many
SELECT * FROM consumer.coupon_templates ORDER BY created_at DESC LIMIT 200;

-- name: GetCouponTemplate :one
SELECT * FROM consumer.coupon_templates WHERE id = $1;

-- name: InsertCouponBatch :exec
INSERT INTO consumer.coupon_batches (id, template_id, name, stock, per_member, per_day, claimable, created_at, budget_fen)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9);

-- name: ListCouponBatches :many
SELECT b.*, t.name AS template_name,
       (SELECT COUNT(*) FROM consumer.coupons c WHERE c.batch_id = b.id AND c.state = 'redeemed')::bigint AS redeemed,
       (SELECT COUNT(*) FROM consumer.coupons c WHERE c.batch_id = b.id AND c.state = 'reserved')::bigint AS reserved
FROM consumer.coupon_batches b JOIN consumer.coupon_templates t ON t.id = b.template_id
ORDER BY b.created_at DESC LIMIT 200;

-- name: GetCouponBatch :one
SELECT * FROM consumer.coupon_batches WHERE id = $1;

-- name: TakeCouponStock :execrows
-- One coupon of stock and its face value of the budget, or none left: the guard
-- against over-issuing.
UPDATE consumer.coupon_batches SET issued = issued + 1, committed_fen = committed_fen + sqlc.arg(face_fen)
WHERE id = sqlc.arg(id) AND issued < stock AND (budget_fen = 0 OR committed_fen + sqlc.arg(face_fen) <= budget_fen);

-- name: MemberBatchCoupons :one
SELECT COUNT(*)::bigint AS total, COUNT(*) FILTER (WHERE issued_at >= sqlc.arg(day_start))::bigint AS today
FROM consumer.coupons WHERE batch_id = sqlc.arg(batch_id) AND consumer_id = sqlc.arg(consumer_id);

-- name: InsertCoupon :execrows
INSERT INTO consumer.coupons (id, batch_id, template_id, consumer_id, source, source_key, state, valid_from, valid_to, issued_at)
VALUES ($1, $2, $3, $4, $5, $6, 'available', $7, $8, $9)
ON CONFLICT (source_key) DO NOTHING;

-- name: GetCouponByKey :one
SELECT * FROM consumer.coupons WHERE source_key = $1;

-- name: MemberCoupons :many
SELECT c.*, t.name, t.kind, t.amount_fen, t.percent, t.cap_fen, t.threshold_fen, t.stackable
FROM consumer.coupons c JOIN consumer.coupon_templates t ON t.id = c.template_id
WHERE c.consumer_id = $1 ORDER BY c.issued_at DESC LIMIT 200;

-- name: GetCouponForUpdate :one
SELECT c.*, t.kind, t.amount_fen, t.percent, t.cap_fen, t.threshold_fen, t.merchant_ids, t.categories, t.stackable
FROM consumer.coupons c JOIN consumer.coupon_templates t ON t.id = c.template_id
WHERE c.id = $1 FOR UPDATE OF c;

-- name: OrderCoupons :many
SELECT c.*, t.stackable FROM consumer.coupons c JOIN consumer.coupon_templates t ON t.id = c.template_id
WHERE c.order_id = $1 ORDER BY c.reserved_at, c.id FOR UPDATE OF c;

-- name: ReserveCoupon :execrows
UPDATE consumer.coupons SET state = 'reserved', order_id = $2, discount_fen = $3, reserved_at = $4
WHERE id = $1 AND state = 'available';

-- name: ReleaseOrderCoupons :execrows
UPDATE consumer.coupons SET state = 'available', order_id = NULL, discount_fen = 0, reserved_at = NULL
WHERE order_id = $1 AND state = 'reserved';

-- name: RedeemOrderCoupons :execrows
UPDATE consumer.coupons SET state = 'redeemed', redeemed_at = $2 WHERE order_id = $1 AND state = 'reserved';

-- name: ReturnOrderCoupons :execrows
-- A full refund gives back the order's coupons that are still valid.
UPDATE consumer.coupons SET state = 'available', order_id = NULL, discount_fen = 0, reserved_at = NULL, redeemed_at = NULL
WHERE order_id = $1 AND state = 'redeemed' AND valid_to > $2;

-- name: ClaimableCouponBatches :many
-- The batches a consumer may claim now: claimable, with stock and budget left, of a
-- template still valid, with how many of each the consumer holds (in all and today).
SELECT b.id, b.name, b.stock, b.issued, b.per_member, b.per_day, sqlc.embed(t),
       (SELECT COUNT(*) FROM consumer.coupons c WHERE c.batch_id = b.id AND c.consumer_id = sqlc.arg(consumer_id))::bigint AS mine,
       (SELECT COUNT(*) FROM consumer.coupons c WHERE c.batch_id = b.id AND c.consumer_id = sqlc.arg(consumer_id)
           AND c.issued_at >= sqlc.arg(day_start))::bigint AS mine_today
FROM consumer.coupon_batches b JOIN consumer.coupon_templates t ON t.id = b.template_id
WHERE b.claimable AND b.issued < b.stock
  AND (t.valid_days > 0 OR t.valid_to > sqlc.arg(now))
  AND (b.budget_fen = 0 OR b.committed_fen + CASE WHEN t.kind = 'percent' THEN t.cap_fen ELSE t.amount_fen END <= b.budget_fen)
ORDER BY b.created_at DESC, b.id LIMIT 100;
