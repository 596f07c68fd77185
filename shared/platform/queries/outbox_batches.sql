-- name: OpenDeliveries :exec
-- Opens the deliveries of a claimed batch, in the relay's transaction after its tasks
-- are enqueued: one per event and subscriber (parallel arrays, sorted by event and
-- subscriber, the order a handler's TakeDeliveries takes them in, so the two never wait
-- on each other in a cycle), with the batch task that carries it (the nil uuid: none, a
-- dispatcher's delivery). A handler that ran before the commit has made its row: DO
-- NOTHING. When some are the dispatchers', woken (their subscribers, comma-separated)
-- is notified on DeliveriesChannel: a dispatcher wakes exactly those, with no look.
WITH opened AS (
    INSERT INTO platform.outbox_deliveries (event_id, subscriber, task)
    SELECT u.event_id, u.subscriber, nullif(u.task, '00000000-0000-0000-0000-000000000000'::uuid)
    FROM (SELECT unnest(sqlc.arg(event_ids)::uuid[]) AS event_id, unnest(sqlc.arg(subscribers)::text[]) AS subscriber,
                 unnest(sqlc.arg(tasks)::uuid[]) AS task) u
    ON CONFLICT (event_id, subscriber) DO NOTHING
)
SELECT pg_notify('tandem_deliveries', sqlc.arg(woken)::text) WHERE sqlc.arg(woken)::text <> '';

-- name: TakeDeliveries :many
-- A batch task's hold on its events' deliveries before its handler runs: those not done
-- and not held by another task (its hold over, or the task this one, retried) are held
-- by this task until taken_until and come back; the rest are done or another task's.
-- A row the relay has not committed yet is waited for (the insert's conflict); one that
-- does not exist yet (the relay died before its commit) is made. The commit does not
-- wait for the disk: a hold a crash loses was only a hold.
WITH async AS (
    SELECT set_config('synchronous_commit', 'off', true) AS setting
)
INSERT INTO platform.outbox_deliveries AS d (event_id, subscriber, task, taken_until)
SELECT e.id, sqlc.arg(subscriber)::text, sqlc.arg(task)::uuid, now() + sqlc.arg(hold_ms)::bigint * interval '1 millisecond'
FROM async, unnest(sqlc.arg(event_ids)::uuid[]) AS e(id)
ON CONFLICT (event_id, subscriber) DO UPDATE SET task = excluded.task, taken_until = excluded.taken_until
WHERE d.done_at IS NULL AND (d.taken_until IS NULL OR d.taken_until < now() OR d.task = excluded.task)
RETURNING d.event_id;

-- name: CloseTakenDeliveries :exec
-- Closes the deliveries a batch task's handler did (done) and lets go of those it
-- failed on (for its retry, or a re-drive, to take). A close finds its row even when a
-- failed enqueue of the event's other tasks had it deleted (UnclaimOutbox): insert or
-- update. The commit does not wait for the disk: a close a crash loses only has the
-- handler run again on re-drive, which it bears (it is idempotent).
WITH async AS (
    SELECT set_config('synchronous_commit', 'off', true) AS setting
), released AS (
    UPDATE platform.outbox_deliveries d SET taken_until = NULL
    FROM async
    WHERE d.subscriber = sqlc.arg(subscriber)::text AND d.event_id = ANY(sqlc.arg(failed)::uuid[])
      AND d.task = sqlc.arg(task)::uuid AND d.done_at IS NULL
)
INSERT INTO platform.outbox_deliveries AS d (event_id, subscriber, task, done_at)
SELECT e.id, sqlc.arg(subscriber)::text, sqlc.arg(task)::uuid, now()
FROM async, unnest(sqlc.arg(done)::uuid[]) AS e(id)
ON CONFLICT (event_id, subscriber) DO UPDATE SET done_at = now(), taken_until = NULL WHERE d.done_at IS NULL;

-- name: CountUndone :one
-- Of a batch task's events, how many are not done for the subscriber (those another
-- task holds, when this one took fewer than it carries).
SELECT count(*)::bigint FROM platform.outbox_deliveries
WHERE subscriber = sqlc.arg(subscriber)::text AND event_id = ANY(sqlc.arg(event_ids)::uuid[]) AND done_at IS NULL;
