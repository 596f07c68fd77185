-- name: LockBalances :many
-- Members' balance rows locked at once, in consumer-id order: the order every writer of
-- points takes them, so two writers never wait on each other crosswise (a merge's two
-- members, a batch of payments' members). A consumer with no row is no member.
SELECT consumer_id FROM consumer.points_balances WHERE consumer_id = ANY(sqlc.arg(consumer_ids)::uuid[])
ORDER BY consumer_id FOR UPDATE;

-- name: MemberTiersOf :many
SELECT * FROM consumer.member_tiers WHERE consumer_id = ANY(sqlc.arg(consumer_ids)::uuid[]);

-- name: CreditEarnLots :one
-- A batch of payments' credits in one statement, for a program that holds earned points
-- for its refund window (pending_days > 0; held says it does, and nothing is written
-- when it does not): per payment the entry once per source key and its pending lot, as
-- CreditLot makes them, and per member the pending points in one update. The members'
-- balance rows are locked by the caller (LockBalances) and every consumer given is one.
-- A pending credit moves no tier metric and publishes no balance event (the balance is
-- unchanged), so the batch's order within a member changes nothing.
WITH prog AS (
    SELECT p.expiry_months, p.expiry_rounding, p.pending_days
    FROM consumer.points_program p WHERE p.pending_days > 0
), input AS (
    SELECT unnest(sqlc.arg(consumer_ids)::uuid[]) AS consumer_id, unnest(sqlc.arg(entry_ids)::uuid[]) AS entry_id,
           unnest(sqlc.arg(lot_ids)::uuid[]) AS lot_id, unnest(sqlc.arg(points)::int[]) AS points,
           unnest(sqlc.arg(source_keys)::text[]) AS source_key, unnest(sqlc.arg(order_ids)::uuid[]) AS order_id,
           unnest(sqlc.arg(growths)::bigint[]) AS growth
), entry AS (
    INSERT INTO consumer.points_entries (id, consumer_id, delta, kind, source_key, order_id, created_at, reason)
    SELECT i.entry_id, i.consumer_id, i.points, 'earn', i.source_key, i.order_id, sqlc.arg(at), ''
    FROM input i, prog
    ON CONFLICT (source_key) DO NOTHING
    RETURNING id
), lot AS (
    INSERT INTO consumer.points_lots (id, consumer_id, source_key, kind, order_id, state, points, remaining,
        earned_at, available_at, expires_at, growth)
    SELECT i.lot_id, i.consumer_id, i.source_key, 'earn', i.order_id, 'pending', i.points, i.points, sqlc.arg(at),
           sqlc.arg(at) + make_interval(days => prog.pending_days),
           CASE WHEN prog.expiry_rounding = 'month'
                THEN (date_trunc('month', sqlc.arg(at) AT TIME ZONE 'Asia/Shanghai') + make_interval(months => prog.expiry_months + 1))
                     AT TIME ZONE 'Asia/Shanghai'
                ELSE (date_trunc('day', sqlc.arg(at) AT TIME ZONE 'Asia/Shanghai') + make_interval(months => prog.expiry_months)
                      + interval '1 day') AT TIME ZONE 'Asia/Shanghai' END,
           i.growth
    FROM input i JOIN entry e ON e.id = i.entry_id, prog
    WHERE i.points > 0
    RETURNING consumer_id, points
), moved AS (
    UPDATE consumer.points_balances b SET pending = b.pending + l.points, updated_at = sqlc.arg(at)
    FROM (SELECT consumer_id, SUM(points)::int AS points FROM lot GROUP BY consumer_id) l
    WHERE b.consumer_id = l.consumer_id
    RETURNING b.consumer_id
)
SELECT EXISTS (SELECT 1 FROM prog) AS held, (SELECT count(*) FROM entry)::int AS credited,
       (SELECT count(*) FROM moved)::int AS members;
