-- Matching keeps its own record of what it learns from events (ARCHITECTURE.md: a domain
-- never reads another's tables): live merchants from merchant.live, purchases from
-- billing.payment_succeeded and billing.refund_succeeded, and the aggregates the
-- recommenders read, kept incrementally in the same transaction as the purchase.

-- A merchant as matching knows it. A purchase may arrive before the merchant's live event
-- (events are unordered): the row is then made with the purchase's counts and live false.
CREATE TABLE matching.merchants (
    merchant_id uuid PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    category    text NOT NULL DEFAULT '',
    city        text NOT NULL DEFAULT '',
    lat         double precision NOT NULL DEFAULT 0,
    lng         double precision NOT NULL DEFAULT 0,
    -- Where it is, for PostGIS distance (ST_DWithin on a GiST index).
    geog        geography(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography) STORED,
    live        boolean NOT NULL DEFAULT false,
    live_at     timestamptz,
    -- buyers: distinct consumers who paid there (popularity); orders: paid orders.
    buyers      integer NOT NULL DEFAULT 0,
    orders      integer NOT NULL DEFAULT 0
);
CREATE INDEX merchants_geog_idx ON matching.merchants USING gist (geog) WHERE live;
CREATE INDEX merchants_popular_idx ON matching.merchants (buyers DESC, merchant_id) WHERE live;
CREATE INDEX merchants_category_idx ON matching.merchants (category, buyers DESC) WHERE live;

-- One paid order. refunded_fen is the order's refunded total (max of the events seen,
-- so any arrival order gives the same row).
CREATE TABLE matching.purchases (
    order_id     uuid PRIMARY KEY,
    consumer_id  uuid NOT NULL,
    merchant_id  uuid NOT NULL,
    amount_fen   bigint NOT NULL CHECK (amount_fen >= 0),
    refunded_fen bigint NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0),
    paid_at      timestamptz NOT NULL
);
CREATE INDEX purchases_consumer_idx ON matching.purchases (consumer_id, paid_at);

-- What a consumer bought at a merchant: orders counts paid orders not wholly refunded.
-- A pair, once made, stays: the merchant has been tried.
CREATE TABLE matching.consumer_merchants (
    consumer_id uuid NOT NULL,
    merchant_id uuid NOT NULL,
    orders      integer NOT NULL,
    net_fen     bigint NOT NULL,
    first_at    timestamptz NOT NULL,
    last_at     timestamptz NOT NULL,
    PRIMARY KEY (consumer_id, merchant_id)
);
CREATE INDEX consumer_merchants_merchant_idx ON matching.consumer_merchants (merchant_id, last_at);

-- A consumer: where they buy (the centre of the merchants they tried), for distance.
CREATE TABLE matching.consumers (
    consumer_id uuid PRIMARY KEY,
    lat         double precision NOT NULL,
    lng         double precision NOT NULL,
    geog        geography(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography) STORED,
    merchants   integer NOT NULL,
    last_at     timestamptz NOT NULL
);
CREATE INDEX consumers_geog_idx ON matching.consumers USING gist (geog);

-- Item-to-item co-purchase: n consumers bought at both a and b (both directions stored).
CREATE TABLE matching.co_purchases (
    a uuid NOT NULL,
    b uuid NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (a, b)
);
CREATE INDEX co_purchases_top_idx ON matching.co_purchases (a, n DESC);

-- Why a merchant was recommended, and how strongly.
ALTER TABLE matching.recommendations
    ADD COLUMN score double precision NOT NULL DEFAULT 0,
    ADD COLUMN reasons text[] NOT NULL DEFAULT '{}';

---- create above / drop below ----
ALTER TABLE matching.recommendations DROP COLUMN score, DROP COLUMN reasons;
DROP TABLE matching.co_purchases;
DROP TABLE matching.consumers;
DROP TABLE matching.consumer_merchants;
DROP TABLE matching.purchases;
DROP TABLE matching.merchants;
