-- Issue 15, part 2: monthly targets, attainment and commission computed from the
-- pipeline's events, and the rollups the sales reports read.

-- A lead's signing and going live, credited once to the rep who held it then. Kept by
-- the database on every stage change (stage_history), whichever use case made it.
CREATE TABLE merchant.sales_credits (
    lead_id      uuid NOT NULL REFERENCES merchant.leads (id),
    kind         text NOT NULL CHECK (kind IN ('signed', 'live')),
    rep_id       uuid,
    org_unit_id  uuid,
    city         text NOT NULL,
    at           timestamptz NOT NULL,
    month        date NOT NULL,                          -- the Shanghai month of at
    PRIMARY KEY (lead_id, kind)
);
CREATE INDEX sales_credits_month_idx ON merchant.sales_credits (month, org_unit_id, rep_id);

-- Reports' rollups: how many leads first reached each stage, and the days they took
-- from creation, by the month reached and the month created (its cohort) per team and
-- city, and by the month reached per rep. Kept by the same trigger; a report reads a
-- few thousand rows instead of years of stage history.
CREATE TABLE merchant.stage_rollup (
    month        date NOT NULL,
    cohort       date NOT NULL,
    org_unit_id  uuid,
    city         text NOT NULL,
    to_stage     text NOT NULL,
    leads        bigint NOT NULL,
    days_sum     double precision NOT NULL
);
CREATE UNIQUE INDEX stage_rollup_key ON merchant.stage_rollup (org_unit_id, month, cohort, city, to_stage) NULLS NOT DISTINCT;

CREATE TABLE merchant.stage_rollup_rep (
    month        date NOT NULL,
    rep_id       uuid,
    org_unit_id  uuid,
    city         text NOT NULL,
    to_stage     text NOT NULL,
    leads        bigint NOT NULL,
    days_sum     double precision NOT NULL
);
CREATE UNIQUE INDEX stage_rollup_rep_key ON merchant.stage_rollup_rep (rep_id, month, org_unit_id, city, to_stage) NULLS NOT DISTINCT;
CREATE INDEX stage_rollup_rep_unit_idx ON merchant.stage_rollup_rep (org_unit_id, month);

CREATE FUNCTION merchant.credit_stage() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    l merchant.leads%ROWTYPE;
BEGIN
    SELECT * INTO l FROM merchant.leads WHERE id = NEW.lead_id;
    -- Only the first time a lead reaches a stage counts (a lead reopened and signed
    -- again is one signing).
    IF EXISTS (SELECT 1 FROM merchant.stage_history h
               WHERE h.lead_id = NEW.lead_id AND h.to_stage = NEW.to_stage AND h.id <> NEW.id) THEN
        RETURN NEW;
    END IF;
    INSERT INTO merchant.stage_rollup AS r (month, cohort, org_unit_id, city, to_stage, leads, days_sum)
    VALUES (date_trunc('month', NEW.at AT TIME ZONE 'Asia/Shanghai')::date,
            date_trunc('month', l.created_at AT TIME ZONE 'Asia/Shanghai')::date,
            l.org_unit_id, l.city, NEW.to_stage, 1, greatest(0, extract(epoch FROM NEW.at - l.created_at) / 86400))
    ON CONFLICT (org_unit_id, month, cohort, city, to_stage)
    DO UPDATE SET leads = r.leads + 1, days_sum = r.days_sum + excluded.days_sum;
    INSERT INTO merchant.stage_rollup_rep AS r (month, rep_id, org_unit_id, city, to_stage, leads, days_sum)
    VALUES (date_trunc('month', NEW.at AT TIME ZONE 'Asia/Shanghai')::date, l.owner_id,
            l.org_unit_id, l.city, NEW.to_stage, 1, greatest(0, extract(epoch FROM NEW.at - l.created_at) / 86400))
    ON CONFLICT (rep_id, month, org_unit_id, city, to_stage)
    DO UPDATE SET leads = r.leads + 1, days_sum = r.days_sum + excluded.days_sum;
    IF NEW.to_stage IN ('signed', 'live') THEN
        INSERT INTO merchant.sales_credits (lead_id, kind, rep_id, org_unit_id, city, at, month)
        VALUES (NEW.lead_id, NEW.to_stage, l.owner_id, l.org_unit_id, l.city, NEW.at,
                date_trunc('month', NEW.at AT TIME ZONE 'Asia/Shanghai')::date)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stage_history_credit AFTER INSERT ON merchant.stage_history
    FOR EACH ROW EXECUTE FUNCTION merchant.credit_stage();

-- What the history already holds, rolled up once (merchant.rollup_history, also
-- used after a bulk load with the trigger off).
CREATE FUNCTION merchant.rollup_history() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DROP TABLE IF EXISTS first_reached;
    CREATE TEMP TABLE first_reached AS
    SELECT h.lead_id, h.to_stage, h.at, l.created_at, l.org_unit_id, l.owner_id, l.city
    FROM (SELECT DISTINCT ON (lead_id, to_stage) lead_id, to_stage, at FROM merchant.stage_history ORDER BY lead_id, to_stage, at) h
    JOIN merchant.leads l ON l.id = h.lead_id;
    INSERT INTO merchant.stage_rollup (month, cohort, org_unit_id, city, to_stage, leads, days_sum)
    SELECT date_trunc('month', at AT TIME ZONE 'Asia/Shanghai')::date, date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date,
           org_unit_id, city, to_stage, count(*), sum(greatest(0, extract(epoch FROM at - created_at) / 86400))
    FROM first_reached GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO merchant.stage_rollup_rep (month, rep_id, org_unit_id, city, to_stage, leads, days_sum)
    SELECT date_trunc('month', at AT TIME ZONE 'Asia/Shanghai')::date, owner_id, org_unit_id, city, to_stage, count(*),
           sum(greatest(0, extract(epoch FROM at - created_at) / 86400))
    FROM first_reached GROUP BY 1, 2, 3, 4, 5;
    INSERT INTO merchant.sales_credits (lead_id, kind, rep_id, org_unit_id, city, at, month)
    SELECT lead_id, to_stage, owner_id, org_unit_id, city, at, date_trunc('month', at AT TIME ZONE 'Asia/Shanghai')::date
    FROM first_reached WHERE to_stage IN ('signed', 'live')
    ON CONFLICT DO NOTHING;
    DROP TABLE first_reached;
END $$;
SELECT merchant.rollup_history();

-- First-month GMV: payments (and refunds, negative) of a merchant's first 30 days
-- live, from billing's events, credited to the rep who signed it, in the month it
-- went live. One row per payment or refund: a redelivered event adds nothing.
CREATE TABLE merchant.first_month_gmv (
    source_id    uuid PRIMARY KEY,                      -- the order (payment) or refund id
    merchant_id  uuid NOT NULL REFERENCES merchant.merchants (id),
    rep_id       uuid,
    org_unit_id  uuid,
    month        date NOT NULL,                         -- the Shanghai month the merchant went live
    amount_fen   bigint NOT NULL,
    at           timestamptz NOT NULL
);
CREATE INDEX first_month_gmv_month_idx ON merchant.first_month_gmv (month, org_unit_id, rep_id);

-- Monthly targets of a rep or a team.
CREATE TABLE merchant.sales_targets (
    month                date NOT NULL CHECK (extract(day FROM month) = 1),
    subject              text NOT NULL CHECK (subject IN ('rep', 'team')),
    subject_id           uuid NOT NULL,
    org_unit_id          uuid,                          -- the rep's team, or the team
    signings             integer NOT NULL CHECK (signings >= 0),
    live_shops           integer NOT NULL CHECK (live_shops >= 0),
    first_month_gmv_fen  bigint NOT NULL CHECK (first_month_gmv_fen >= 0),
    set_by               uuid NOT NULL,
    set_at               timestamptz NOT NULL,
    PRIMARY KEY (month, subject, subject_id)
);

-- Sales commission of a month for a team (or every team: org_unit_id NULL), computed,
-- then approved through shared/approval. A rejected run may be computed again.
CREATE TABLE merchant.commission_runs (
    id            uuid PRIMARY KEY,
    month         date NOT NULL,
    org_unit_id   uuid,
    state         text NOT NULL CHECK (state IN ('pending_approval', 'approved', 'rejected')),
    approval_id   uuid,
    total_fen     bigint NOT NULL,
    rules         jsonb NOT NULL,
    computed_by   uuid NOT NULL,
    computed_at   timestamptz NOT NULL
);
CREATE UNIQUE INDEX commission_runs_current_key ON merchant.commission_runs (month, org_unit_id) NULLS NOT DISTINCT
    WHERE state <> 'rejected';

CREATE TABLE merchant.commission_lines (
    run_id       uuid NOT NULL REFERENCES merchant.commission_runs (id),
    rep_id       uuid NOT NULL,
    org_unit_id  uuid,
    signings     integer NOT NULL,
    live_shops   integer NOT NULL,
    gmv_fen      bigint NOT NULL,
    amount_fen   bigint NOT NULL,
    PRIMARY KEY (run_id, rep_id)
);

-- Reports: the current funnel of a city manager's teams (an index-only scan), pool health.
CREATE INDEX leads_unit_stage_idx ON merchant.leads (org_unit_id, stage) INCLUDE (owner_id, city, updated_at);
-- Pool health: the age of the leads waiting in a city's pools, an index-only scan.
CREATE INDEX leads_pool_age_idx ON merchant.leads (org_unit_id, updated_at) WHERE owner_id IS NULL AND stage NOT IN ('live', 'lost');
CREATE INDEX lead_owner_history_reclaimed_idx ON merchant.lead_owner_history (at) WHERE event = 'reclaimed';

---- create above / drop below ----
DROP INDEX merchant.lead_owner_history_reclaimed_idx;
DROP INDEX merchant.leads_pool_age_idx;
DROP INDEX merchant.leads_unit_stage_idx;
DROP TABLE merchant.commission_lines;
DROP TABLE merchant.commission_runs;
DROP TABLE merchant.sales_targets;
DROP TABLE merchant.first_month_gmv;
DROP TRIGGER stage_history_credit ON merchant.stage_history;
DROP FUNCTION merchant.credit_stage();
DROP FUNCTION merchant.rollup_history();
DROP TABLE merchant.stage_rollup_rep;
DROP TABLE merchant.stage_rollup;
DROP TABLE merchant.sales_credits;
