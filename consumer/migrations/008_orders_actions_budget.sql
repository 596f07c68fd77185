-- Member 360's orders: what the consumer domain keeps of billing's payment and refund
-- events (never billing's tables). A refund may arrive before its payment event: the
-- row is made by whichever comes first.
CREATE TABLE consumer.member_orders (
    order_id     uuid PRIMARY KEY,
    consumer_id  uuid NOT NULL,
    order_no     text NOT NULL DEFAULT '',
    merchant_id  uuid NOT NULL,
    amount_fen   bigint NOT NULL DEFAULT 0,   -- what was paid (after coupons)
    refunded_fen bigint NOT NULL DEFAULT 0,
    paid_at      timestamptz
);
CREATE INDEX member_orders_member ON consumer.member_orders (consumer_id, paid_at DESC NULLS LAST);

-- Points by action, per the program's rules; staff adjustments above adjust_limit
-- points (either way) go through the platform's approval flow.
ALTER TABLE consumer.points_program
    ADD COLUMN signup_points   integer NOT NULL DEFAULT 0 CHECK (signup_points BETWEEN 0 AND 100000),
    ADD COLUMN referral_points integer NOT NULL DEFAULT 0 CHECK (referral_points BETWEEN 0 AND 100000),
    ADD COLUMN review_points   integer NOT NULL DEFAULT 0 CHECK (review_points BETWEEN 0 AND 100000),
    ADD COLUMN reviews_per_day integer NOT NULL DEFAULT 1 CHECK (reviews_per_day BETWEEN 0 AND 100),
    ADD COLUMN adjust_limit    integer NOT NULL DEFAULT 1000 CHECK (adjust_limit >= 0);

-- Each action earns once: sign-up once per member, a referral once per invitee, a
-- review once per review. ref: '' (sign-up), the invitee's id, the review's id.
CREATE TABLE consumer.member_actions (
    consumer_id uuid NOT NULL REFERENCES consumer.members (id),
    action      text NOT NULL CHECK (action IN ('signup', 'referral', 'review')),
    ref         text NOT NULL,
    points      integer NOT NULL CHECK (points >= 0),
    at          timestamptz NOT NULL,
    PRIMARY KEY (consumer_id, action, ref)
);
CREATE INDEX member_actions_day ON consumer.member_actions (consumer_id, action, at);

-- A coupon batch's budget: every coupon issued commits its face value (the amount
-- off, or a percent coupon's cap); issuing stops before the budget would be passed.
ALTER TABLE consumer.coupon_batches
    ADD COLUMN budget_fen    bigint NOT NULL DEFAULT 0 CHECK (budget_fen >= 0),   -- 0: no budget
    ADD COLUMN committed_fen bigint NOT NULL DEFAULT 0 CHECK (committed_fen >= 0),
    ADD CONSTRAINT coupon_batches_budget CHECK (budget_fen = 0 OR committed_fen <= budget_fen);

-- "Your tier will drop": notice_days before a period ends, once per period.
ALTER TABLE consumer.tier_program ADD COLUMN notice_days integer NOT NULL DEFAULT 30 CHECK (notice_days BETWEEN 0 AND 365);
ALTER TABLE consumer.member_tiers ADD COLUMN drop_noticed_for timestamptz;  -- the period_start it was sent for

---- create above / drop below ----
ALTER TABLE consumer.member_tiers DROP COLUMN drop_noticed_for;
ALTER TABLE consumer.tier_program DROP COLUMN notice_days;
ALTER TABLE consumer.coupon_batches DROP CONSTRAINT coupon_batches_budget, DROP COLUMN committed_fen, DROP COLUMN budget_fen;
DROP TABLE consumer.member_actions;
ALTER TABLE consumer.points_program DROP COLUMN adjust_limit, DROP COLUMN reviews_per_day, DROP COLUMN review_points,
    DROP COLUMN referral_points, DROP COLUMN signup_points;
DROP TABLE consumer.member_orders;
