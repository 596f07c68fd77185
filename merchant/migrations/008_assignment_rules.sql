-- Pools, second part (issue 12): assignment rules by territory, reclaim rules per lead
-- level and after a contract ended, saved views, queued imports, automatic hand-over.

-- Assignment rules route new and imported leads: the rules of a unit (a city) are
-- ordered by position, the first whose territory holds the lead wins; the lead goes
-- to the rule's team (its pool), then to a rep of the team by round robin or by load,
-- while the rep is under the rule's capacity.
CREATE TABLE merchant.assignment_rules (
    id             uuid PRIMARY KEY,
    owner_unit_id  uuid NOT NULL,                   -- the unit whose leads it routes; its managers edit it
    position       integer NOT NULL CHECK (position >= 0),
    name           text NOT NULL CHECK (name <> ''),
    districts      text[] NOT NULL DEFAULT '{}',    -- matched in the lead's address
    area           geometry(MultiPolygon, 4326),    -- or the lead's position inside it
    team_unit_id   uuid NOT NULL,
    method         text NOT NULL CHECK (method IN ('round_robin', 'load')),
    capacity       integer NOT NULL DEFAULT 0 CHECK (capacity >= 0), -- open leads a rep may hold; 0: the team pool's holding cap
    rr_next        bigint NOT NULL DEFAULT 0,       -- the round robin's turn
    enabled        boolean NOT NULL DEFAULT true,
    updated_by     uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    CHECK (cardinality(districts) > 0 OR area IS NOT NULL)
);
CREATE INDEX assignment_rules_owner_idx ON merchant.assignment_rules (owner_unit_id, position);

-- A lead's level (A, B, C...; '' none): reclaim rules may differ by level.
ALTER TABLE merchant.leads ADD COLUMN level text NOT NULL DEFAULT '' CHECK (level ~ '^[A-Z]?$');
-- The rep whose leads came back to the pool when they were disabled or moved team,
-- until someone takes the lead: what managers review.
ALTER TABLE merchant.leads ADD COLUMN handed_over_from uuid;
CREATE INDEX leads_handed_over_idx ON merchant.leads (org_unit_id, id) WHERE handed_over_from IS NOT NULL;

-- Reclaim when the shop's contract ended this many days ago (0: never).
ALTER TABLE merchant.pools ADD COLUMN reclaim_contract_ended_days integer NOT NULL DEFAULT 0 CHECK (reclaim_contract_ended_days >= 0);

-- A pool's reclaim rules for leads of one level, in place of the pool's own.
CREATE TABLE merchant.pool_level_rules (
    pool_id                      uuid NOT NULL REFERENCES merchant.pools (id),
    level                        text NOT NULL CHECK (level ~ '^[A-Z]$'),
    reclaim_followup_days        integer NOT NULL CHECK (reclaim_followup_days >= 0),
    reclaim_unsigned_days        integer NOT NULL CHECK (reclaim_unsigned_days >= 0),
    reclaim_contract_ended_days  integer NOT NULL CHECK (reclaim_contract_ended_days >= 0),
    PRIMARY KEY (pool_id, level)
);

-- A user's saved lead lists: filters and sort, by name.
CREATE TABLE merchant.saved_views (
    id          uuid PRIMARY KEY,
    user_id     uuid NOT NULL,
    name        text NOT NULL CHECK (name <> ''),
    filters     jsonb NOT NULL,
    created_at  timestamptz NOT NULL,
    CONSTRAINT saved_views_name_key UNIQUE (user_id, name)
);

-- Imports wait in a queue for the worker; the file waits beside them until it is read.
ALTER TABLE merchant.imports DROP CONSTRAINT imports_state_check;
ALTER TABLE merchant.imports ADD CONSTRAINT imports_state_check CHECK (state IN ('queued', 'running', 'done', 'failed'));
ALTER TABLE merchant.imports
    ADD COLUMN by_rules  boolean NOT NULL DEFAULT false,   -- routed by the assignment rules
    ADD COLUMN assigned  integer NOT NULL DEFAULT 0,       -- leads the rules gave a rep
    ADD COLUMN error     text NOT NULL DEFAULT '';
CREATE INDEX imports_queue_idx ON merchant.imports (created_at) WHERE state IN ('queued', 'running');
CREATE TABLE merchant.import_files (
    import_id  uuid PRIMARY KEY REFERENCES merchant.imports (id),
    data       bytea NOT NULL
);

---- create above / drop below ----
DROP TABLE merchant.import_files;
DROP INDEX merchant.imports_queue_idx;
ALTER TABLE merchant.imports DROP COLUMN by_rules, DROP COLUMN assigned, DROP COLUMN error;
ALTER TABLE merchant.imports DROP CONSTRAINT imports_state_check;
ALTER TABLE merchant.imports ADD CONSTRAINT imports_state_check CHECK (state IN ('running', 'done', 'failed'));
DROP TABLE merchant.saved_views;
DROP TABLE merchant.pool_level_rules;
ALTER TABLE merchant.pools DROP COLUMN reclaim_contract_ended_days;
DROP INDEX merchant.leads_handed_over_idx;
ALTER TABLE merchant.leads DROP COLUMN handed_over_from, DROP COLUMN level;
DROP TABLE merchant.assignment_rules;
