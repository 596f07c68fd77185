CREATE SCHEMA IF NOT EXISTS platform;

-- The transactional outbox: an event is written here in the same transaction as the
-- change that caused it; the relay moves it to asynq. Rows are claimed with a lease
-- (lease_until) so a crashed relay's rows are taken over when the lease expires.
CREATE TABLE platform.outbox (
    id            uuid PRIMARY KEY,             -- UUIDv7: time-ordered, also the task id suffix
    topic         text NOT NULL CHECK (topic <> ''),
    aggregate_key text NOT NULL,                -- e.g. the order id: what the event is about
    payload       jsonb NOT NULL,
    request_id    text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    lease_until   timestamptz,
    leased_by     text,
    attempts      int NOT NULL DEFAULT 0,
    last_error    text,
    sent_at       timestamptz
);
-- The relay only ever looks at unsent rows; this index stays as small as the backlog.
CREATE INDEX outbox_unsent ON platform.outbox (id) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON platform.outbox (sent_at) WHERE sent_at IS NOT NULL;

---- create above / drop below ----
DROP TABLE platform.outbox;
