-- Coupons. A template says what a coupon is worth and where it applies; a batch is a
-- stock of coupons of one template (issued never passes stock: one guarded UPDATE);
-- a coupon is one member's, and moves available → reserved (by an unpaid order) →
-- redeemed (paid), or back to available when the order closes or a full refund
-- returns it within its validity.
CREATE TABLE consumer.coupon_templates (
    id            uuid PRIMARY KEY,
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('amount', 'percent')),
    amount_fen    bigint NOT NULL DEFAULT 0 CHECK (amount_fen >= 0),          -- amount off
    percent       integer NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100), -- percent off ...
    cap_fen       bigint NOT NULL DEFAULT 0 CHECK (cap_fen >= 0),             -- ... at most this (0: no cap)
    threshold_fen bigint NOT NULL DEFAULT 0 CHECK (threshold_fen >= 0),       -- the order's amount must be ≥
    valid_days    integer NOT NULL DEFAULT 0 CHECK (valid_days >= 0),         -- N days from issue, or ...
    valid_from    timestamptz,                                               -- ... fixed dates
    valid_to      timestamptz,
    merchant_ids  uuid[] NOT NULL DEFAULT '{}',                              -- empty: every merchant
    categories    text[] NOT NULL DEFAULT '{}',                              -- empty: every category
    stackable     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    CONSTRAINT coupon_templates_validity CHECK (valid_days > 0 OR (valid_from IS NOT NULL AND valid_to > valid_from))
);

CREATE TABLE consumer.coupon_batches (
    id           uuid PRIMARY KEY,
    template_id  uuid NOT NULL REFERENCES consumer.coupon_templates (id),
    name         text NOT NULL,
    stock        integer NOT NULL CHECK (stock > 0),
    issued       integer NOT NULL DEFAULT 0,
    per_member   integer NOT NULL DEFAULT 1 CHECK (per_member > 0),
    per_day      integer NOT NULL DEFAULT 0 CHECK (per_day >= 0),   -- per member and day; 0: no daily limit
    claimable    boolean NOT NULL DEFAULT true,                     -- consumers may claim it themselves
    created_at   timestamptz NOT NULL,
    CONSTRAINT coupon_batches_stock CHECK (issued >= 0 AND issued <= stock)
);

CREATE TABLE consumer.coupons (
    id           uuid PRIMARY KEY,
    batch_id     uuid NOT NULL REFERENCES consumer.coupon_batches (id),
    template_id  uuid NOT NULL REFERENCES consumer.coupon_templates (id),
    consumer_id  uuid NOT NULL REFERENCES consumer.members (id),
    source       text NOT NULL CHECK (source IN ('claim', 'manual', 'campaign', 'tier')),
    source_key   text NOT NULL CONSTRAINT coupons_source_key_key UNIQUE,
    state        text NOT NULL CHECK (state IN ('available', 'reserved', 'redeemed')),
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz NOT NULL,
    order_id     uuid,
    discount_fen bigint NOT NULL DEFAULT 0,
    issued_at    timestamptz NOT NULL,
    reserved_at  timestamptz,
    redeemed_at  timestamptz,
    CONSTRAINT coupons_order CHECK ((state = 'available') = (order_id IS NULL))
);
CREATE INDEX coupons_member ON consumer.coupons (consumer_id, issued_at DESC);
CREATE INDEX coupons_batch_member ON consumer.coupons (batch_id, consumer_id, issued_at);
CREATE INDEX coupons_order ON consumer.coupons (order_id) WHERE order_id IS NOT NULL;

---- create above / drop below ----
DROP TABLE consumer.coupons;
DROP TABLE consumer.coupon_batches;
DROP TABLE consumer.coupon_templates;
