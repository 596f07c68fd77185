-- name: GetProgram :one
SELECT * FROM consumer.points_program;

-- name: UpdateProgram :one
UPDATE consumer.points_program SET points_per_yuan = $1, expiry_months = $2, expiry_rounding = $3,
    pending_days = $4, remind_days = $5, updated_at = $6, signup_points = $7, referral_points = $8,
    review_points = $9, reviews_per_day = $10, adjust_limit = $11
RETURNING *;

-- name: LockPoints :one
SELECT balance, pending, earned_total FROM consumer.points_balances WHERE consumer_id = $1 FOR UPDATE;

-- name: MovePoints :one
-- Moves the projection by the deltas of one change; the CHECKs refuse a negative result.
UPDATE consumer.points_balances SET balance = balance + sqlc.arg(balance)::bigint,
    pending = pending + sqlc.arg(pending)::bigint, earned_total = earned_total + sqlc.arg(earned)::bigint,
    updated_at = sqlc.arg(at)
WHERE consumer_id = sqlc.arg(consumer_id) RETURNING balance, pending, earned_total;

-- name: InsertLedgerEntry :execrows
-- Writes the entry once per source_key; 0 rows when it exists already.
INSERT INTO consumer.points_entries (id, consumer_id, delta, kind, source_key, order_id, created_at, forgiven, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (source_key) DO NOTHING;

-- name: InsertLot :exec
INSERT INTO consumer.points_lots (id, consumer_id, source_key, kind, order_id, state, points, remaining,
    earned_at, available_at, expires_at, growth)
VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11);

-- name: SpendableLots :many
-- The member's spendable lots in draw order, soonest-expiring first, locked. The
-- caller holds the member's balance row, so the set cannot change underneath.
SELECT id, remaining, expires_at FROM consumer.points_lots
WHERE consumer_id = sqlc.arg(consumer_id) AND state = 'active' AND remaining > 0 AND expires_at > sqlc.arg(now)
  AND id <> sqlc.arg(skip_lot)::uuid
ORDER BY expires_at, id
FOR UPDATE;

-- name: DrawLots :exec
-- A debit's draws in one statement: each lot gives its part, each part is recorded.
WITH x AS (SELECT unnest(sqlc.arg(lots)::uuid[]) AS lot_id, unnest(sqlc.arg(points)::int[]) AS p),
upd AS (
    UPDATE consumer.points_lots l SET remaining = l.remaining - x.p, spent = l.spent + x.p
    FROM x WHERE l.id = x.lot_id RETURNING l.id)
INSERT INTO consumer.points_draws (debit_id, lot_id, points)
SELECT sqlc.arg(debit_id)::uuid, x.lot_id, x.p FROM x JOIN upd ON upd.id = x.lot_id;

-- name: InsertDebit :exec
INSERT INTO consumer.points_debits (id, consumer_id, source_key, kind, order_id, points, reason, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8);


-- name: OrderLot :one
-- The lot an order's payment earned, locked.
SELECT * FROM consumer.points_lots WHERE source_key = $1 FOR UPDATE;

-- name: ReverseLot :exec
UPDATE consumer.points_lots SET remaining = remaining - sqlc.arg(points)::int, reversed = reversed + sqlc.arg(points)::int
WHERE id = sqlc.arg(id);

-- name: OrderReversals :one
-- What an order's refunds have reversed (taken and forgiven) so far.
SELECT COALESCE(SUM(-delta + forgiven), 0)::bigint AS reversed, COUNT(*)::bigint AS n
FROM consumer.points_entries WHERE order_id = $1 AND kind = 'reverse';

-- name: OrderEarnEntry :one
SELECT delta FROM consumer.points_entries WHERE source_key = $1;

-- name: OrderRedemptions :many
-- The order's redemptions and what has come back of them, locked.
SELECT * FROM consumer.points_debits WHERE order_id = $1 AND kind = 'redeem' ORDER BY id FOR UPDATE;

-- name: DebitDraws :many
-- A debit's lots, latest-expiring first: a refund gives back the longest-lived points first.
SELECT d.lot_id, d.points, d.returned, l.expires_at FROM consumer.points_draws d
JOIN consumer.points_lots l ON l.id = d.lot_id
WHERE d.debit_id = $1 ORDER BY l.expires_at DESC, l.id DESC;

-- name: ReturnToLot :exec
UPDATE consumer.points_lots SET remaining = remaining + sqlc.arg(points)::int, spent = spent - sqlc.arg(points)::int
WHERE id = sqlc.arg(id);

-- name: MarkDrawReturned :exec
UPDATE consumer.points_draws SET returned = returned + sqlc.arg(points)::int
WHERE debit_id = sqlc.arg(debit_id) AND lot_id = sqlc.arg(lot_id);

-- name: MarkDebitReturned :exec
UPDATE consumer.points_debits SET returned = returned + sqlc.arg(points)::int WHERE id = sqlc.arg(id);

-- name: MoveBatch :exec
UPDATE consumer.points_balances b SET balance = b.balance + x.a, pending = b.pending + x.p,
    earned_total = b.earned_total + x.e, updated_at = sqlc.arg(at)
FROM (SELECT unnest(sqlc.arg(consumers)::uuid[]) AS c, unnest(sqlc.arg(balance)::bigint[]) AS a,
      unnest(sqlc.arg(pending)::bigint[]) AS p, unnest(sqlc.arg(earned)::bigint[]) AS e) AS x
WHERE b.consumer_id = x.c;

-- name: ReleasableConsumers :many
-- A batch of members with pending lots past their refund window, balance rows locked.
SELECT b.consumer_id FROM consumer.points_balances b
WHERE b.consumer_id IN (
    SELECT DISTINCT l.consumer_id FROM consumer.points_lots l
    WHERE l.state = 'pending' AND l.available_at <= sqlc.arg(now) AND l.consumer_id > sqlc.arg(after)::uuid
    ORDER BY l.consumer_id LIMIT sqlc.arg(lim))
ORDER BY b.consumer_id
FOR UPDATE OF b;

-- name: ReleaseLots :many
-- Makes the locked members' pending lots past their window spendable; per member, what
-- moves from pending to the balance and what now counts toward tiers.
WITH upd AS (
    UPDATE consumer.points_lots SET state = 'active'
    WHERE consumer_id = ANY(sqlc.arg(consumers)::uuid[]) AND state = 'pending' AND available_at <= sqlc.arg(now)
    RETURNING consumer_id, remaining, CASE WHEN kind = 'earn' THEN points - reversed ELSE 0 END AS counted, growth
)
SELECT consumer_id, SUM(remaining)::bigint AS remaining, SUM(counted)::bigint AS counted, SUM(growth)::bigint AS growth
FROM upd GROUP BY consumer_id ORDER BY consumer_id;

-- name: GetDebitByKey :one
SELECT * FROM consumer.points_debits WHERE source_key = $1;

-- name: MemberLots :many
-- A member's lots that still hold points or are pending, soonest-expiring first.
SELECT * FROM consumer.points_lots WHERE consumer_id = $1 AND (remaining > 0 OR state = 'pending')
ORDER BY expires_at, id LIMIT 200;

-- name: LiabilityTotals :one
SELECT COALESCE(SUM(balance), 0)::bigint AS balance, COALESCE(SUM(pending), 0)::bigint AS pending,
       COUNT(*) FILTER (WHERE balance + pending > 0)::bigint AS members
FROM consumer.points_balances;

-- name: LiabilityByMonth :many
-- Outstanding points by the month (Asia/Shanghai) of their lots' last day.
SELECT to_char((expires_at - interval '1 second') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')::text AS month,
       SUM(remaining)::bigint AS points, COUNT(DISTINCT consumer_id)::bigint AS members
FROM consumer.points_lots WHERE remaining > 0
GROUP BY 1 ORDER BY 1 LIMIT 36;

-- name: ForgivenTotal :one
SELECT COALESCE(SUM(forgiven), 0)::bigint AS forgiven, COUNT(*) FILTER (WHERE forgiven > 0)::bigint AS refunds
FROM consumer.points_entries WHERE kind = 'reverse';

-- name: MarkReminders :many
-- Lots expiring within the reminder window that no reminder has named yet, marked now;
-- per member, what expires and its first last day. Each lot is named once.
WITH due AS (
    UPDATE consumer.points_lots SET reminded_at = sqlc.arg(now)
    WHERE state = 'active' AND remaining > 0 AND reminded_at IS NULL
      AND expires_at > sqlc.arg(now) AND expires_at <= sqlc.arg(horizon)
    RETURNING consumer_id, remaining, expires_at
)
SELECT consumer_id, SUM(remaining)::bigint AS points, MIN(expires_at)::timestamptz AS first_expiry
FROM due GROUP BY consumer_id ORDER BY consumer_id;

-- name: CreditLot :one
-- A credit in one statement (one round trip; durable at its commit): the entry once
-- per source key, its lot (pending for the program's refund window when asked; its
-- expiry by the program's rule, as Program.ExpiresAt), the member's projection, the
-- tier metric when it counts, and the balance event (the payload Go rendered, with the
-- new balance). Nothing is written unless the member exists and, for a credit that
-- counts now, has a tier row (memberTier makes it; the caller then runs it again).
-- upgrade says the metric reached a tier above the member's: the caller recomputes.
-- LIMIT 1 (the program is one row) lets the planner count one row whatever the
-- program table's statistics (a one-row table is never analysed by autovacuum, and
-- unanalysed it is taken for 770 rows): with that estimate the generic plan costs what
-- the custom plans do, so PostgreSQL plans the statement once per connection instead
-- of at every call (planning was a fifth of the backends' CPU in bench loyalty).
WITH prog AS (
    SELECT p.expiry_months, p.expiry_rounding, p.pending_days,
           (sqlc.arg(pending)::bool AND p.pending_days > 0) AS held
    FROM consumer.points_program p LIMIT 1
), gate AS (
    SELECT EXISTS (SELECT 1 FROM consumer.points_balances pb WHERE pb.consumer_id = sqlc.arg(consumer_id)) AS member,
           NOT EXISTS (SELECT 1 WHERE sqlc.arg(counts)::bool AND NOT prog.held
               AND NOT EXISTS (SELECT 1 FROM consumer.member_tiers mt WHERE mt.consumer_id = sqlc.arg(consumer_id))) AS tier_ready
    FROM prog
), entry AS (
    INSERT INTO consumer.points_entries (id, consumer_id, delta, kind, source_key, order_id, created_at, reason)
    SELECT sqlc.arg(entry_id), sqlc.arg(consumer_id), sqlc.arg(points)::int, sqlc.arg(entry_kind)::text,
           sqlc.arg(source_key)::text, sqlc.narg(order_id)::uuid, sqlc.arg(at), sqlc.arg(reason)::text
    FROM gate WHERE gate.member AND gate.tier_ready
    ON CONFLICT (source_key) DO NOTHING
    RETURNING id
), lot AS (
    INSERT INTO consumer.points_lots (id, consumer_id, source_key, kind, order_id, state, points, remaining,
        earned_at, available_at, expires_at, growth)
    SELECT sqlc.arg(lot_id), sqlc.arg(consumer_id), sqlc.arg(source_key)::text, sqlc.arg(lot_kind)::text, sqlc.narg(order_id)::uuid,
           CASE WHEN prog.held THEN 'pending' ELSE 'active' END, sqlc.arg(points)::int, sqlc.arg(points)::int, sqlc.arg(at),
           CASE WHEN prog.held THEN sqlc.arg(at) + make_interval(days => prog.pending_days) ELSE sqlc.arg(at) END,
           CASE WHEN prog.expiry_rounding = 'month'
                THEN (date_trunc('month', sqlc.arg(at) AT TIME ZONE 'Asia/Shanghai') + make_interval(months => prog.expiry_months + 1))
                     AT TIME ZONE 'Asia/Shanghai'
                ELSE (date_trunc('day', sqlc.arg(at) AT TIME ZONE 'Asia/Shanghai') + make_interval(months => prog.expiry_months)
                      + interval '1 day') AT TIME ZONE 'Asia/Shanghai' END,
           sqlc.arg(growth)::bigint
    FROM entry, prog WHERE sqlc.arg(points)::int > 0
    RETURNING state
), moved AS (
    UPDATE consumer.points_balances b
    SET balance = b.balance + CASE WHEN lot.state = 'active' THEN sqlc.arg(points)::int ELSE 0 END,
        pending = b.pending + CASE WHEN lot.state = 'pending' THEN sqlc.arg(points)::int ELSE 0 END,
        earned_total = b.earned_total + CASE WHEN lot.state = 'active' AND sqlc.arg(counts)::bool THEN sqlc.arg(points)::int ELSE 0 END,
        updated_at = sqlc.arg(at)
    FROM lot WHERE b.consumer_id = sqlc.arg(consumer_id)
    RETURNING b.balance, lot.state
), event AS MATERIALIZED ( -- read by the final FROM: a CTE that only selects runs when read
    SELECT platform.publish(sqlc.arg(topic)::text, sqlc.arg(consumer_id)::text,
           sqlc.arg(payload)::jsonb || jsonb_build_object('balance', moved.balance), sqlc.arg(request_id)::text,
           sqlc.arg(event_id)::uuid) AS event_id
    FROM moved WHERE moved.state = 'active'
), metric AS (
    UPDATE consumer.member_tiers t
    SET period_growth = GREATEST(t.period_growth + sqlc.arg(growth)::bigint, 0),
        period_points = GREATEST(t.period_points + sqlc.arg(points)::int, 0), updated_at = sqlc.arg(at)
    FROM moved WHERE t.consumer_id = sqlc.arg(consumer_id) AND moved.state = 'active' AND sqlc.arg(counts)::bool
    RETURNING t.level, CASE WHEN (SELECT metric FROM consumer.tier_program) = 'points' THEN t.period_points ELSE t.period_growth END AS value
)
SELECT gate.member, gate.tier_ready, EXISTS (SELECT 1 FROM entry) AS credited,
       COALESCE((SELECT m.state = 'active' FROM moved m), false)::bool AS published,
       EXISTS (SELECT 1 FROM metric, consumer.tiers tr WHERE tr.level > metric.level AND tr.threshold <= metric.value) AS upgrade
FROM gate LEFT JOIN event ON true;

-- name: RedeemLots :one
-- A redemption in one statement (one round trip; durable at its commit): the member's
-- points row locked first (as every writer of their lots does), then their spendable
-- lots, soonest-expiring first; when they hold the points and the key is new, the
-- debit, its draws, the lots, the entry, the balance and the balance event are written.
-- Otherwise nothing is: spendable says what there was, repeated that the key was used.
WITH bal AS (
    SELECT pb.consumer_id FROM consumer.points_balances pb WHERE pb.consumer_id = sqlc.arg(consumer_id) FOR UPDATE
), lots AS (
    SELECT l.id, l.remaining, l.expires_at FROM consumer.points_lots l
    WHERE l.consumer_id = (SELECT consumer_id FROM bal) AND l.state = 'active' AND l.remaining > 0
      AND l.expires_at > sqlc.arg(at)
    ORDER BY l.expires_at, l.id
    FOR UPDATE OF l
), plan AS (
    SELECT id, expires_at, LEAST(remaining, sqlc.arg(points)::int - (cum - remaining))::int AS take
    FROM (SELECT id, remaining, expires_at, SUM(remaining) OVER (ORDER BY expires_at, id) AS cum FROM lots) c
    WHERE cum - remaining < sqlc.arg(points)::int
), total AS (
    SELECT COALESCE(SUM(remaining), 0)::bigint AS spendable FROM lots
), debit AS (
    INSERT INTO consumer.points_debits (id, consumer_id, source_key, kind, order_id, points, reason, created_at)
    SELECT sqlc.arg(debit_id), sqlc.arg(consumer_id), sqlc.arg(source_key)::text, 'redeem', sqlc.narg(order_id)::uuid,
           sqlc.arg(points)::int, sqlc.arg(reason)::text, sqlc.arg(at)
    FROM total WHERE total.spendable >= sqlc.arg(points)::int
    ON CONFLICT (source_key) DO NOTHING
    RETURNING id
), drawn AS (
    UPDATE consumer.points_lots l SET remaining = l.remaining - plan.take, spent = l.spent + plan.take
    FROM plan, debit WHERE l.id = plan.id
    RETURNING l.id
), draws AS (
    INSERT INTO consumer.points_draws (debit_id, lot_id, points)
    SELECT debit.id, plan.id, plan.take FROM plan, debit
), entry AS (
    INSERT INTO consumer.points_entries (id, consumer_id, delta, kind, source_key, order_id, created_at, reason)
    SELECT sqlc.arg(entry_id), sqlc.arg(consumer_id), -sqlc.arg(points)::int, 'redeem', sqlc.arg(source_key)::text,
           sqlc.narg(order_id)::uuid, sqlc.arg(at), sqlc.arg(reason)::text
    FROM debit
), moved AS (
    UPDATE consumer.points_balances b SET balance = b.balance - sqlc.arg(points)::int, updated_at = sqlc.arg(at)
    FROM debit WHERE b.consumer_id = sqlc.arg(consumer_id)
    RETURNING b.balance
), event AS MATERIALIZED ( -- read by the final FROM: a CTE that only selects runs when read
    SELECT platform.publish(sqlc.arg(topic)::text, sqlc.arg(consumer_id)::text,
           sqlc.arg(payload)::jsonb || jsonb_build_object('balance', moved.balance), sqlc.arg(request_id)::text,
           sqlc.arg(event_id)::uuid) AS event_id
    FROM moved
)
SELECT EXISTS (SELECT 1 FROM bal) AS member, total.spendable, EXISTS (SELECT 1 FROM debit) AS redeemed,
       COALESCE((SELECT array_agg(id ORDER BY expires_at, id) FROM plan), '{}')::uuid[] AS lots,
       COALESCE((SELECT array_agg(take ORDER BY expires_at, id) FROM plan), '{}')::int[] AS takes,
       COALESCE((SELECT array_agg(expires_at ORDER BY expires_at, id) FROM plan), '{}')::timestamptz[] AS expiries
FROM total LEFT JOIN event ON true;
