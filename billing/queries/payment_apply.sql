-- name: ApplyPayment :execrows
-- A payment's writes in one statement (applyPayment decided them under the order's
-- row lock): the order moves from from_state to paid at the rate in force that day,
-- its transition, the payment, its journal entry with the postings (one INSERT) and
-- the events.TopicPaymentSucceeded outbox event (platform.publish). It changes one
-- row (the event's) or fails: an order that left from_state leaves the transition's
-- order_id NULL (a not-null violation), a second entry for the payment is a unique
-- violation. So nothing is half written, even when COMMIT follows in the same
-- round trip without waiting for this answer.
WITH paid AS (
    UPDATE billing.orders o SET state = 'paid', paid_at = sqlc.arg(paid_at), commission_rate = sqlc.arg(commission_rate)
    WHERE o.id = sqlc.arg(order_id) AND o.state = sqlc.arg(from_state)
    RETURNING o.id
), moved AS (
    INSERT INTO billing.order_transitions (id, order_id, from_state, to_state, cause, at)
    VALUES (sqlc.arg(transition_id), (SELECT id FROM paid), sqlc.arg(from_state), 'paid', sqlc.arg(source), sqlc.arg(recorded_at))
), payment AS (
    INSERT INTO billing.payments (id, order_id, transaction_id, mchid, amount_fen, payer_total_fen, trade_type,
        payer_openid, success_time, source, recorded_at)
    VALUES (sqlc.arg(payment_id), (SELECT id FROM paid), sqlc.arg(transaction_id), sqlc.arg(mchid), sqlc.arg(amount_fen),
        sqlc.arg(payer_total_fen), sqlc.arg(trade_type), sqlc.arg(payer_openid), sqlc.arg(paid_at), sqlc.arg(source),
        sqlc.arg(recorded_at))
), entry AS (
    INSERT INTO billing.journal_entries (id, order_id, merchant_id, kind, source_key, memo, created_at, at,
        clearing_fen, payable_fen, commission_fen)
    VALUES (sqlc.arg(entry_id), (SELECT id FROM paid), sqlc.arg(merchant_id), 'payment', sqlc.arg(source_key),
        sqlc.arg(memo), sqlc.arg(recorded_at), sqlc.arg(paid_at), sqlc.arg(clearing_fen), sqlc.arg(payable_fen),
        sqlc.arg(commission_fen))
    RETURNING id
), postings AS (
    INSERT INTO billing.postings (id, entry_id, account, merchant_id, amount_fen, currency)
    SELECT p.id, (SELECT id FROM entry), p.account, sqlc.arg(merchant_id), p.amount_fen, sqlc.arg(currency)
    FROM (SELECT unnest(sqlc.arg(posting_ids)::uuid[]) AS id, unnest(sqlc.arg(accounts)::text[]) AS account,
                 unnest(sqlc.arg(amounts)::bigint[]) AS amount_fen) AS p
)
SELECT platform.publish(sqlc.arg(topic)::text, sqlc.arg(aggregate_key)::text, sqlc.arg(payload)::jsonb,
    sqlc.arg(request_id)::text, sqlc.arg(event_id)::uuid)
FROM paid;
