-- What a member has been told, newest first: the mini-program's notices list
-- (GET /api/v1/consumer/me/notices) and the member's 360 show it. A tier-drop notice
-- is written with its event, once per evaluation period.
CREATE TABLE consumer.member_notices (
    id          uuid PRIMARY KEY,                 -- UUIDv7
    consumer_id uuid NOT NULL REFERENCES consumer.members (id),
    kind        text NOT NULL CHECK (kind IN ('tier_drop')),
    tier        text NOT NULL,                    -- the tier at stake
    metric      text NOT NULL CHECK (metric IN ('growth', 'points')),
    missing     bigint NOT NULL CHECK (missing >= 0),   -- fen of growth, or points, still needed to keep it
    period_end  timestamptz NOT NULL,
    created_at  timestamptz NOT NULL
);
CREATE INDEX member_notices_member ON consumer.member_notices (consumer_id, id DESC);

---- create above / drop below ----
DROP TABLE consumer.member_notices;
