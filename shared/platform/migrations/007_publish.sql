-- platform.uuid_v7 is a UUIDv7 (RFC 9562): the Unix time in milliseconds, then random
-- bits, as google/uuid.NewV7 makes them in Go (PostgreSQL 15 has no uuidv7()).
CREATE FUNCTION platform.uuid_v7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
    SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
        FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
$$;

-- platform.publish writes an outbox event from SQL, for a statement that makes its
-- change and its event at once (loyalty's one-statement credit and redemption): the
-- same row outbox.Publish writes, which calls it too, so the outbox row's shape is
-- known in one place. id is the event's UUIDv7 (time-ordered: the relay claims oldest
-- first), made here when the caller has none; request_id is the request that caused
-- the event ('' when none). It returns the id.
--
-- What it does not do is wake the relays: a NOTIFY in the caller's transaction would
-- hold PostgreSQL's notify lock through that transaction's WAL flush, one durable
-- commit at a time. Go callers wake them after the commit (outbox.Publish does;
-- outbox.Wake for a statement that called this); without a wake-up the relays find
-- the event at their next poll.
--
-- plpgsql, not sql: its INSERT is planned once per session, not on every call.
CREATE FUNCTION platform.publish(topic text, aggregate_key text, payload jsonb, request_id text DEFAULT '', id uuid DEFAULT NULL)
RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    event_id uuid := coalesce(id, platform.uuid_v7());
BEGIN
    INSERT INTO platform.outbox (id, topic, aggregate_key, payload, request_id)
    VALUES (event_id, topic, aggregate_key, payload, coalesce(request_id, ''));
    RETURN event_id;
END
$$;

---- create above / drop below ----
DROP FUNCTION platform.publish(text, text, jsonb, text, uuid);
DROP FUNCTION platform.uuid_v7();
