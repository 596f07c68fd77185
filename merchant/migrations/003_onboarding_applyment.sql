-- Onboarding mirrors WeChat Pay's sub-merchant application (特约商户进件) state by
-- state, with the reviewer's decision beside it: a shop goes live when WeChat says
-- finished and the reviewer approved. The history of both is kept, append-only.
ALTER TABLE merchant.onboarding DROP CONSTRAINT onboarding_state_check;
ALTER TABLE merchant.onboarding ADD CONSTRAINT onboarding_state_check CHECK (state IN ('editing', 'auditing', 'rejected',
    'to_be_confirmed', 'to_be_signed', 'signing', 'finished', 'frozen', 'canceled'));
ALTER TABLE merchant.onboarding
    ADD COLUMN review        text NOT NULL DEFAULT 'pending' CHECK (review IN ('pending', 'approved', 'change_requested', 'rejected')),
    ADD COLUMN business_code text,                  -- our number at WeChat: set when first submitted there
    ADD COLUMN applyment_id  bigint,                -- WeChat's number for it
    ADD COLUMN wx_state      text NOT NULL DEFAULT '',  -- WeChat's state as last read: APPLYMENT_STATE_...
    ADD COLUMN sub_mchid     text NOT NULL DEFAULT '',  -- assigned by WeChat when finished
    ADD COLUMN sign_url      text NOT NULL DEFAULT '',  -- the legal person's signing link (to_be_signed)
    ADD COLUMN synced_at     timestamptz,
    ADD CONSTRAINT onboarding_business_code_key UNIQUE (business_code);
UPDATE merchant.onboarding SET review = 'approved' WHERE state = 'finished';
UPDATE merchant.onboarding SET review = 'rejected' WHERE state = 'rejected';
-- The reviewer's queue: waiting for a reviewer, oldest first.
CREATE INDEX onboarding_queue_idx ON merchant.onboarding (submitted_at, id) WHERE review = 'pending' AND state = 'auditing';
-- Applications WeChat is still working on, for the sync task.
CREATE INDEX onboarding_at_wechat_idx ON merchant.onboarding (synced_at NULLS FIRST)
    WHERE applyment_id IS NOT NULL AND state NOT IN ('finished', 'canceled', 'rejected', 'editing');

CREATE TABLE merchant.onboarding_history (
    id         uuid PRIMARY KEY,
    lead_id    uuid NOT NULL REFERENCES merchant.leads (id),
    event      text NOT NULL,                        -- submitted, approved, rejected, change_requested, wechat
    state      text NOT NULL,
    review     text NOT NULL,
    note       text NOT NULL DEFAULT '',
    by_user    uuid,                                 -- NULL: WeChat (a sync)
    at         timestamptz NOT NULL
);
CREATE INDEX onboarding_history_lead_idx ON merchant.onboarding_history (lead_id, at);

-- A sub-merchant number belongs to one merchant.
ALTER TABLE merchant.merchants ADD CONSTRAINT merchants_sub_mchid_key UNIQUE (sub_mchid);
