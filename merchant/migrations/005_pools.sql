-- Pools as things (issue 12): a pool per org unit with its claim and reclaim rules,
-- its members and admins; a lead belongs to one pool (it returns there when released
-- or reclaimed). Rule columns of 0 switch the rule off.
CREATE TABLE merchant.pools (
    id                     uuid PRIMARY KEY,
    org_unit_id            uuid,                    -- NULL: the pool of leads made by users with no unit
    name                   text NOT NULL CHECK (name <> ''),
    holding_cap            integer NOT NULL DEFAULT 50 CHECK (holding_cap > 0),
    daily_quota            integer NOT NULL DEFAULT 20 CHECK (daily_quota >= 0),
    cooldown_days          integer NOT NULL DEFAULT 7 CHECK (cooldown_days >= 0),
    protect_hours          integer NOT NULL DEFAULT 0 CHECK (protect_hours >= 0),
    reclaim_followup_days  integer NOT NULL DEFAULT 0 CHECK (reclaim_followup_days >= 0),
    reclaim_unsigned_days  integer NOT NULL DEFAULT 0 CHECK (reclaim_unsigned_days >= 0),
    remind_days            integer NOT NULL DEFAULT 0 CHECK (remind_days >= 0),
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    CONSTRAINT pools_unit_key UNIQUE NULLS NOT DISTINCT (org_unit_id)
);

-- Members beyond the pool's own unit (whose users are members implicitly), and admins.
CREATE TABLE merchant.pool_members (
    pool_id   uuid NOT NULL REFERENCES merchant.pools (id),
    user_id   uuid NOT NULL,
    role      text NOT NULL CHECK (role IN ('member', 'admin')),
    added_by  uuid NOT NULL,
    added_at  timestamptz NOT NULL,
    PRIMARY KEY (pool_id, user_id)
);
CREATE INDEX pool_members_user_idx ON merchant.pool_members (user_id);

INSERT INTO merchant.pools (id, org_unit_id, name, created_at, updated_at)
SELECT gen_random_uuid(), u.org_unit_id, coalesce(u.org_unit_id::text, 'unassigned'), now(), now()
FROM (SELECT DISTINCT org_unit_id FROM merchant.leads) u;

ALTER TABLE merchant.leads
    ADD COLUMN pool_id         uuid REFERENCES merchant.pools (id),
    ADD COLUMN locked          boolean NOT NULL DEFAULT false,
    ADD COLUMN protected_until timestamptz,             -- back in the pool: nobody claims it before
    ADD COLUMN claimed_at      timestamptz,             -- when the current owner got it
    ADD COLUMN last_follow_up_at timestamptz;
UPDATE merchant.leads l SET pool_id = p.id, claimed_at = CASE WHEN l.owner_id IS NOT NULL THEN l.updated_at END,
    last_follow_up_at = (SELECT max(f.at) FROM merchant.follow_ups f WHERE f.lead_id = l.id)
FROM merchant.pools p WHERE p.org_unit_id IS NOT DISTINCT FROM l.org_unit_id;
ALTER TABLE merchant.leads ALTER COLUMN pool_id SET NOT NULL;

-- last_follow_up_at is what the reclaim clock runs from: kept by the database on every
-- follow-up, whichever use case writes it.
CREATE FUNCTION merchant.touch_follow_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE merchant.leads SET last_follow_up_at = greatest(coalesce(last_follow_up_at, NEW.at), NEW.at) WHERE id = NEW.lead_id;
    RETURN NEW;
END $$;
CREATE TRIGGER follow_ups_touch_lead AFTER INSERT ON merchant.follow_ups
    FOR EACH ROW EXECUTE FUNCTION merchant.touch_follow_up();
CREATE INDEX leads_pool_member_idx ON merchant.leads (pool_id, id) WHERE owner_id IS NULL;
CREATE INDEX leads_held_idx ON merchant.leads (owner_id) WHERE owner_id IS NOT NULL AND stage NOT IN ('live', 'lost');

ALTER TABLE merchant.lead_owner_history DROP CONSTRAINT lead_owner_history_event_check;
ALTER TABLE merchant.lead_owner_history ADD CONSTRAINT lead_owner_history_event_check
    CHECK (event IN ('created', 'claimed', 'released', 'assigned', 'transferred', 'reclaimed'));
-- The daily quota counts a rep's claims of the day; the cooldown finds former owners.
CREATE INDEX lead_owner_history_claims_idx ON merchant.lead_owner_history (to_owner, at) WHERE event = 'claimed';
CREATE INDEX lead_owner_history_from_idx ON merchant.lead_owner_history (lead_id, from_owner, at);

-- Search by name, address and phone fragments (pg_trgm, created by platform migration 003).
CREATE INDEX leads_name_trgm_idx ON merchant.leads USING gin (name gin_trgm_ops);
CREATE INDEX leads_address_trgm_idx ON merchant.leads USING gin (address gin_trgm_ops);
CREATE INDEX leads_phone_trgm_idx ON merchant.leads USING gin (phone gin_trgm_ops);

-- A reminder that a held lead is about to be reclaimed: once per lead, owner and due day.
CREATE TABLE merchant.reclaim_reminders (
    lead_id   uuid NOT NULL REFERENCES merchant.leads (id),
    owner_id  uuid NOT NULL,
    due_on    date NOT NULL,
    sent_at   timestamptz NOT NULL,
    PRIMARY KEY (lead_id, owner_id, due_on)
);
CREATE INDEX reclaim_reminders_owner_idx ON merchant.reclaim_reminders (owner_id, due_on);

---- create above / drop below ----
DROP TABLE merchant.reclaim_reminders;
DROP TRIGGER follow_ups_touch_lead ON merchant.follow_ups;
DROP FUNCTION merchant.touch_follow_up();
DROP INDEX merchant.leads_name_trgm_idx;
DROP INDEX merchant.leads_address_trgm_idx;
DROP INDEX merchant.leads_phone_trgm_idx;
DROP INDEX merchant.lead_owner_history_from_idx;
DROP INDEX merchant.lead_owner_history_claims_idx;
ALTER TABLE merchant.leads DROP COLUMN pool_id, DROP COLUMN locked, DROP COLUMN protected_until, DROP COLUMN claimed_at, DROP COLUMN last_follow_up_at;
DROP TABLE merchant.pool_members;
DROP TABLE merchant.pools;
