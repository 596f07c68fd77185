-- Issue 15, part 2: planned visits and reminders, check-out and accuracy, speed
-- flags, visit photos and onboarding documents (the files are in shared/storage; the
-- rows say where), contract renewal and termination.

-- A planned visit on a rep's calendar (拜访计划); org_unit_id is the rep's team when
-- planned, for the team's calendar.
CREATE TABLE merchant.visit_plans (
    id           uuid PRIMARY KEY,
    lead_id      uuid NOT NULL REFERENCES merchant.leads (id),
    rep_id       uuid NOT NULL,
    org_unit_id  uuid,
    starts_at    timestamptz NOT NULL,
    minutes      integer NOT NULL CHECK (minutes BETWEEN 5 AND 600),
    purpose      text NOT NULL,
    remind_at    timestamptz,                            -- NULL: no reminder
    reminded_at  timestamptz,                            -- when the reminder went out
    status       text NOT NULL CHECK (status IN ('planned', 'done', 'canceled')),
    visit_id     uuid,                                   -- the check-in that made it done
    created_by   uuid NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX visit_plans_rep_idx ON merchant.visit_plans (rep_id, starts_at);
CREATE INDEX visit_plans_unit_idx ON merchant.visit_plans (org_unit_id, starts_at);
-- The reminder task's work: due reminders not yet sent.
CREATE INDEX visit_plans_due_idx ON merchant.visit_plans (remind_at)
    WHERE reminded_at IS NULL AND status = 'planned' AND remind_at IS NOT NULL;

-- A rep's to-dos: a reminder that went out stays until done or the visit is made.
CREATE TABLE merchant.rep_todos (
    id          uuid PRIMARY KEY,
    rep_id      uuid NOT NULL,
    plan_id     uuid NOT NULL REFERENCES merchant.visit_plans (id),
    lead_id     uuid NOT NULL REFERENCES merchant.leads (id),
    title       text NOT NULL,
    due_at      timestamptz NOT NULL,
    done_at     timestamptz,
    created_at  timestamptz NOT NULL,
    CONSTRAINT rep_todos_plan_key UNIQUE (plan_id)     -- one reminder per plan, however often the task runs
);
CREATE INDEX rep_todos_open_idx ON merchant.rep_todos (rep_id, due_at) WHERE done_at IS NULL;

-- Check-ins carry the reported accuracy, the plan they fulfil, the check-out, and a
-- flag when the rep could not have got there from their previous check-in in time.
ALTER TABLE merchant.visits
    ADD COLUMN accuracy_m      double precision,
    ADD COLUMN plan_id         uuid REFERENCES merchant.visit_plans (id),
    ADD COLUMN org_unit_id     uuid,
    ADD COLUMN out_at          timestamptz,
    ADD COLUMN out_lat         double precision,
    ADD COLUMN out_lng         double precision,
    ADD COLUMN out_distance_m  double precision,
    ADD COLUMN speed_kmh       double precision,        -- from the rep's previous check-in
    ADD COLUMN flag            text NOT NULL DEFAULT '' CHECK (flag IN ('', 'too_fast'));
-- A rep's check-ins in time order: the previous one (speed) and visits per rep per day.
CREATE INDEX visits_rep_idx ON merchant.visits (by_user, at) WHERE accepted;
-- Visits per rep per day of a city's teams: an index-only scan.
CREATE INDEX visits_unit_idx ON merchant.visits (org_unit_id, at) INCLUDE (by_user, flag) WHERE accepted;

CREATE TABLE merchant.visit_photos (
    id            uuid PRIMARY KEY,
    visit_id      uuid NOT NULL REFERENCES merchant.visits (id),
    storage_key   text NOT NULL,
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL CHECK (size_bytes > 0),
    sha256        text NOT NULL,
    by_user       uuid NOT NULL,
    at            timestamptz NOT NULL,
    CONSTRAINT visit_photos_same_key UNIQUE (visit_id, sha256)   -- the same photo twice is one photo
);

-- Onboarding documents (the category's checklist: licence, food licence, ID, bank
-- account, storefront photos); a key may have several files (ID front and back).
CREATE TABLE merchant.onboarding_documents (
    id            uuid PRIMARY KEY,
    lead_id       uuid NOT NULL REFERENCES merchant.leads (id),
    doc_key       text NOT NULL CHECK (doc_key IN ('business_licence', 'food_licence', 'legal_id', 'bank_account', 'storefront')),
    storage_key   text NOT NULL,
    file_name     text NOT NULL,                        -- as uploaded, for display only
    content_type  text NOT NULL,
    size_bytes    bigint NOT NULL CHECK (size_bytes > 0),
    sha256        text NOT NULL,
    by_user       uuid NOT NULL,
    at            timestamptz NOT NULL,
    removed_at    timestamptz,
    CONSTRAINT onboarding_documents_same_file UNIQUE (lead_id, doc_key, sha256)
);
CREATE INDEX onboarding_documents_lead_idx ON merchant.onboarding_documents (lead_id, doc_key, at) WHERE removed_at IS NULL;

-- Renewal and termination. A renewal is a new contract (renewed_from) and the old one
-- becomes 'renewed'; a contract past its end becomes 'expired'. ends_on stays what was
-- signed, so the pools' reclaim rule can read when a shop's contract ends.
ALTER TABLE merchant.contracts DROP CONSTRAINT contracts_status_check;
ALTER TABLE merchant.contracts ADD CONSTRAINT contracts_status_check
    CHECK (status IN ('pending_approval', 'active', 'rejected', 'terminated', 'renewed', 'expired'));
ALTER TABLE merchant.contracts
    ADD COLUMN renewed_from        uuid REFERENCES merchant.contracts (id),
    ADD COLUMN ended_at            timestamptz,          -- terminated, renewed or expired
    ADD COLUMN end_reason          text NOT NULL DEFAULT '',
    ADD COLUMN ended_by            uuid;
CREATE INDEX contracts_active_end_idx ON merchant.contracts (ends_on) WHERE status = 'active';
CREATE UNIQUE INDEX contracts_renewed_from_key ON merchant.contracts (renewed_from) WHERE renewed_from IS NOT NULL;

-- A merchant whose contract ended (terminated or expired, not renewed) stops being live.
ALTER TABLE merchant.merchants DROP CONSTRAINT merchants_status_check;
ALTER TABLE merchant.merchants ADD CONSTRAINT merchants_status_check CHECK (status IN ('live', 'ended'));

---- create above / drop below ----
ALTER TABLE merchant.merchants DROP CONSTRAINT merchants_status_check;
ALTER TABLE merchant.merchants ADD CONSTRAINT merchants_status_check CHECK (status IN ('live'));
DROP INDEX merchant.contracts_renewed_from_key;
DROP INDEX merchant.contracts_active_end_idx;
ALTER TABLE merchant.contracts DROP COLUMN renewed_from, DROP COLUMN ended_at, DROP COLUMN end_reason, DROP COLUMN ended_by;
ALTER TABLE merchant.contracts DROP CONSTRAINT contracts_status_check;
ALTER TABLE merchant.contracts ADD CONSTRAINT contracts_status_check
    CHECK (status IN ('pending_approval', 'active', 'rejected', 'terminated'));
DROP TABLE merchant.onboarding_documents;
DROP TABLE merchant.visit_photos;
DROP INDEX merchant.visits_unit_idx;
DROP INDEX merchant.visits_rep_idx;
ALTER TABLE merchant.visits DROP COLUMN accuracy_m, DROP COLUMN plan_id, DROP COLUMN org_unit_id, DROP COLUMN out_at,
    DROP COLUMN out_lat, DROP COLUMN out_lng, DROP COLUMN out_distance_m, DROP COLUMN speed_kmh, DROP COLUMN flag;
DROP TABLE merchant.rep_todos;
DROP TABLE merchant.visit_plans;
