-- name: InsertOrderLine :exec
INSERT INTO billing.order_lines (order_id, line_no, description, category, amount_fen) VALUES ($1, $2, $3, $4, $5);

-- name: OrderLines :many
SELECT * FROM billing.order_lines WHERE order_id = $1 ORDER BY line_no;

-- name: SetLineDiscount :exec
UPDATE billing.order_lines SET discount_fen = $3 WHERE order_id = $1 AND line_no = $2;

-- name: SetOrderDiscount :execrows
-- The coupons of an order not yet prepaid: the payable is the amount before
-- discounts less the new discount.
UPDATE billing.orders SET amount_fen = amount_fen + discount_fen - sqlc.arg(discount_fen)::bigint,
    discount_fen = sqlc.arg(discount_fen)::bigint, coupon_ids = sqlc.arg(coupon_ids)::uuid[]
WHERE id = sqlc.arg(id) AND state = 'created';
