-- Deliveries to database-only subscribers (outbox Subscription.HandleTx/HandleBatchTx)
-- are not asynq tasks: the worker's dispatcher claims a subscriber's undone deliveries
-- straight from this table, a batch at a time (FOR UPDATE SKIP LOCKED), runs them in
-- one transaction, closes them in it and commits once. A delivery that fails on its own
-- is put off (retry_at, growing with failures) so it never holds back the others;
-- last_error says why, for a person.
ALTER TABLE platform.outbox_deliveries
    ADD COLUMN failures   int NOT NULL DEFAULT 0,
    ADD COLUMN retry_at   timestamptz,
    ADD COLUMN last_error text;
-- A dispatcher's claim: one subscriber's undone deliveries, oldest first.
CREATE INDEX outbox_deliveries_undone_by_subscriber ON platform.outbox_deliveries (subscriber, enqueued_at) WHERE done_at IS NULL;

---- create above / drop below ----
DROP INDEX platform.outbox_deliveries_undone_by_subscriber;
ALTER TABLE platform.outbox_deliveries DROP COLUMN failures, DROP COLUMN retry_at, DROP COLUMN last_error;
