-- Referrals (裂变): a member's invite code, and who joined through whose code. Both
-- are rewarded once the invitee's first paid order has survived the refund window.
CREATE TABLE marketing.referral_codes (
    consumer_id  uuid PRIMARY KEY,
    code         text NOT NULL UNIQUE,
    device_id    text NOT NULL DEFAULT '',     -- the device the referrer asked from
    created_at   timestamptz NOT NULL
);

CREATE TABLE marketing.referrals (
    invitee_id      uuid PRIMARY KEY,           -- a member is referred once
    referrer_id     uuid NOT NULL,
    code            text NOT NULL,
    invitee_device  text NOT NULL DEFAULT '',
    accepted_at     timestamptz NOT NULL,
    first_order_id  uuid,
    first_paid_at   timestamptz,
    state           text NOT NULL CHECK (state IN ('pending', 'rewarded', 'void')),
    settled_at      timestamptz,
    CHECK (invitee_id <> referrer_id)
);
CREATE INDEX referrals_due ON marketing.referrals (first_paid_at) WHERE state = 'pending' AND first_paid_at IS NOT NULL;
