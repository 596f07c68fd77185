-- The expiry job (expiry.go: ExpireLots).

-- name: DueConsumers :many
-- A batch of members with lots due to expire, their balance rows locked in id order
-- (the same order as every other writer: balance row first, then lots).
-- The members are found by a loose index scan (a recursive step per member: the next
-- member's first due lot, from the draw index), so of a member's due lots only the
-- first is read here; a DISTINCT over the due lots read every one of them twice, here
-- and again when they are expired.
-- (= ANY(ARRAY(…)) has the balances found by key, not scanned whole for each batch.)
WITH RECURSIVE due AS (
    (SELECT l.consumer_id FROM consumer.points_lots l
     WHERE l.consumer_id > sqlc.arg(after)::uuid AND l.consumer_id <= sqlc.arg(upto)::uuid
       AND l.expires_at <= sqlc.arg(now) AND l.remaining > 0
     ORDER BY l.consumer_id LIMIT 1)
    UNION ALL
    SELECT (SELECT l.consumer_id FROM consumer.points_lots l
            WHERE l.consumer_id > due.consumer_id AND l.consumer_id <= sqlc.arg(upto)::uuid
              AND l.expires_at <= sqlc.arg(now) AND l.remaining > 0
            ORDER BY l.consumer_id LIMIT 1)
    FROM due WHERE due.consumer_id IS NOT NULL
)
SELECT b.consumer_id FROM consumer.points_balances b
WHERE b.consumer_id = ANY(ARRAY(SELECT due.consumer_id FROM due WHERE due.consumer_id IS NOT NULL LIMIT sqlc.arg(lim)))
ORDER BY b.consumer_id
FOR UPDATE OF b;

-- name: ExpireDueLots :many
-- Expires what remains of the due lots of the locked members, writes one entry per
-- member and moves their balances, in one statement; each member's new balance and
-- what expired (active and pending), in member order. entry_ids holds a new entry id
-- per member (at least as many as consumers).
--
-- The lots are updated where the scan found them (a TID scan on their ctid) rather
-- than looked up again by id, which was a third of an update's time. A lot changed
-- after the scan is no longer at that ctid and is left for the next run, uncounted;
-- none can be, since every writer of a lot holds its member's balance row first, as
-- the caller does. (ctid::tid: sqlc does not know system columns, but takes the cast.)
WITH due AS (
    SELECT p.ctid::tid AS tid, p.remaining, p.state FROM consumer.points_lots p
    WHERE p.consumer_id = ANY(sqlc.arg(consumers)::uuid[]) AND p.remaining > 0 AND p.expires_at <= sqlc.arg(now)
    -- no row locks: the caller holds these members' rows, which every writer of their lots takes first
), upd AS (
    UPDATE consumer.points_lots l SET expired = l.expired + due.remaining, remaining = 0
    FROM due WHERE l.ctid = due.tid
    RETURNING l.consumer_id, due.remaining, due.state
), per AS (
    SELECT upd.consumer_id,
           COALESCE(SUM(upd.remaining) FILTER (WHERE upd.state = 'active'), 0)::bigint AS active,
           COALESCE(SUM(upd.remaining) FILTER (WHERE upd.state = 'pending'), 0)::bigint AS pending,
           row_number() OVER (ORDER BY upd.consumer_id) AS n
    FROM upd GROUP BY upd.consumer_id
), entries AS (
    INSERT INTO consumer.points_entries (id, consumer_id, delta, kind, source_key, created_at)
    SELECT (sqlc.arg(entry_ids)::uuid[])[per.n], per.consumer_id, (-(per.active + per.pending))::int, sqlc.arg(kind)::text,
           sqlc.arg(key_prefix)::text || per.consumer_id::text, sqlc.arg(now)
    FROM per
), moved AS (
    UPDATE consumer.points_balances b SET balance = b.balance - per.active, pending = b.pending - per.pending, updated_at = sqlc.arg(now)
    FROM per WHERE b.consumer_id = per.consumer_id
    RETURNING b.consumer_id, b.balance
)
SELECT moved.consumer_id, moved.balance, per.active, per.pending FROM moved JOIN per ON per.consumer_id = moved.consumer_id
ORDER BY moved.consumer_id;

-- name: PlanExpiryGenerically :exec
-- Has this transaction's ExpireDueLots use its generic plan (a nested loop of TID
-- scans) from its first execution on a connection. Given a batch's real member array,
-- the planner expects tens of thousands of lots and, for the first five executions on
-- each connection, chose to read every lot and hash-join them on ctid instead: three
-- times slower per batch, and two in five of the batches of a million lots.
SELECT set_config('plan_cache_mode', 'force_generic_plan', true);
