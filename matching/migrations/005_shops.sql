-- Shops as matching knows them (from merchant.live, which carries the lead it came from,
-- the owner's phone and the licence number), the pairs of shops that may be one, and
-- the links from a shop's owner to their consumer identity. Matching never reads the
-- merchant domain's leads: merchant's own dedup refuses duplicates on entry (create,
-- edit, import); matching finds what got through (a shop signed twice by two teams
-- before an edit made them alike, a branch of one licence) with the same signals.
CREATE TABLE matching.shops (
    merchant_id uuid PRIMARY KEY,
    lead_id     uuid NOT NULL,
    name        text NOT NULL,
    phone       text NOT NULL DEFAULT '',
    licence_no  text NOT NULL DEFAULT '',
    lat         double precision NOT NULL DEFAULT 0,
    lng         double precision NOT NULL DEFAULT 0,
    geog        geography(Point, 4326) GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography) STORED,
    seen_at     timestamptz NOT NULL
);
CREATE INDEX shops_phone_idx ON matching.shops (phone) WHERE phone <> '';
CREATE INDEX shops_licence_idx ON matching.shops (licence_no) WHERE licence_no <> '';
CREATE INDEX shops_geog_idx ON matching.shops USING gist (geog);

-- A pair of shops that may be one (a < b): linked automatically at the documented
-- confidence, else waiting for review; a reviewer links or rejects.
CREATE TABLE matching.shop_matches (
    id         uuid PRIMARY KEY,
    a          uuid NOT NULL,
    b          uuid NOT NULL CHECK (a < b),
    confidence double precision NOT NULL,
    evidence   jsonb NOT NULL,
    state      text NOT NULL CHECK (state IN ('review', 'linked', 'rejected')),
    automatic  boolean NOT NULL,
    created_at timestamptz NOT NULL,
    decided_at timestamptz,
    decided_by text NOT NULL DEFAULT '',
    UNIQUE (a, b)
);
CREATE INDEX shop_matches_state_idx ON matching.shop_matches (state, created_at DESC);

-- A shop's owner is this consumer (the owner's phone is a member's).
CREATE TABLE matching.owner_links (
    merchant_id uuid NOT NULL,
    consumer_id uuid NOT NULL,
    confidence  double precision NOT NULL,
    state       text NOT NULL CHECK (state IN ('review', 'linked', 'rejected')),
    created_at  timestamptz NOT NULL,
    decided_at  timestamptz,
    decided_by  text NOT NULL DEFAULT '',
    PRIMARY KEY (merchant_id, consumer_id)
);
CREATE INDEX owner_links_consumer_idx ON matching.owner_links (consumer_id);

---- create above / drop below ----
DROP TABLE matching.owner_links;
DROP TABLE matching.shop_matches;
DROP TABLE matching.shops;
