-- Tiers. The metric is growth value (成长值: the money paid, net of refunds) or points
-- earned, counted once a payment's refund window has passed; never the balance, so
-- spending points never demotes. A member upgrades as soon as the metric of the current
-- evaluation period reaches a threshold; at the period's end they keep their tier if
-- it reached the tier's retention threshold (保级), else drop by the downgrade policy.
CREATE TABLE consumer.tier_program (
    id            boolean PRIMARY KEY DEFAULT true CHECK (id),
    metric        text NOT NULL DEFAULT 'growth' CHECK (metric IN ('growth', 'points')),
    period_months integer NOT NULL DEFAULT 12 CHECK (period_months > 0),
    downgrade     text NOT NULL DEFAULT 'one' CHECK (downgrade IN ('one', 'recompute')),
    updated_at    timestamptz NOT NULL DEFAULT '2026-01-01T00:00:00Z'
);
INSERT INTO consumer.tier_program DEFAULT VALUES;

CREATE TABLE consumer.tiers (
    level          integer PRIMARY KEY CHECK (level >= 0),
    name           text NOT NULL,
    threshold      bigint NOT NULL CHECK (threshold >= 0),  -- fen of growth value, or points
    retain         bigint NOT NULL CHECK (retain >= 0),
    multiplier_pct integer NOT NULL DEFAULT 100 CHECK (multiplier_pct BETWEEN 100 AND 1000)
);
INSERT INTO consumer.tiers (level, name, threshold, retain, multiplier_pct) VALUES
    (0, '普通会员 Member', 0, 0, 100),
    (1, '银卡 Silver', 100000, 50000, 120),
    (2, '金卡 Gold', 500000, 300000, 150),
    (3, '黑金 Black', 2000000, 1500000, 200);

CREATE TABLE consumer.member_tiers (
    consumer_id   uuid PRIMARY KEY REFERENCES consumer.members (id),
    level         integer NOT NULL DEFAULT 0,
    period_start  timestamptz NOT NULL,
    period_growth bigint NOT NULL DEFAULT 0,   -- fen, this period
    period_points bigint NOT NULL DEFAULT 0,   -- earned, this period
    floor_level   integer NOT NULL DEFAULT 0,  -- a manually set tier ...
    floor_until   timestamptz,                 -- ... acts as a floor until then
    updated_at    timestamptz NOT NULL
);
CREATE INDEX member_tiers_period ON consumer.member_tiers (period_start);

CREATE TABLE consumer.tier_history (
    id          uuid PRIMARY KEY,
    consumer_id uuid NOT NULL REFERENCES consumer.members (id),
    from_level  integer NOT NULL,
    to_level    integer NOT NULL,
    reason      text NOT NULL CHECK (reason IN ('upgrade', 'retain', 'downgrade', 'manual')),
    metric      bigint NOT NULL,
    note        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL
);
CREATE INDEX tier_history_member ON consumer.tier_history (consumer_id, at DESC);

-- The growth value a payment's lot carries: counted toward tiers when the lot is
-- released, reduced by refunds.
ALTER TABLE consumer.points_lots ADD COLUMN growth bigint NOT NULL DEFAULT 0 CHECK (growth >= 0);

---- create above / drop below ----
ALTER TABLE consumer.points_lots DROP COLUMN growth;
DROP TABLE consumer.tier_history;
DROP TABLE consumer.member_tiers;
DROP TABLE consumer.tiers;
DROP TABLE consumer.tier_program;
