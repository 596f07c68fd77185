-- Sub-merchant applications (特约商户进件, /v3/applyment4sub/applyment/): what a
-- service provider submitted and where WeChat's review of it stands. The control API
-- moves the state, as WeChat's reviewers and the shop's legal person would.
CREATE SEQUENCE wxsim.applyment_seq START 2000002124775691;
CREATE SEQUENCE wxsim.sub_mchid_seq START 1900000109;

CREATE TABLE wxsim.applyments (
    business_code   text PRIMARY KEY,            -- the provider's number, unique per provider
    mchid           text        NOT NULL,        -- the service provider that submitted it
    applyment_id    bigint      NOT NULL UNIQUE,
    body            jsonb       NOT NULL,
    state           text        NOT NULL CHECK (state IN ('APPLYMENT_STATE_EDITTING', 'APPLYMENT_STATE_AUDITING',
        'APPLYMENT_STATE_REJECTED', 'APPLYMENT_STATE_TO_BE_CONFIRMED', 'APPLYMENT_STATE_TO_BE_SIGNED',
        'APPLYMENT_STATE_SIGNING', 'APPLYMENT_STATE_FINISHED', 'APPLYMENT_STATE_CANCELED', 'APPLYMENT_STATE_FROZEN')),
    reject_reason   text        NOT NULL DEFAULT '',
    sub_mchid       text        NOT NULL DEFAULT '',
    sign_url        text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
