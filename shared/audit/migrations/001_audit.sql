CREATE SCHEMA IF NOT EXISTS audit;

-- The audit log: who did what to which object, with the object before and after, the
-- request it came from and when. Append-only: the trigger below refuses UPDATE, DELETE
-- and TRUNCATE for every role, including the table's owner, and nothing grants them.
CREATE TABLE audit.entries (
    id                uuid PRIMARY KEY,            -- UUIDv7: time-ordered, the list cursor
    at                timestamptz NOT NULL DEFAULT now(),
    actor_id          uuid,                        -- NULL: the system, or an unknown login
    actor_login       text NOT NULL DEFAULT '',
    actor_org_unit_id uuid,                        -- the actor's org unit then: data scopes apply to it
    actor_merchant_id uuid,
    action            text NOT NULL CHECK (action <> ''),   -- "identity.user.create", "auth.login_failed"
    object_type       text NOT NULL DEFAULT '',
    object_id         text NOT NULL DEFAULT '',
    before            jsonb,
    after             jsonb,
    request_id        text NOT NULL DEFAULT '',
    ip                text NOT NULL DEFAULT ''
);
CREATE INDEX entries_actor ON audit.entries (actor_id, id DESC);
CREATE INDEX entries_object ON audit.entries (object_type, object_id, id DESC);
CREATE INDEX entries_action ON audit.entries (action, id DESC);
CREATE INDEX entries_at ON audit.entries (at);

CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit.entries is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON audit.entries
    FOR EACH ROW EXECUTE FUNCTION audit.refuse_change();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON audit.entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change();
REVOKE UPDATE, DELETE, TRUNCATE ON audit.entries FROM PUBLIC;

---- create above / drop below ----
DROP TABLE audit.entries;
DROP FUNCTION audit.refuse_change();
