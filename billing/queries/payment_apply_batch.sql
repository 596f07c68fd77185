-- name: ApplyPayments :execrows
-- Payments' writes in one statement, for one payment (applyPayment decided it under
-- the order's row lock) or many (a group commit of notifications): each element of
-- the arrays is one payment: its order moves from from_state to paid at the rate in
-- force that day, its transition, the payment, its journal entry with the postings
-- and the events.TopicPaymentSucceeded outbox event (platform.publish); the
-- postings come flattened, each with its entry's id; the notifications log rows for
-- the payments go with them. It changes one row per payment (its event's) or fails:
-- an order that left its from_state leaves its transition's order_id NULL (a
-- not-null violation), a second entry for a payment is a unique violation. So nothing
-- is half written, even when COMMIT follows in the same round trip.
WITH p AS (
    SELECT unnest(sqlc.arg(order_ids)::uuid[]) AS order_id,
        unnest(sqlc.arg(from_states)::text[]) AS from_state,
        unnest(sqlc.arg(paid_ats)::timestamptz[]) AS paid_at,
        unnest(sqlc.arg(commission_rates)::numeric[]) AS commission_rate,
        unnest(sqlc.arg(transition_ids)::uuid[]) AS transition_id,
        unnest(sqlc.arg(payment_ids)::uuid[]) AS payment_id,
        unnest(sqlc.arg(transaction_ids)::text[]) AS transaction_id,
        unnest(sqlc.arg(mchids)::text[]) AS mchid,
        unnest(sqlc.arg(amount_fens)::bigint[]) AS amount_fen,
        unnest(sqlc.arg(payer_total_fens)::bigint[]) AS payer_total_fen,
        unnest(sqlc.arg(trade_types)::text[]) AS trade_type,
        unnest(sqlc.arg(payer_openids)::text[]) AS payer_openid,
        unnest(sqlc.arg(entry_ids)::uuid[]) AS entry_id,
        unnest(sqlc.arg(merchant_ids)::uuid[]) AS merchant_id,
        unnest(sqlc.arg(source_keys)::text[]) AS source_key,
        unnest(sqlc.arg(memos)::text[]) AS memo,
        unnest(sqlc.arg(currencies)::text[]) AS currency,
        unnest(sqlc.arg(clearing_fens)::bigint[]) AS clearing_fen,
        unnest(sqlc.arg(payable_fens)::bigint[]) AS payable_fen,
        unnest(sqlc.arg(commission_fens)::bigint[]) AS commission_fen,
        unnest(sqlc.arg(aggregate_keys)::text[]) AS aggregate_key,
        unnest(sqlc.arg(payloads)::text[]) AS payload,
        unnest(sqlc.arg(request_ids)::text[]) AS request_id,
        unnest(sqlc.arg(event_ids)::uuid[]) AS event_id
), paid AS (
    UPDATE billing.orders o SET state = 'paid', paid_at = p.paid_at, commission_rate = p.commission_rate
    FROM p WHERE o.id = p.order_id AND o.state = p.from_state
    RETURNING o.id
), moved AS (
    INSERT INTO billing.order_transitions (id, order_id, from_state, to_state, cause, at)
    SELECT p.transition_id, paid.id, p.from_state, 'paid', sqlc.arg(source), sqlc.arg(recorded_at)
    FROM p LEFT JOIN paid ON paid.id = p.order_id
), payment AS (
    INSERT INTO billing.payments (id, order_id, transaction_id, mchid, amount_fen, payer_total_fen, trade_type,
        payer_openid, success_time, source, recorded_at)
    SELECT p.payment_id, paid.id, p.transaction_id, p.mchid, p.amount_fen, p.payer_total_fen, p.trade_type,
        p.payer_openid, p.paid_at, sqlc.arg(source), sqlc.arg(recorded_at)
    FROM p LEFT JOIN paid ON paid.id = p.order_id
), entry AS (
    INSERT INTO billing.journal_entries (id, order_id, merchant_id, kind, source_key, memo, created_at, at,
        clearing_fen, payable_fen, commission_fen)
    SELECT p.entry_id, paid.id, p.merchant_id, 'payment', p.source_key, p.memo, sqlc.arg(recorded_at), p.paid_at,
        p.clearing_fen, p.payable_fen, p.commission_fen
    FROM p LEFT JOIN paid ON paid.id = p.order_id
    RETURNING id
), postings AS (
    INSERT INTO billing.postings (id, entry_id, account, merchant_id, amount_fen, currency)
    SELECT x.id, entry.id, x.account, p.merchant_id, x.amount_fen, p.currency
    FROM (SELECT unnest(sqlc.arg(posting_ids)::uuid[]) AS id, unnest(sqlc.arg(posting_entry_ids)::uuid[]) AS entry_id,
                 unnest(sqlc.arg(accounts)::text[]) AS account, unnest(sqlc.arg(amounts)::bigint[]) AS amount_fen) AS x
    JOIN p ON p.entry_id = x.entry_id
    LEFT JOIN entry ON entry.id = x.entry_id
), logged AS (
    INSERT INTO billing.notifications_log (id, notification_id, event_type, verified, outcome, out_trade_no, received_at)
    SELECT l.id, l.notification_id, l.event_type, true, 'applied', l.out_trade_no, sqlc.arg(recorded_at)
    FROM (SELECT unnest(sqlc.arg(log_ids)::uuid[]) AS id, unnest(sqlc.arg(notification_ids)::text[]) AS notification_id,
                 unnest(sqlc.arg(event_types)::text[]) AS event_type, unnest(sqlc.arg(out_trade_nos)::text[]) AS out_trade_no) AS l
)
SELECT platform.publish(sqlc.arg(topic)::text, p.aggregate_key, p.payload::jsonb, p.request_id, p.event_id)
FROM p JOIN paid ON paid.id = p.order_id;
