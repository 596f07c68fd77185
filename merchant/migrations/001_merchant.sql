-- B-CRM (schema merchant): shop leads from the public pool to a live merchant.
-- Scope columns: owner_id (the rep holding the lead; NULL while it is in the public
-- pool), org_unit_id (the team the lead belongs to), merchant_id / id on merchants.
CREATE SCHEMA IF NOT EXISTS merchant;

CREATE TABLE merchant.leads (
    id           uuid PRIMARY KEY,                      -- UUIDv7
    name         text NOT NULL CHECK (name <> ''),
    category     text NOT NULL CHECK (category <> ''),
    address      text NOT NULL,
    lat          double precision NOT NULL CHECK (lat BETWEEN -90 AND 90),
    lng          double precision NOT NULL CHECK (lng BETWEEN -180 AND 180),
    phone_raw    text NOT NULL,                         -- as entered, for display
    phone        text NOT NULL,                         -- normalised: the de-duplication key
    city         text NOT NULL,
    owner_id     uuid,                                  -- NULL: in the public pool
    org_unit_id  uuid,
    stage        text NOT NULL CHECK (stage IN ('lead', 'contacted', 'visited', 'negotiating', 'signed', 'onboarding', 'live', 'lost')),
    created_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CONSTRAINT leads_phone_key UNIQUE (phone)
);
CREATE INDEX leads_owner_idx ON merchant.leads (owner_id, id);
CREATE INDEX leads_unit_idx ON merchant.leads (org_unit_id, id);
CREATE INDEX leads_pool_idx ON merchant.leads (id) WHERE owner_id IS NULL;

-- Every change of owner, with its reason; append-only.
CREATE TABLE merchant.lead_owner_history (
    id           uuid PRIMARY KEY,
    lead_id      uuid NOT NULL REFERENCES merchant.leads (id),
    event        text NOT NULL CHECK (event IN ('created', 'claimed', 'released', 'transferred', 'reclaimed')),
    from_owner   uuid,
    to_owner     uuid,
    reason       text NOT NULL,
    by_user      uuid NOT NULL,
    at           timestamptz NOT NULL
);
CREATE INDEX lead_owner_history_lead_idx ON merchant.lead_owner_history (lead_id, at);

-- Every stage change, with its time (cycle-time reports); append-only.
CREATE TABLE merchant.stage_history (
    id           uuid PRIMARY KEY,
    lead_id      uuid NOT NULL REFERENCES merchant.leads (id),
    from_stage   text,                                  -- NULL for the first stage
    to_stage     text NOT NULL,
    reason       text NOT NULL,
    by_user      uuid NOT NULL,
    at           timestamptz NOT NULL
);
CREATE INDEX stage_history_lead_idx ON merchant.stage_history (lead_id, at);

CREATE TABLE merchant.follow_ups (
    id           uuid PRIMARY KEY,
    lead_id      uuid NOT NULL REFERENCES merchant.leads (id),
    channel      text NOT NULL CHECK (channel IN ('call', 'wechat', 'visit', 'other')),
    note         text NOT NULL,
    next_step    text NOT NULL,
    by_user      uuid NOT NULL,
    at           timestamptz NOT NULL
);
CREATE INDEX follow_ups_lead_idx ON merchant.follow_ups (lead_id, at);

-- Geo check-ins; refused ones are kept too (flagged), with the distance measured.
CREATE TABLE merchant.visits (
    id           uuid PRIMARY KEY,
    lead_id      uuid NOT NULL REFERENCES merchant.leads (id),
    lat          double precision NOT NULL,
    lng          double precision NOT NULL,
    distance_m   double precision NOT NULL,
    accepted     boolean NOT NULL,
    note         text NOT NULL,
    by_user      uuid NOT NULL,
    at           timestamptz NOT NULL
);
CREATE INDEX visits_lead_idx ON merchant.visits (lead_id, at);

CREATE SEQUENCE merchant.contract_no_seq;

-- Contracts are never changed: a renewal or a correction is a new contract.
CREATE TABLE merchant.contracts (
    id               uuid PRIMARY KEY,
    lead_id          uuid NOT NULL REFERENCES merchant.leads (id),
    contract_no      text NOT NULL UNIQUE,
    commission_rate  numeric(9, 6) NOT NULL CHECK (commission_rate >= 0 AND commission_rate <= 1), -- a fraction: 0.065 is 6.5%
    settlement_cycle text NOT NULL CHECK (settlement_cycle IN ('T+1', 'T+7', 'monthly')),
    starts_on        date NOT NULL,
    ends_on          date NOT NULL CHECK (ends_on > starts_on),
    signed_by        uuid NOT NULL,
    signed_at        timestamptz NOT NULL,
    CONSTRAINT contracts_lead_key UNIQUE (lead_id)
);

-- Onboarding mirrors WeChat Pay's sub-merchant application (特约商户进件).
CREATE TABLE merchant.onboarding (
    id            uuid PRIMARY KEY,
    lead_id       uuid NOT NULL REFERENCES merchant.leads (id),
    contract_id   uuid NOT NULL REFERENCES merchant.contracts (id),
    state         text NOT NULL CHECK (state IN ('editing', 'auditing', 'rejected', 'finished')),
    submitted_by  uuid NOT NULL,
    submitted_at  timestamptz NOT NULL,
    reviewer_id   uuid,
    reviewed_at   timestamptz,
    reason        text NOT NULL DEFAULT '',
    CONSTRAINT onboarding_lead_key UNIQUE (lead_id)
);

CREATE TABLE merchant.merchants (
    id               uuid PRIMARY KEY,
    lead_id          uuid NOT NULL REFERENCES merchant.leads (id),
    contract_id      uuid NOT NULL REFERENCES merchant.contracts (id),
    name             text NOT NULL,
    category         text NOT NULL,
    city             text NOT NULL,
    lat              double precision NOT NULL,
    lng              double precision NOT NULL,
    owner_id         uuid,                              -- the rep who signed it
    org_unit_id      uuid,
    status           text NOT NULL CHECK (status IN ('live')),
    sub_mchid        text NOT NULL,                     -- WeChat Pay sub-merchant number
    webhook_url      text NOT NULL,
    webhook_secret   text NOT NULL,
    commission_rate  numeric(9, 6) NOT NULL CHECK (commission_rate >= 0 AND commission_rate <= 1),
    settlement_cycle text NOT NULL,
    owner_login      text,                              -- the merchant owner's login, once made
    live_at          timestamptz NOT NULL,
    CONSTRAINT merchants_lead_key UNIQUE (lead_id)
);
CREATE INDEX merchants_live_idx ON merchant.merchants (category) WHERE status = 'live';

---- create above / drop below ----
DROP SCHEMA merchant CASCADE;
