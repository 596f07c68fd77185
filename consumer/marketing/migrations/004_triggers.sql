-- Triggered campaigns: a member's birthday, first order, N days lapsed or tier change
-- starts a run for that member, at most once per campaign, member and occurrence.
ALTER TABLE marketing.members ADD COLUMN birthday date;
ALTER TABLE marketing.members ADD COLUMN tier_changed_at timestamptz;
ALTER TABLE marketing.campaigns ADD COLUMN trigger_days integer NOT NULL DEFAULT 0; -- lapsed: N days

-- The partial indexes keep a trigger's scan to the members it can fire for.
CREATE INDEX members_birthday ON marketing.members ((extract(month FROM birthday)), (extract(day FROM birthday))) WHERE birthday IS NOT NULL;
CREATE INDEX members_first_order ON marketing.members (first_order_at) WHERE first_order_at IS NOT NULL;
CREATE INDEX members_last_order ON marketing.members (last_order_at) WHERE last_order_at IS NOT NULL;
CREATE INDEX members_tier_changed ON marketing.members (tier_changed_at) WHERE tier_changed_at IS NOT NULL;

-- One row per member a trigger fired for: the key of "at most once per occurrence"
-- (the birthday's year, the first order, the last order a lapse counts from, the
-- tier change's time), written in the transaction that creates the run sending it.
CREATE TABLE marketing.trigger_fires (
    campaign_id  uuid NOT NULL REFERENCES marketing.campaigns (id),
    consumer_id  uuid NOT NULL,
    occurrence   text NOT NULL,
    run_id       uuid NOT NULL,
    fired_at     timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, consumer_id, occurrence)
);
