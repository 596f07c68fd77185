-- name: ClaimOutbox :many
-- Claims the oldest unsent rows and marks them sent, one statement per batch, in the
-- relay's transaction, which stays open while the relay enqueues the batch, opens its
-- deliveries (OpenDeliveries) and commits. The rows stay locked until then: SKIP LOCKED
-- has other relays take disjoint rows, and a relay that dies before its commit (or
-- hangs past its lease: the transaction's idle_in_transaction_session_timeout) has its
-- transaction rolled back, the rows unsent again for the next claim (a task it enqueued
-- asynq refuses as a duplicate task id when the next claim makes the same task; a task
-- the next claim makes otherwise carries events of the dead one's, and the handlers'
-- hold on a delivery, TakeDeliveries, has each run once). The transaction's commit does
-- not wait for the disk (see outbox.claimBegin): a crash that loses it leaves the events
-- unsent, to be enqueued again (a task Redis lost too is enqueued anew and its handler
-- skips what is done). WAL is written in order, so a handler's durable commit also makes
-- every earlier claim durable.
WITH next AS (
    SELECT o.id FROM platform.outbox o
    WHERE o.sent_at IS NULL AND (o.lease_until IS NULL OR o.lease_until < now())
    ORDER BY o.id
    LIMIT sqlc.arg(batch_size)
    FOR UPDATE SKIP LOCKED
)
UPDATE platform.outbox o
SET sent_at = now(), lease_until = NULL, leased_by = sqlc.arg(relay)::text, attempts = o.attempts + 1, last_error = NULL
WHERE o.id = ANY(ARRAY(SELECT id FROM next)) -- by primary key, however large the table
RETURNING o.id, o.topic, o.aggregate_key, o.payload, o.request_id, o.created_at;

-- name: UnclaimOutbox :exec
-- Hands rows of a claim whose enqueue failed back, in the claim's transaction: unsent,
-- and not claimed again before a backoff that grows with their attempts. The relay
-- opens no delivery for them; a delivery row one of their tasks that did reach asynq
-- made (TakeDeliveries) stays, taken or done, so that the next claim's task for the
-- same subscriber runs the event only if it is not done and no task holds it.
UPDATE platform.outbox
SET sent_at = NULL, lease_until = now() + least(attempts, 60) * interval '1 second', last_error = sqlc.arg(last_error)::text
WHERE id = ANY(sqlc.arg(ids)::uuid[]);

-- name: InsertOutbox :exec
-- outbox.Publish's row, written by platform.publish as loyalty's statements write theirs.
SELECT platform.publish(sqlc.arg(topic)::text, sqlc.arg(aggregate_key)::text, sqlc.arg(payload)::jsonb,
                        sqlc.arg(request_id)::text, sqlc.arg(id)::uuid);

-- name: OutboxBacklog :one
SELECT count(*)::bigint AS unsent,
       coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_seconds
FROM platform.outbox WHERE sent_at IS NULL;

-- name: DeleteSentOutbox :execrows
-- An event a subscriber has not done yet stays: the re-driver needs its payload. The
-- rows are found by the primary key: ids are UUIDv7, time first, so every event
-- created before the cut-off has an id below the UUID of its millisecond with the
-- random bits zero (an event is sent after it is created).
DELETE FROM platform.outbox o
WHERE o.id < encode(substring(int8send((extract(epoch FROM now() - sqlc.arg(older_than_ms)::bigint * interval '1 millisecond') * 1000)::bigint) FROM 3)
                    || '\x00000000000000000000'::bytea, 'hex')::uuid
  AND o.sent_at < now() - sqlc.arg(older_than_ms)::bigint * interval '1 millisecond'
  AND NOT EXISTS (SELECT 1 FROM platform.outbox_deliveries d WHERE d.event_id = o.id AND d.done_at IS NULL);

-- name: DeleteDoneDeliveries :execrows
DELETE FROM platform.outbox_deliveries WHERE done_at < now() - sqlc.arg(older_than_ms)::bigint * interval '1 millisecond';

-- name: DeliveryDone :one
SELECT EXISTS (
    SELECT 1 FROM platform.outbox_deliveries
    WHERE event_id = sqlc.arg(event_id) AND subscriber = sqlc.arg(subscriber) AND done_at IS NOT NULL
)::bool;

-- name: MarkDeliveryDone :exec
-- Closes a delivery after a handler whose effect is not in this transaction (outbox
-- Subscription.Handle). The handler may finish before the relay has marked the event
-- sent: insert or update. The commit does not wait for the disk: a close a crash loses
-- only has the handler run again on re-drive, which it bears (it is idempotent).
WITH async AS (
    SELECT set_config('synchronous_commit', 'off', true) AS setting
)
INSERT INTO platform.outbox_deliveries AS d (event_id, subscriber, done_at)
SELECT sqlc.arg(event_id), sqlc.arg(subscriber), now() FROM async
ON CONFLICT (event_id, subscriber) DO UPDATE SET done_at = now() WHERE d.done_at IS NULL;

-- name: CloseDelivery :one
-- Closes a delivery inside the transaction of its effect (outbox Subscription.HandleTx),
-- before the effect: the row lock it takes makes a second delivery of the same event
-- wait for this one's commit and then find it closed (no row back), so the effect is
-- made once even by deliveries that cross. The transaction commits without waiting for
-- the disk: a crash loses the effect and the close together, and the re-driver
-- delivers the event again.
WITH async AS (
    SELECT set_config('synchronous_commit', 'off', true) AS setting
)
INSERT INTO platform.outbox_deliveries AS d (event_id, subscriber, done_at)
SELECT sqlc.arg(event_id), sqlc.arg(subscriber), now() FROM async
ON CONFLICT (event_id, subscriber) DO UPDATE SET done_at = now() WHERE d.done_at IS NULL
RETURNING true::bool AS closed;

-- name: RedriveCutoff :one
-- One pass of the re-driver looks at deliveries last enqueued or checked before this
-- instant (by the database's clock), so rows it checks during the pass are not seen again.
SELECT (now() - sqlc.arg(after_ms)::bigint * interval '1 millisecond')::timestamptz AS cutoff;

-- name: ClaimUndelivered :many
-- Claims deliveries not done since before the cutoff, oldest first, and stamps them
-- checked; SKIP LOCKED lets re-drivers in several workers take disjoint rows. Only the
-- subscribers delivered through asynq: the dispatcher reads its own from this table.
WITH due AS (
    SELECT d.event_id, d.subscriber FROM platform.outbox_deliveries d
    WHERE d.done_at IS NULL AND coalesce(d.checked_at, d.enqueued_at) < sqlc.arg(cutoff)::timestamptz
      AND d.subscriber = ANY(sqlc.arg(subscribers)::text[])
    ORDER BY d.enqueued_at
    LIMIT sqlc.arg(batch_size)
    FOR UPDATE SKIP LOCKED
)
UPDATE platform.outbox_deliveries d SET checked_at = now()
FROM due, platform.outbox o
WHERE d.event_id = due.event_id AND d.subscriber = due.subscriber AND o.id = d.event_id
RETURNING d.event_id, d.subscriber, d.attempts, coalesce(d.task, '00000000-0000-0000-0000-000000000000'::uuid)::uuid AS task,
    o.topic, o.aggregate_key, o.payload, o.request_id, o.created_at;

-- name: SetDeliveryAttempts :exec
UPDATE platform.outbox_deliveries SET attempts = greatest(attempts, sqlc.arg(attempts)::int)
WHERE event_id = sqlc.arg(event_id) AND subscriber = sqlc.arg(subscriber);

-- name: OutboxUndelivered :one
-- Deliveries not done: how many, and how long ago the oldest was first enqueued.
SELECT count(*)::bigint AS undelivered,
       coalesce(extract(epoch FROM now() - min(enqueued_at)), 0)::float8 AS oldest_seconds
FROM platform.outbox_deliveries WHERE done_at IS NULL;

-- name: ClaimDeliveries :many
-- A dispatcher's batch: up to batch_size of one subscriber's deliveries not done and not
-- put off, locked for the batch's transaction (SKIP LOCKED: dispatchers in several
-- workers take disjoint batches), with their events, oldest event first.
WITH due AS (
    SELECT d.event_id FROM platform.outbox_deliveries d
    WHERE d.subscriber = sqlc.arg(subscriber) AND d.done_at IS NULL
      AND (d.retry_at IS NULL OR d.retry_at <= now())
    ORDER BY d.enqueued_at, d.event_id
    LIMIT sqlc.arg(batch_size)
    FOR UPDATE SKIP LOCKED
)
SELECT o.id, o.topic, o.aggregate_key, o.payload, o.request_id, o.created_at
FROM due JOIN platform.outbox o ON o.id = due.event_id
ORDER BY o.id;

-- name: ClaimDelivery :one
-- One delivery of a batch that failed, claimed again on its own (put off or not):
-- nothing back when it is done or another dispatcher holds it.
SELECT true::bool AS claimed FROM platform.outbox_deliveries d
WHERE d.event_id = sqlc.arg(event_id) AND d.subscriber = sqlc.arg(subscriber) AND d.done_at IS NULL
FOR UPDATE SKIP LOCKED;

-- name: CloseDeliveries :exec
-- Closes a dispatcher's claimed deliveries in the transaction of their effects. The
-- commit does not wait for the disk: a crash loses the effects and the closes together,
-- and the dispatcher claims them again.
WITH async AS (
    SELECT set_config('synchronous_commit', 'off', true) AS setting
)
UPDATE platform.outbox_deliveries d SET done_at = now(), retry_at = NULL
FROM async
WHERE d.subscriber = sqlc.arg(subscriber) AND d.event_id = ANY(sqlc.arg(event_ids)::uuid[]);

-- name: PutOffDelivery :exec
-- A delivery that failed on its own waits 1 s, 2 s, 4 s ... up to an hour before its
-- next try, so a poison event never holds back the rest.
UPDATE platform.outbox_deliveries
SET failures = failures + 1, last_error = sqlc.arg(last_error)::text,
    retry_at = now() + least(power(2, least(failures, 12)), 3600) * interval '1 second'
WHERE event_id = sqlc.arg(event_id) AND subscriber = sqlc.arg(subscriber) AND done_at IS NULL;

-- name: RetryPutOff :execrows
-- `tandem outbox redrive`: the deliveries put off after failures are tried again now.
UPDATE platform.outbox_deliveries SET retry_at = NULL
WHERE done_at IS NULL AND retry_at IS NOT NULL AND subscriber = ANY(sqlc.arg(subscribers)::text[]);

-- name: TryLockSubscriber :one
-- One dispatcher batch per subscriber at a time, in every worker: two batches of one
-- subscriber would lock the same members in different orders and deadlock (each waits
-- a second for PostgreSQL to notice). Held until the batch's transaction ends.
SELECT pg_try_advisory_xact_lock(hashtextextended('tandem.outbox.dispatch/' || sqlc.arg(subscriber)::text, 0))::bool AS locked;
