-- name: MerchantsFacts :many
-- The category and place of a batch's merchants (the ones marketing has heard of).
SELECT merchant_id, category, COALESCE(lat, 0)::float8 AS lat, COALESCE(lng, 0)::float8 AS lng,
       (lat IS NOT NULL AND lng IS NOT NULL)::bool AS placed
FROM marketing.merchants WHERE merchant_id = ANY(sqlc.arg(merchant_ids)::uuid[]);

-- name: ApplyPayment :batchexec
-- A payment's facts in one statement, a batch's payments sent in one round trip (pgx
-- batch). The order is kept once (its id is the key: a payment told again, under any
-- event id, changes nothing but making sure its member exists). A new order counts toward its member (made when first seen, joined at the
-- event), places them in home_cell when it is their latest (an older order told late
-- does not; cell '' is a merchant with no place), starts an invitee's referral window,
-- counts in the member's category (category NULL: a merchant marketing has not heard
-- of) and logs the member's change for the indexes.
WITH ord AS (
    INSERT INTO marketing.orders (order_id, consumer_id, merchant_id, amount_fen, paid_at)
    VALUES (sqlc.arg(order_id), sqlc.arg(consumer_id), sqlc.arg(merchant_id), sqlc.arg(amount_fen)::bigint, sqlc.arg(paid_at)::timestamptz)
    ON CONFLICT DO NOTHING
    RETURNING order_id
), mem AS (
    INSERT INTO marketing.members AS m (consumer_id, joined_at, orders_count, spend_fen, first_order_at, last_order_at, home_cell)
    SELECT sqlc.arg(consumer_id), sqlc.arg(joined_at)::timestamptz, n.orders, n.orders * sqlc.arg(amount_fen)::bigint,
           CASE WHEN n.orders > 0 THEN sqlc.arg(paid_at)::timestamptz END, CASE WHEN n.orders > 0 THEN sqlc.arg(paid_at)::timestamptz END,
           CASE WHEN n.orders > 0 THEN sqlc.arg(cell)::text ELSE '' END
    FROM (SELECT count(*)::int AS orders FROM ord) n
    ON CONFLICT (consumer_id) DO UPDATE SET joined_at = LEAST(m.joined_at, excluded.joined_at),
        orders_count = m.orders_count + excluded.orders_count, spend_fen = m.spend_fen + excluded.spend_fen,
        first_order_at = LEAST(m.first_order_at, excluded.first_order_at),
        last_order_at = GREATEST(m.last_order_at, excluded.last_order_at),
        home_cell = CASE WHEN excluded.orders_count > 0 AND sqlc.arg(cell)::text <> ''
                          AND (m.last_order_at IS NULL OR m.last_order_at <= excluded.last_order_at)
                         THEN sqlc.arg(cell)::text ELSE m.home_cell END,
        updated_at = CASE WHEN excluded.orders_count > 0 THEN now() ELSE m.updated_at END
    RETURNING seq
), referral AS (
    UPDATE marketing.referrals SET first_order_id = sqlc.arg(order_id), first_paid_at = sqlc.arg(paid_at)::timestamptz
    WHERE invitee_id = sqlc.arg(consumer_id) AND state = 'pending' AND first_order_id IS NULL AND EXISTS (SELECT 1 FROM ord)
), category AS (
    INSERT INTO marketing.member_categories (consumer_id, seq, category, orders, last_order_at)
    SELECT sqlc.arg(consumer_id), mem.seq, sqlc.narg(category)::text, 1, sqlc.arg(paid_at)::timestamptz
    FROM mem, ord WHERE sqlc.narg(category)::text IS NOT NULL
    ON CONFLICT (consumer_id, category) DO UPDATE SET orders = marketing.member_categories.orders + 1,
        last_order_at = GREATEST(marketing.member_categories.last_order_at, excluded.last_order_at)
)
INSERT INTO marketing.member_changes (seq) SELECT mem.seq FROM mem, ord;
