-- Points in lots. Every credit (an order's earn, an action, a staff adjustment) is a
-- lot with its own expiry; a lot from a payment is pending until the refund window
-- has passed. Every debit draws from lots, soonest-expiring first, and records the
-- lots it drew from, so a refund can give spent points back into their original lots.
-- Conservation per lot: points = remaining + spent + reversed + expired.

-- The program's rules: one row, edited by growth operators.
CREATE TABLE consumer.points_program (
    id               boolean PRIMARY KEY DEFAULT true CONSTRAINT points_program_one CHECK (id),
    points_per_yuan  integer NOT NULL DEFAULT 1 CONSTRAINT points_program_per_yuan CHECK (points_per_yuan > 0),
    -- a lot expires at the end of the expiry_months-th month after it was earned,
    -- rounded to the end of that day or of that month (Asia/Shanghai)
    expiry_months    integer NOT NULL DEFAULT 12 CONSTRAINT points_program_expiry CHECK (expiry_months > 0),
    expiry_rounding  text NOT NULL DEFAULT 'month' CHECK (expiry_rounding IN ('day', 'month')),
    -- the refund window: points from a payment are pending this many days
    pending_days     integer NOT NULL DEFAULT 7 CHECK (pending_days >= 0 AND pending_days <= 365),
    -- reminders are sent this many days before a lot expires
    remind_days      integer NOT NULL DEFAULT 30 CHECK (remind_days >= 0),
    updated_at       timestamptz NOT NULL DEFAULT '2026-01-01T00:00:00Z'
);
INSERT INTO consumer.points_program DEFAULT VALUES;

CREATE TABLE consumer.points_lots (
    id           uuid PRIMARY KEY,                              -- UUIDv7
    consumer_id  uuid NOT NULL REFERENCES consumer.members (id),
    source_key   text NOT NULL CONSTRAINT points_lots_source_key_key UNIQUE,  -- the entry that made it
    kind         text NOT NULL CHECK (kind IN ('earn', 'action', 'adjust')),
    order_id     uuid,
    state        text NOT NULL CHECK (state IN ('pending', 'active')),
    points       integer NOT NULL CHECK (points > 0),
    remaining    integer NOT NULL CHECK (remaining >= 0),
    spent        integer NOT NULL DEFAULT 0 CHECK (spent >= 0),
    reversed     integer NOT NULL DEFAULT 0 CHECK (reversed >= 0),
    expired      integer NOT NULL DEFAULT 0 CHECK (expired >= 0),
    earned_at    timestamptz NOT NULL,
    available_at timestamptz NOT NULL,                          -- pending until then
    expires_at   timestamptz NOT NULL,                          -- exclusive: gone at this instant
    reminded_at  timestamptz,
    CONSTRAINT points_lots_conserved CHECK (remaining + spent + reversed + expired = points),
    CONSTRAINT points_lots_expiry CHECK (expires_at > earned_at)
);
-- Redemption's draw order and the expiry job's scan.
CREATE INDEX points_lots_draw ON consumer.points_lots (consumer_id, expires_at, id) WHERE remaining > 0;
CREATE INDEX points_lots_due ON consumer.points_lots (expires_at) WHERE remaining > 0;
CREATE INDEX points_lots_pending ON consumer.points_lots (available_at) WHERE state = 'pending';
CREATE INDEX points_lots_order ON consumer.points_lots (order_id) WHERE order_id IS NOT NULL;

-- A debit: a redemption, a negative adjustment, or what a refund took beyond the
-- order's own lot. Its lots are in points_draws.
CREATE TABLE consumer.points_debits (
    id           uuid PRIMARY KEY,
    consumer_id  uuid NOT NULL REFERENCES consumer.members (id),
    source_key   text NOT NULL CONSTRAINT points_debits_source_key_key UNIQUE,
    kind         text NOT NULL CHECK (kind IN ('redeem', 'adjust', 'reverse')),
    order_id     uuid,
    points       integer NOT NULL CHECK (points > 0),
    returned     integer NOT NULL DEFAULT 0,
    reason       text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    CONSTRAINT points_debits_returned CHECK (returned >= 0 AND returned <= points)
);
CREATE INDEX points_debits_order ON consumer.points_debits (order_id) WHERE order_id IS NOT NULL;

CREATE TABLE consumer.points_draws (
    debit_id  uuid NOT NULL REFERENCES consumer.points_debits (id),
    lot_id    uuid NOT NULL REFERENCES consumer.points_lots (id),
    points    integer NOT NULL CHECK (points > 0),
    returned  integer NOT NULL DEFAULT 0,
    PRIMARY KEY (debit_id, lot_id),
    CONSTRAINT points_draws_returned CHECK (returned >= 0 AND returned <= points)
);
CREATE INDEX points_draws_lot ON consumer.points_draws (lot_id);

-- The entries gain the kinds of the lots' life; a refund's reversal records what the
-- member no longer had (forgiven, reported in the liability report).
ALTER TABLE consumer.points_entries DROP CONSTRAINT points_entries_kind_check;
ALTER TABLE consumer.points_entries DROP CONSTRAINT points_entries_delta;
ALTER TABLE consumer.points_entries DROP CONSTRAINT points_entries_sign;
ALTER TABLE consumer.points_entries ADD COLUMN forgiven integer NOT NULL DEFAULT 0 CHECK (forgiven >= 0);
ALTER TABLE consumer.points_entries ADD COLUMN reason text NOT NULL DEFAULT '';
ALTER TABLE consumer.points_entries ADD CONSTRAINT points_entries_kind_check
    CHECK (kind IN ('earn', 'reverse', 'adjust', 'action', 'redeem', 'expire', 'return'));
ALTER TABLE consumer.points_entries ADD CONSTRAINT points_entries_delta
    CHECK (delta <> 0 OR kind = 'earn' OR (kind = 'reverse' AND forgiven > 0));
ALTER TABLE consumer.points_entries ADD CONSTRAINT points_entries_sign CHECK (
    (kind IN ('earn', 'action', 'return') AND delta >= 0) OR
    (kind IN ('reverse', 'redeem', 'expire') AND delta <= 0) OR kind = 'adjust');

-- The balance is what can be spent now; pending is what a payment earned and the
-- refund window still holds. Sum of entries = balance + pending = sum of lots' remaining.
ALTER TABLE consumer.points_balances ADD COLUMN pending bigint NOT NULL DEFAULT 0
    CONSTRAINT points_balances_pending_not_negative CHECK (pending >= 0);
-- Points that counted toward tiers: lots earned from payments and actions once they are
-- no longer pending, net of reversals (never the balance: spending does not demote).
ALTER TABLE consumer.points_balances ADD COLUMN earned_total bigint NOT NULL DEFAULT 0;

---- create above / drop below ----
ALTER TABLE consumer.points_balances DROP COLUMN earned_total;
ALTER TABLE consumer.points_balances DROP COLUMN pending;
ALTER TABLE consumer.points_entries DROP COLUMN reason;
ALTER TABLE consumer.points_entries DROP COLUMN forgiven;
DROP TABLE consumer.points_draws;
DROP TABLE consumer.points_debits;
DROP TABLE consumer.points_lots;
DROP TABLE consumer.points_program;
