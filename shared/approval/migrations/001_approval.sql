CREATE SCHEMA IF NOT EXISTS approval;

-- One approval request: a domain asks for a decision about one of its objects (a
-- contract's discount, a refund over a limit). Who may decide is every holder of
-- approver_perm whose data scope reaches the subject's scope columns (owner, org unit,
-- merchant), except the requester; so each approver's to-do list is the pending
-- requests of the permissions they hold, within their scope, and it follows role and
-- org changes without copying rows.
CREATE TABLE approval.requests (
    id                 uuid PRIMARY KEY,              -- UUIDv7: time-ordered, the list cursor
    kind               text NOT NULL CHECK (kind ~ '^[a-z][a-z_]*\.[a-z][a-z_.]*$'), -- "merchant.contract_discount"
    subject_type       text NOT NULL CHECK (subject_type <> ''),
    subject_id         text NOT NULL CHECK (subject_id <> ''),
    title              text NOT NULL CHECK (title <> ''),
    summary            text NOT NULL DEFAULT '',
    payload            jsonb NOT NULL DEFAULT '{}',
    approver_perm      text NOT NULL CHECK (approver_perm <> ''),
    owner_id           uuid,                          -- the subject's scope columns
    org_unit_id        uuid,
    merchant_id        uuid,
    requested_by       uuid NOT NULL,
    requested_by_login text NOT NULL DEFAULT '',
    requested_at       timestamptz NOT NULL,
    state              text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected', 'withdrawn')),
    decided_by         uuid,
    decided_by_login   text NOT NULL DEFAULT '',
    decided_at         timestamptz,
    comment            text NOT NULL DEFAULT '',
    CHECK ((state = 'pending') = (decided_at IS NULL))
);
-- At most one pending request per subject and kind: a repeated request is refused.
CREATE UNIQUE INDEX requests_one_pending ON approval.requests (kind, subject_type, subject_id) WHERE state = 'pending';
CREATE INDEX requests_todo ON approval.requests (approver_perm, id DESC) WHERE state = 'pending';
CREATE INDEX requests_requester ON approval.requests (requested_by, id DESC);
CREATE INDEX requests_subject ON approval.requests (subject_type, subject_id, id DESC);
