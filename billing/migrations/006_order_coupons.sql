-- Coupons applied at prepay. An order's amount_fen is what the consumer pays (WeChat
-- Pay's total): the amount before discounts less discount_fen, which the coupons
-- (coupon_ids, held by the consumer domain) take off. The discount is shared among
-- the order's lines, so that refunding a line gives back what was paid for it. A
-- payable of 0.00 is paid at once, with no WeChat Pay transaction.
ALTER TABLE billing.orders ADD COLUMN discount_fen bigint NOT NULL DEFAULT 0 CONSTRAINT orders_discount_fen_check CHECK (discount_fen >= 0);
ALTER TABLE billing.orders ADD COLUMN coupon_ids uuid[] NOT NULL DEFAULT '{}';
ALTER TABLE billing.orders DROP CONSTRAINT orders_amount_fen_check;
ALTER TABLE billing.orders ADD CONSTRAINT orders_amount_fen_check CHECK (amount_fen >= 0 AND amount_fen + discount_fen > 0);

CREATE TABLE billing.order_lines (
    order_id      uuid NOT NULL REFERENCES billing.orders (id),
    line_no       integer NOT NULL CHECK (line_no >= 1),
    description   text NOT NULL,
    category      text NOT NULL DEFAULT '',
    amount_fen    bigint NOT NULL CHECK (amount_fen > 0),                                  -- before discounts
    discount_fen  bigint NOT NULL DEFAULT 0 CHECK (discount_fen >= 0 AND discount_fen <= amount_fen),
    PRIMARY KEY (order_id, line_no)
);

---- create above / drop below ----
DROP TABLE billing.order_lines;
ALTER TABLE billing.orders DROP CONSTRAINT orders_amount_fen_check;
ALTER TABLE billing.orders ADD CONSTRAINT orders_amount_fen_check CHECK (amount_fen > 0);
ALTER TABLE billing.orders DROP COLUMN coupon_ids;
ALTER TABLE billing.orders DROP COLUMN discount_fen;
