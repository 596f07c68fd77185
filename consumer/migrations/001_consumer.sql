-- C-CRM (schema consumer): members and their points. A member's id is the consumer id
-- of shared/identity (consumer_identities holds the openids, unionid and phone that
-- name them); the profile lives here.
CREATE SCHEMA IF NOT EXISTS consumer;

CREATE TABLE consumer.members (
    id         uuid PRIMARY KEY,                 -- identity's consumer id
    phone      text NOT NULL DEFAULT '',
    app_id     text NOT NULL DEFAULT '',         -- the app they joined through
    joined_at  timestamptz NOT NULL
);

-- Points: an immutable ledger. A correction is a new entry.
CREATE TABLE consumer.points_entries (
    id           uuid PRIMARY KEY,               -- UUIDv7
    consumer_id  uuid NOT NULL REFERENCES consumer.members (id),
    delta        integer NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('earn', 'reverse', 'adjust')),
    -- the business key that makes every entry happen once: "order:<id>:earn", "refund:<id>:reverse"
    source_key   text NOT NULL CONSTRAINT points_entries_source_key_key UNIQUE,
    order_id     uuid,
    created_at   timestamptz NOT NULL,
    -- an earn entry is written even for 0 points: it marks the order as credited
    CONSTRAINT points_entries_delta CHECK (delta <> 0 OR kind = 'earn'),
    CONSTRAINT points_entries_sign CHECK ((kind = 'earn' AND delta >= 0) OR (kind = 'reverse' AND delta < 0) OR kind = 'adjust')
);
CREATE INDEX points_entries_consumer ON consumer.points_entries (consumer_id, id);
CREATE INDEX points_entries_order ON consumer.points_entries (order_id) WHERE order_id IS NOT NULL;

-- The balance: a projection of the entries, updated in the same transaction as the
-- entry it adds up; never negative.
CREATE TABLE consumer.points_balances (
    consumer_id  uuid PRIMARY KEY REFERENCES consumer.members (id),
    balance      bigint NOT NULL CONSTRAINT points_balances_not_negative CHECK (balance >= 0),
    updated_at   timestamptz NOT NULL
);

CREATE FUNCTION consumer.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER points_entries_append_only BEFORE UPDATE OR DELETE ON consumer.points_entries
    FOR EACH ROW EXECUTE FUNCTION consumer.refuse_change();
CREATE TRIGGER points_entries_no_truncate BEFORE TRUNCATE ON consumer.points_entries
    FOR EACH STATEMENT EXECUTE FUNCTION consumer.refuse_change();

---- create above / drop below ----
DROP SCHEMA consumer CASCADE;
