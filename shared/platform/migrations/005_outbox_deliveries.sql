-- Delivery of outbox events, per event and subscriber. "Sent" on platform.outbox only
-- says asynq accepted the tasks; an event is done for a subscriber when that
-- subscriber's handler has committed its effect (done_at). The relay writes a row per
-- subscriber when it marks an event sent; the handler's wrapper (outbox.Register) sets
-- done_at after the handler returns nil. The re-driver looks at rows not done a lease
-- after their enqueue (or last check) and re-enqueues those whose task asynq no longer
-- has (Redis lost it): a broker losing its data loses no effect.
CREATE TABLE platform.outbox_deliveries (
    event_id    uuid NOT NULL,                      -- platform.outbox.id
    subscriber  text NOT NULL,
    enqueued_at timestamptz NOT NULL DEFAULT now(), -- the first enqueue
    checked_at  timestamptz,                        -- the re-driver's last look
    attempts    int NOT NULL DEFAULT 1,             -- enqueues: the relay's and each re-drive
    done_at     timestamptz,
    PRIMARY KEY (event_id, subscriber)
);
-- The re-driver and the metrics only look at what is not done: as small as the backlog.
CREATE INDEX outbox_deliveries_undone ON platform.outbox_deliveries (enqueued_at) WHERE done_at IS NULL;
CREATE INDEX outbox_deliveries_done_at ON platform.outbox_deliveries (done_at) WHERE done_at IS NOT NULL;

---- create above / drop below ----
DROP TABLE platform.outbox_deliveries;
