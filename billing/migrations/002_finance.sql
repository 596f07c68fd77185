-- Finance rules (issue 14): refunds WeChat refused or never accepted stop reserving
-- their amount, refunds are followed by the scheduler, and billing's exceptions are a
-- queue finance works (assign, note, resolve).

-- rejected: WeChat refused the refund (or it was cancelled by rule after WeChat never
-- accepted it); it reserves nothing and blocks no later refund.
ALTER TABLE billing.refunds DROP CONSTRAINT refunds_state_check;
ALTER TABLE billing.refunds ADD CONSTRAINT refunds_state_check
    CHECK (state IN ('requested', 'processing', 'succeeded', 'closed', 'abnormal', 'rejected'));
ALTER TABLE billing.refunds
    ADD COLUMN attempts    integer NOT NULL DEFAULT 1,        -- calls to WeChat's refund API
    ADD COLUMN last_error  text NOT NULL DEFAULT '',          -- WeChat's (or the network's) last refusal
    ADD COLUMN rejected_at timestamptz;
CREATE INDEX refunds_open ON billing.refunds (state, created_at) WHERE state IN ('requested', 'processing', 'abnormal');

-- The scheduler's sweeps find orders by state and age.
CREATE INDEX orders_unpaid ON billing.orders (state, created_at) WHERE state IN ('created', 'paying');

-- Billing's exceptions as a queue: who works it, and how it ended.
ALTER TABLE billing.exceptions
    ADD COLUMN assignee     uuid,
    ADD COLUMN resolved_at  timestamptz,
    ADD COLUMN resolved_by  uuid,
    ADD COLUMN resolution   text NOT NULL DEFAULT '',
    ADD COLUMN transaction_id text NOT NULL DEFAULT '',      -- a second payment's WeChat transaction
    ADD COLUMN amount_fen   bigint NOT NULL DEFAULT 0;        -- and its amount
CREATE INDEX exceptions_open ON billing.exceptions (created_at) WHERE resolved_at IS NULL;

CREATE TABLE billing.exception_notes (
    id            uuid PRIMARY KEY,
    exception_id  uuid NOT NULL REFERENCES billing.exceptions (id),
    author        uuid NOT NULL,
    body          text NOT NULL,
    created_at    timestamptz NOT NULL
);
CREATE INDEX exception_notes_exception ON billing.exception_notes (exception_id, id);

---- create above / drop below ----
DROP TABLE billing.exception_notes;
ALTER TABLE billing.exceptions DROP COLUMN assignee, DROP COLUMN resolved_at, DROP COLUMN resolved_by,
    DROP COLUMN resolution, DROP COLUMN transaction_id, DROP COLUMN amount_fen;
DROP INDEX billing.orders_unpaid;
DROP INDEX billing.refunds_open;
ALTER TABLE billing.refunds DROP COLUMN attempts, DROP COLUMN last_error, DROP COLUMN rejected_at;
ALTER TABLE billing.refunds DROP CONSTRAINT refunds_state_check;
ALTER TABLE billing.refunds ADD CONSTRAINT refunds_state_check
    CHECK (state IN ('requested', 'processing', 'succeeded', 'closed', 'abnormal'));
