-- Import hot path (issue 12): what every imported lead paid for per row and did not need.

-- The stage rollups: a lead's first stage-history row (the one that takes the lead's
-- own id, written with the lead) is its first at that stage by construction, so the
-- look-up for an earlier row of the same stage is made only for the others. An
-- import of 100,000 leads made 100,000 of those look-ups.
CREATE OR REPLACE FUNCTION merchant.credit_stages() RETURNS trigger LANGUAGE plpgsql
-- The added rows' leads are looked up by key: the planner, which cannot tell how many
-- rows a transition table holds, otherwise hashes the whole leads table for them.
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
BEGIN
    WITH firsts AS (
        SELECT a.lead_id, a.to_stage, a.at, l.created_at, l.org_unit_id, l.owner_id, l.city,
               date_trunc('month', a.at AT TIME ZONE 'Asia/Shanghai')::date AS month,
               greatest(0, extract(epoch FROM a.at - l.created_at) / 86400) AS days
        FROM (SELECT lead_id, to_stage, min(at) AS at, count(*) AS n, bool_or(id = lead_id) AS created
              FROM added GROUP BY lead_id, to_stage) a
        JOIN merchant.leads l ON l.id = a.lead_id
        WHERE a.created OR (SELECT count(*) FROM merchant.stage_history h WHERE h.lead_id = a.lead_id AND h.to_stage = a.to_stage) = a.n
    ), by_unit AS (
        INSERT INTO merchant.stage_rollup AS r (month, cohort, org_unit_id, city, to_stage, leads, days_sum)
        SELECT month, date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date, org_unit_id, city, to_stage, count(*), sum(days)
        FROM firsts GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (org_unit_id, month, cohort, city, to_stage)
        DO UPDATE SET leads = r.leads + excluded.leads, days_sum = r.days_sum + excluded.days_sum
    ), by_rep AS (
        INSERT INTO merchant.stage_rollup_rep AS r (month, rep_id, org_unit_id, city, to_stage, leads, days_sum)
        SELECT month, owner_id, org_unit_id, city, to_stage, count(*), sum(days)
        FROM firsts GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (rep_id, month, org_unit_id, city, to_stage)
        DO UPDATE SET leads = r.leads + excluded.leads, days_sum = r.days_sum + excluded.days_sum
    )
    INSERT INTO merchant.sales_credits (lead_id, kind, rep_id, org_unit_id, city, at, month)
    SELECT lead_id, to_stage, owner_id, org_unit_id, city, at, month FROM firsts WHERE to_stage IN ('signed', 'live')
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- A lead's pool, checked once per statement over the pools of the rows it added or
-- changed (an import's 100,000 rows are one pool) instead of one query a row. Nothing
-- deletes a pool.
CREATE FUNCTION merchant.check_lead_pools() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing uuid;
BEGIN
    SELECT p.pool_id INTO missing FROM (SELECT DISTINCT pool_id FROM changed) p
    WHERE NOT EXISTS (SELECT 1 FROM merchant.pools WHERE id = p.pool_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = format('leads: pool %s does not exist', missing);
    END IF;
    RETURN NULL;
END $$;
ALTER TABLE merchant.leads DROP CONSTRAINT leads_pool_id_fkey;
CREATE TRIGGER leads_pool_exists_insert AFTER INSERT ON merchant.leads
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION merchant.check_lead_pools();
CREATE TRIGGER leads_pool_exists_update AFTER UPDATE ON merchant.leads
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION merchant.check_lead_pools();

-- The history's lead, checked once per statement over the rows it added instead of
-- by a foreign key's per-row trigger (a query and a row lock on the lead per history
-- row: 2 of the 2.7 s the checks took in a 20,000-row import). Nothing deletes a lead
-- (a lost one is a stage), so the insert side is the side that can break.
CREATE FUNCTION merchant.check_history_leads() RETURNS trigger LANGUAGE plpgsql
SET enable_hashjoin = off SET enable_mergejoin = off AS $$
DECLARE
    missing uuid;
BEGIN
    SELECT a.lead_id INTO missing FROM added a
    WHERE NOT EXISTS (SELECT 1 FROM merchant.leads l WHERE l.id = a.lead_id) LIMIT 1;
    IF FOUND THEN
        RAISE foreign_key_violation USING MESSAGE = format('%s: lead %s does not exist', TG_TABLE_NAME, missing);
    END IF;
    RETURN NULL;
END $$;
ALTER TABLE merchant.stage_history DROP CONSTRAINT stage_history_lead_id_fkey;
CREATE TRIGGER stage_history_lead_exists AFTER INSERT ON merchant.stage_history
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION merchant.check_history_leads();
ALTER TABLE merchant.lead_owner_history DROP CONSTRAINT lead_owner_history_lead_id_fkey;
CREATE TRIGGER lead_owner_history_lead_exists AFTER INSERT ON merchant.lead_owner_history
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION merchant.check_history_leads();

---- create above / drop below ----
DROP TRIGGER lead_owner_history_lead_exists ON merchant.lead_owner_history;
DROP TRIGGER stage_history_lead_exists ON merchant.stage_history;
DROP FUNCTION merchant.check_history_leads();
ALTER TABLE merchant.lead_owner_history ADD CONSTRAINT lead_owner_history_lead_id_fkey FOREIGN KEY (lead_id) REFERENCES merchant.leads (id);
ALTER TABLE merchant.stage_history ADD CONSTRAINT stage_history_lead_id_fkey FOREIGN KEY (lead_id) REFERENCES merchant.leads (id);
DROP TRIGGER leads_pool_exists_update ON merchant.leads;
DROP TRIGGER leads_pool_exists_insert ON merchant.leads;
DROP FUNCTION merchant.check_lead_pools();
ALTER TABLE merchant.leads ADD CONSTRAINT leads_pool_id_fkey FOREIGN KEY (pool_id) REFERENCES merchant.pools (id);
CREATE OR REPLACE FUNCTION merchant.credit_stages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH firsts AS (
        SELECT a.lead_id, a.to_stage, a.at, l.created_at, l.org_unit_id, l.owner_id, l.city,
               date_trunc('month', a.at AT TIME ZONE 'Asia/Shanghai')::date AS month,
               greatest(0, extract(epoch FROM a.at - l.created_at) / 86400) AS days
        FROM (SELECT lead_id, to_stage, min(at) AS at, count(*) AS n FROM added GROUP BY lead_id, to_stage) a
        JOIN merchant.leads l ON l.id = a.lead_id
        WHERE (SELECT count(*) FROM merchant.stage_history h WHERE h.lead_id = a.lead_id AND h.to_stage = a.to_stage) = a.n
    ), by_unit AS (
        INSERT INTO merchant.stage_rollup AS r (month, cohort, org_unit_id, city, to_stage, leads, days_sum)
        SELECT month, date_trunc('month', created_at AT TIME ZONE 'Asia/Shanghai')::date, org_unit_id, city, to_stage, count(*), sum(days)
        FROM firsts GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (org_unit_id, month, cohort, city, to_stage)
        DO UPDATE SET leads = r.leads + excluded.leads, days_sum = r.days_sum + excluded.days_sum
    ), by_rep AS (
        INSERT INTO merchant.stage_rollup_rep AS r (month, rep_id, org_unit_id, city, to_stage, leads, days_sum)
        SELECT month, owner_id, org_unit_id, city, to_stage, count(*), sum(days)
        FROM firsts GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (rep_id, month, org_unit_id, city, to_stage)
        DO UPDATE SET leads = r.leads + excluded.leads, days_sum = r.days_sum + excluded.days_sum
    )
    INSERT INTO merchant.sales_credits (lead_id, kind, rep_id, org_unit_id, city, at, month)
    SELECT lead_id, to_stage, owner_id, org_unit_id, city, at, month FROM firsts WHERE to_stage IN ('signed', 'live')
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
