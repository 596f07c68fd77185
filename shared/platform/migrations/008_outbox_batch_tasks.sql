-- The relay enqueues the events of a Handle subscription as asynq tasks of many events
-- each (outbox.Relay), not one task per event: asynq's encoding and Redis's script run
-- once per task. task is the uuid the batch task's id is made of (outbox.TaskID), so the
-- re-driver can ask asynq about the task that carries a delivery; NULL for deliveries of
-- the dispatcher (no task) and for tasks of one event (their id is the event's).
--
-- Two batch tasks may carry one event (a relay that died before its commit, whose rows
-- the next claim groups otherwise). taken_until is a task's hold on a delivery while its
-- handler runs: a task takes its events' deliveries (those not done and not held by
-- another task) before running the handler on them, and closes or releases them after,
-- so the handler runs once per event even when two tasks carrying it run at once. A hold
-- ends by itself when its task died under it; the same task, retried, takes it back at once.
ALTER TABLE platform.outbox_deliveries
    ADD COLUMN task        uuid,
    ADD COLUMN taken_until timestamptz;

---- create above / drop below ----
ALTER TABLE platform.outbox_deliveries DROP COLUMN task, DROP COLUMN taken_until;
