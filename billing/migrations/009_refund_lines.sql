-- Refund by line (issues 13 and 14): a refund names the order lines it gives back and
-- how much of each, so the member's points and a line's coupon discount come back for
-- exactly what was refunded. A line's refunds (those not rejected or closed) never add
-- up to more than what was paid for it (amount_fen - discount_fen); the order's lock
-- serialises the check (billing/refund_lines.go).
CREATE TABLE billing.refund_lines (
    refund_id   uuid NOT NULL REFERENCES billing.refunds (id),
    order_id    uuid NOT NULL,
    line_no     integer NOT NULL,
    amount_fen  bigint NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (refund_id, line_no),
    FOREIGN KEY (order_id, line_no) REFERENCES billing.order_lines (order_id, line_no)
);
CREATE INDEX refund_lines_order ON billing.refund_lines (order_id, line_no);

-- Orders placed before orders had lines, and refunded, get their one line.
INSERT INTO billing.order_lines (order_id, line_no, description, amount_fen, discount_fen)
SELECT o.id, 1, o.description, o.amount_fen + o.discount_fen, o.discount_fen
FROM billing.orders o
WHERE EXISTS (SELECT 1 FROM billing.refunds r WHERE r.order_id = o.id)
  AND NOT EXISTS (SELECT 1 FROM billing.order_lines l WHERE l.order_id = o.id);

-- Refunds made before this migration are spread over their order's lines in line
-- order, oldest refund first (each line filled before the next).
WITH r AS (
    SELECT id, order_id, amount_fen,
           SUM(amount_fen) OVER (PARTITION BY order_id ORDER BY created_at, id) - amount_fen AS r_from
    FROM billing.refunds
    WHERE state IN ('pending_approval', 'requested', 'processing', 'succeeded', 'abnormal')
), l AS (
    SELECT order_id, line_no, amount_fen - discount_fen AS paid,
           SUM(amount_fen - discount_fen) OVER (PARTITION BY order_id ORDER BY line_no) - (amount_fen - discount_fen) AS l_from
    FROM billing.order_lines
)
INSERT INTO billing.refund_lines (refund_id, order_id, line_no, amount_fen)
SELECT r.id, r.order_id, l.line_no, LEAST(r.r_from + r.amount_fen, l.l_from + l.paid) - GREATEST(r.r_from, l.l_from)
FROM r JOIN l USING (order_id)
WHERE LEAST(r.r_from + r.amount_fen, l.l_from + l.paid) > GREATEST(r.r_from, l.l_from);

---- create above / drop below ----
DROP TABLE billing.refund_lines;
