-- Import speed (issue 12): the similar-name-nearby check as one index probe that reads
-- no table row, and the stage rollups kept per statement instead of per row.

-- A shop of a similar name close by: one GiST index over the point (planar, in
-- degrees) and the name's trigrams. A probe is a box around the point and `name % q`:
-- the index compares the trigrams it stores, so the rows it returns are already
-- alike, and only those are measured exactly (geography) and read. It replaces the
-- geography index, which returned every shop within the radius to be compared by
-- reading it.
DROP INDEX merchant.leads_geo_idx;
CREATE INDEX leads_near_name_idx ON merchant.leads USING gist ((ST_SetSRID(ST_MakePoint(lng, lat), 4326)), name gist_trgm_ops);

-- The stage rollups and sales credits, once per statement over the rows it added
-- (a transition table): an import of 100,000 leads is a few grouped statements, not
-- 100,000 runs of the per-row trigger. A lead counts the first time it reaches a stage:
-- when the history holds no earlier row for the lead and stage than those the
-- statement added (several added at once count once, at the earliest).
CREATE FUNCTION merchant.credit_stages() RETURNS trigger LANGUAGE plpgsql AS $$
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
DROP TRIGGER stage_history_credit ON merchant.stage_history;
CREATE TRIGGER stage_history_credit AFTER INSERT ON merchant.stage_history
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION merchant.credit_stages();

---- create above / drop below ----
DROP TRIGGER stage_history_credit ON merchant.stage_history;
CREATE TRIGGER stage_history_credit AFTER INSERT ON merchant.stage_history
    FOR EACH ROW EXECUTE FUNCTION merchant.credit_stage();
DROP FUNCTION merchant.credit_stages();
DROP INDEX merchant.leads_near_name_idx;
CREATE INDEX leads_geo_idx ON merchant.leads USING gist ((ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography));
