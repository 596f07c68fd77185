-- Billing (schema billing): consumer orders paid through WeChat Pay, refunds, every
-- notification received, the exceptions found, the double-entry ledger and the
-- merchant webhook deliveries. Payments, refunds' outcomes and the ledger are facts:
-- nothing financial is updated in place or deleted (the order row carries only the
-- state machine's position; its history is in order_transitions).
CREATE SCHEMA IF NOT EXISTS billing;

CREATE SEQUENCE billing.order_no_seq;
CREATE SEQUENCE billing.refund_no_seq;

CREATE TABLE billing.orders (
    id               uuid PRIMARY KEY,                       -- UUIDv7
    order_no         text NOT NULL CONSTRAINT orders_order_no_key UNIQUE, -- out_trade_no
    consumer_id      uuid NOT NULL,
    merchant_id      uuid NOT NULL,
    description      text NOT NULL,
    amount_fen       bigint NOT NULL CHECK (amount_fen > 0),
    currency         text NOT NULL DEFAULT 'CNY',
    commission_rate  numeric(9, 8) NOT NULL CHECK (commission_rate >= 0 AND commission_rate <= 1), -- the contract's, when ordered
    state            text NOT NULL CHECK (state IN ('created', 'paying', 'paid', 'partially_refunded', 'refunded', 'closed')),
    mchid            text NOT NULL,
    appid            text NOT NULL,
    refunded_fen     bigint NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0 AND refunded_fen <= amount_fen),
    created_at       timestamptz NOT NULL,
    paid_at          timestamptz,
    closed_at        timestamptz,
    fulfilled_at     timestamptz                              -- the merchant's webhook acknowledged it
);
CREATE INDEX orders_consumer ON billing.orders (consumer_id, id);
CREATE INDEX orders_merchant ON billing.orders (merchant_id, id);

CREATE TABLE billing.order_transitions (
    id          uuid PRIMARY KEY,
    order_id    uuid NOT NULL REFERENCES billing.orders (id),
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    cause       text NOT NULL,                                -- notification, query, refund, prepay, close
    at          timestamptz NOT NULL
);
CREATE INDEX order_transitions_order ON billing.order_transitions (order_id);

CREATE TABLE billing.payments (
    id              uuid PRIMARY KEY,
    order_id        uuid NOT NULL CONSTRAINT payments_order_key UNIQUE REFERENCES billing.orders (id),
    transaction_id  text NOT NULL CONSTRAINT payments_transaction_id_key UNIQUE,
    mchid           text NOT NULL,
    amount_fen      bigint NOT NULL,
    payer_total_fen bigint NOT NULL,
    trade_type      text NOT NULL,
    payer_openid    text NOT NULL,
    success_time    timestamptz NOT NULL,
    source          text NOT NULL CHECK (source IN ('notification', 'query')),
    recorded_at     timestamptz NOT NULL
);
CREATE INDEX payments_mchid_time ON billing.payments (mchid, success_time);

CREATE TABLE billing.refunds (
    id               uuid PRIMARY KEY,
    order_id         uuid NOT NULL REFERENCES billing.orders (id),
    out_refund_no    text NOT NULL CONSTRAINT refunds_out_refund_no_key UNIQUE,
    request_key      text NOT NULL,                          -- the caller's Idempotency-Key, or the out_refund_no
    refund_id        text,                                   -- WeChat's, once known
    amount_fen       bigint NOT NULL CHECK (amount_fen > 0),
    reason           text NOT NULL,
    state            text NOT NULL CHECK (state IN ('requested', 'processing', 'succeeded', 'closed', 'abnormal')),
    requested_by     uuid,
    created_at       timestamptz NOT NULL,
    wx_created_at    timestamptz,                            -- WeChat's create time (the bill's clock)
    succeeded_at     timestamptz,
    CONSTRAINT refunds_request_key UNIQUE (order_id, request_key)
);
CREATE INDEX refunds_order ON billing.refunds (order_id);

-- Every genuine notification received (forgeries are refused before they get here).
CREATE TABLE billing.notifications_log (
    id               uuid PRIMARY KEY,
    notification_id  text NOT NULL,                          -- WeChat's event id
    event_type       text NOT NULL,
    verified         bool NOT NULL,
    outcome          text NOT NULL CHECK (outcome IN ('applied', 'duplicate', 'mismatch', 'unknown', 'ignored')),
    out_trade_no     text NOT NULL DEFAULT '',
    out_refund_no    text NOT NULL DEFAULT '',
    detail           text NOT NULL DEFAULT '',
    received_at      timestamptz NOT NULL
);
CREATE INDEX notifications_log_event ON billing.notifications_log (notification_id);

-- Notifications or query results that disagree with our orders: recorded, not applied.
CREATE TABLE billing.exceptions (
    id               uuid PRIMARY KEY,
    kind             text NOT NULL,                          -- mismatch, unknown_order, paid_after_close, second_transaction
    out_trade_no     text NOT NULL DEFAULT '',
    out_refund_no    text NOT NULL DEFAULT '',
    notification_id  text NOT NULL DEFAULT '',
    detail           text NOT NULL,
    payload          text NOT NULL DEFAULT '',               -- the decrypted resource
    created_at       timestamptz NOT NULL
);

-- The ledger: double entry. Each entry's postings sum to zero (checked at commit).
CREATE TABLE billing.journal_entries (
    id           uuid PRIMARY KEY,
    order_id     uuid NOT NULL REFERENCES billing.orders (id),
    merchant_id  uuid NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('payment', 'refund')),
    source_key   text NOT NULL CONSTRAINT journal_entries_source_key_key UNIQUE, -- "payment:<order>", "refund:<refund>"
    memo         text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX journal_entries_order ON billing.journal_entries (order_id);

CREATE TABLE billing.postings (
    id           uuid PRIMARY KEY,
    entry_id     uuid NOT NULL REFERENCES billing.journal_entries (id),
    account      text NOT NULL CHECK (account IN ('wxpay_clearing', 'merchant_payable', 'platform_commission')),
    merchant_id  uuid NOT NULL,
    amount_fen   bigint NOT NULL,                            -- debit positive, credit negative
    currency     text NOT NULL
);
CREATE INDEX postings_entry ON billing.postings (entry_id);
CREATE INDEX postings_merchant_account ON billing.postings (merchant_id, account);

CREATE FUNCTION billing.check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total bigint;
    n     bigint;
BEGIN
    SELECT COALESCE(SUM(amount_fen), 0), COUNT(*) INTO total, n FROM billing.postings WHERE entry_id = NEW.entry_id;
    IF total <> 0 OR n < 2 THEN
        RAISE EXCEPTION 'journal entry % does not balance: % postings summing to %', NEW.entry_id, n, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'postings_balanced';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER postings_balanced AFTER INSERT ON billing.postings
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION billing.check_entry_balanced();

CREATE FUNCTION billing.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER journal_entries_append_only BEFORE UPDATE OR DELETE ON billing.journal_entries
    FOR EACH ROW EXECUTE FUNCTION billing.refuse_change();
CREATE TRIGGER postings_append_only BEFORE UPDATE OR DELETE ON billing.postings
    FOR EACH ROW EXECUTE FUNCTION billing.refuse_change();
CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON billing.payments
    FOR EACH ROW EXECUTE FUNCTION billing.refuse_change();
CREATE TRIGGER order_transitions_append_only BEFORE UPDATE OR DELETE ON billing.order_transitions
    FOR EACH ROW EXECUTE FUNCTION billing.refuse_change();

CREATE TABLE billing.webhook_deliveries (
    id           uuid PRIMARY KEY,
    order_id     uuid NOT NULL REFERENCES billing.orders (id),
    event_id     uuid NOT NULL,
    attempt      integer NOT NULL,
    url          text NOT NULL,
    status_code  integer NOT NULL,                           -- 0 when no answer
    error        text NOT NULL DEFAULT '',
    duration_ms  integer NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX webhook_deliveries_order ON billing.webhook_deliveries (order_id);

---- create above / drop below ----
DROP SCHEMA billing CASCADE;
