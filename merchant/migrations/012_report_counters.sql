-- Issue 15: the reports at a million leads. First the funnel by current stage and the
-- size of the pools: the leads of a city's teams by stage and whether they wait in a
-- pool (no owner), kept by statement triggers on merchant.leads (one upsert per team,
-- city and stage a statement touches, however many rows: an import of thousands of
-- leads adds a few rows' work), so the funnel reads a few hundred counters instead of
-- an index-only scan of every lead in scope.
CREATE TABLE merchant.lead_stage_counts (
    org_unit_id  uuid,
    city         text NOT NULL,
    stage        text NOT NULL,
    pooled       boolean NOT NULL,                       -- owner_id IS NULL
    leads        bigint NOT NULL
);
CREATE UNIQUE INDEX lead_stage_counts_key ON merchant.lead_stage_counts (org_unit_id, city, stage, pooled) NULLS NOT DISTINCT;

-- Adds the statement's net change per (team, city, stage, pooled); an update that leaves
-- those alone (a name, an owner) writes nothing. Counters are upserted in key order,
-- so two statements never wait for each other's counters crosswise.
CREATE FUNCTION merchant.count_lead_stages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO merchant.lead_stage_counts AS c (org_unit_id, city, stage, pooled, leads)
        SELECT org_unit_id, city, stage, owner_id IS NULL, count(*) FROM new_leads GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (org_unit_id, city, stage, pooled) DO UPDATE SET leads = c.leads + excluded.leads;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO merchant.lead_stage_counts AS c (org_unit_id, city, stage, pooled, leads)
        SELECT org_unit_id, city, stage, owner_id IS NULL, -count(*) FROM old_leads GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (org_unit_id, city, stage, pooled) DO UPDATE SET leads = c.leads + excluded.leads;
    ELSE
        INSERT INTO merchant.lead_stage_counts AS c (org_unit_id, city, stage, pooled, leads)
        SELECT org_unit_id, city, stage, pooled, sum(d) FROM (
            SELECT org_unit_id, city, stage, owner_id IS NULL AS pooled, -1 AS d FROM old_leads
            UNION ALL
            SELECT org_unit_id, city, stage, owner_id IS NULL, 1 FROM new_leads) x
        GROUP BY 1, 2, 3, 4 HAVING sum(d) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (org_unit_id, city, stage, pooled) DO UPDATE SET leads = c.leads + excluded.leads;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER leads_count_insert AFTER INSERT ON merchant.leads
    REFERENCING NEW TABLE AS new_leads FOR EACH STATEMENT EXECUTE FUNCTION merchant.count_lead_stages();
CREATE TRIGGER leads_count_update AFTER UPDATE ON merchant.leads
    REFERENCING OLD TABLE AS old_leads NEW TABLE AS new_leads FOR EACH STATEMENT EXECUTE FUNCTION merchant.count_lead_stages();
CREATE TRIGGER leads_count_delete AFTER DELETE ON merchant.leads
    REFERENCING OLD TABLE AS old_leads FOR EACH STATEMENT EXECUTE FUNCTION merchant.count_lead_stages();

-- What the leads already are (merchant.recount_lead_stages, also used after a bulk
-- load with the triggers off).
CREATE FUNCTION merchant.recount_lead_stages() RETURNS void LANGUAGE sql AS $$
    DELETE FROM merchant.lead_stage_counts;
    INSERT INTO merchant.lead_stage_counts (org_unit_id, city, stage, pooled, leads)
    SELECT org_unit_id, city, stage, owner_id IS NULL, count(*) FROM merchant.leads GROUP BY 1, 2, 3, 4;
$$;
SELECT merchant.recount_lead_stages();

-- The report by rep reads a city's teams' rows of the reps' rollup without touching
-- the table (an index-only scan); it replaces migration 010's index on the same keys.
CREATE INDEX stage_rollup_rep_unit_month_idx ON merchant.stage_rollup_rep (org_unit_id, month)
    INCLUDE (rep_id, city, to_stage, leads, days_sum);
DROP INDEX merchant.stage_rollup_rep_unit_idx;

-- Attainment and the leaderboard read a month's credits of a city's teams without
-- touching the table.
CREATE INDEX sales_credits_month_unit_idx ON merchant.sales_credits (month, org_unit_id) INCLUDE (rep_id, kind);
DROP INDEX merchant.sales_credits_month_idx;

-- Visits per rep per Shanghai day: accepted check-ins and how many were flagged, kept
-- by statement triggers on merchant.visits (a check-out, which changes none of the
-- keys, writes nothing), so the report reads one row per rep and day instead of every
-- check-in of a city's month.
CREATE TABLE merchant.visit_days (
    org_unit_id  uuid,
    day          date NOT NULL,                          -- the Shanghai day of the check-in
    rep_id       uuid NOT NULL,
    visits       bigint NOT NULL,
    flagged      bigint NOT NULL
);
CREATE UNIQUE INDEX visit_days_key ON merchant.visit_days (org_unit_id, day, rep_id) INCLUDE (visits, flagged)
    NULLS NOT DISTINCT;
CREATE INDEX visit_days_rep_idx ON merchant.visit_days (rep_id, day) INCLUDE (org_unit_id, visits, flagged);

CREATE FUNCTION merchant.count_visit_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO merchant.visit_days AS c (org_unit_id, day, rep_id, visits, flagged)
        SELECT org_unit_id, (at AT TIME ZONE 'Asia/Shanghai')::date, by_user, count(*), count(*) FILTER (WHERE flag <> '')
        FROM new_visits WHERE accepted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (org_unit_id, day, rep_id) DO UPDATE SET visits = c.visits + excluded.visits, flagged = c.flagged + excluded.flagged;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO merchant.visit_days AS c (org_unit_id, day, rep_id, visits, flagged)
        SELECT org_unit_id, (at AT TIME ZONE 'Asia/Shanghai')::date, by_user, -count(*), -count(*) FILTER (WHERE flag <> '')
        FROM old_visits WHERE accepted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
        ON CONFLICT (org_unit_id, day, rep_id) DO UPDATE SET visits = c.visits + excluded.visits, flagged = c.flagged + excluded.flagged;
    ELSE
        INSERT INTO merchant.visit_days AS c (org_unit_id, day, rep_id, visits, flagged)
        SELECT org_unit_id, day, by_user, sum(n), sum(f) FROM (
            SELECT org_unit_id, (at AT TIME ZONE 'Asia/Shanghai')::date AS day, by_user, -1 AS n, -(flag <> '')::int AS f
            FROM old_visits WHERE accepted
            UNION ALL
            SELECT org_unit_id, (at AT TIME ZONE 'Asia/Shanghai')::date, by_user, 1, (flag <> '')::int
            FROM new_visits WHERE accepted) x
        GROUP BY 1, 2, 3 HAVING sum(n) <> 0 OR sum(f) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (org_unit_id, day, rep_id) DO UPDATE SET visits = c.visits + excluded.visits, flagged = c.flagged + excluded.flagged;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER visits_count_insert AFTER INSERT ON merchant.visits
    REFERENCING NEW TABLE AS new_visits FOR EACH STATEMENT EXECUTE FUNCTION merchant.count_visit_days();
CREATE TRIGGER visits_count_update AFTER UPDATE ON merchant.visits
    REFERENCING OLD TABLE AS old_visits NEW TABLE AS new_visits FOR EACH STATEMENT EXECUTE FUNCTION merchant.count_visit_days();
CREATE TRIGGER visits_count_delete AFTER DELETE ON merchant.visits
    REFERENCING OLD TABLE AS old_visits FOR EACH STATEMENT EXECUTE FUNCTION merchant.count_visit_days();

CREATE FUNCTION merchant.recount_visit_days() RETURNS void LANGUAGE sql AS $$
    DELETE FROM merchant.visit_days;
    INSERT INTO merchant.visit_days (org_unit_id, day, rep_id, visits, flagged)
    SELECT org_unit_id, (at AT TIME ZONE 'Asia/Shanghai')::date, by_user, count(*), count(*) FILTER (WHERE flag <> '')
    FROM merchant.visits WHERE accepted GROUP BY 1, 2, 3;
$$;
SELECT merchant.recount_visit_days();

-- Reclaims per team and Shanghai day (pool health), kept by a statement trigger on
-- merchant.lead_owner_history: the team is the lead's when it was taken back.
CREATE TABLE merchant.reclaim_days (
    org_unit_id  uuid,
    day          date NOT NULL,
    reclaims     bigint NOT NULL
);
CREATE UNIQUE INDEX reclaim_days_key ON merchant.reclaim_days (org_unit_id, day) INCLUDE (reclaims) NULLS NOT DISTINCT;

CREATE FUNCTION merchant.count_reclaim_days() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO merchant.reclaim_days AS c (org_unit_id, day, reclaims)
    SELECT l.org_unit_id, (h.at AT TIME ZONE 'Asia/Shanghai')::date, count(*)
    FROM new_history h JOIN merchant.leads l ON l.id = h.lead_id
    WHERE h.event = 'reclaimed' GROUP BY 1, 2 ORDER BY 1, 2
    ON CONFLICT (org_unit_id, day) DO UPDATE SET reclaims = c.reclaims + excluded.reclaims;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_owner_history_count_reclaims AFTER INSERT ON merchant.lead_owner_history
    REFERENCING NEW TABLE AS new_history FOR EACH STATEMENT EXECUTE FUNCTION merchant.count_reclaim_days();

CREATE FUNCTION merchant.recount_reclaim_days() RETURNS void LANGUAGE sql AS $$
    DELETE FROM merchant.reclaim_days;
    INSERT INTO merchant.reclaim_days (org_unit_id, day, reclaims)
    SELECT l.org_unit_id, (h.at AT TIME ZONE 'Asia/Shanghai')::date, count(*)
    FROM merchant.lead_owner_history h JOIN merchant.leads l ON l.id = h.lead_id
    WHERE h.event = 'reclaimed' GROUP BY 1, 2;
$$;
SELECT merchant.recount_reclaim_days();

---- create above / drop below ----
CREATE INDEX sales_credits_month_idx ON merchant.sales_credits (month, org_unit_id, rep_id);
DROP INDEX merchant.sales_credits_month_unit_idx;
DROP TRIGGER lead_owner_history_count_reclaims ON merchant.lead_owner_history;
DROP FUNCTION merchant.recount_reclaim_days();
DROP FUNCTION merchant.count_reclaim_days();
DROP TABLE merchant.reclaim_days;
DROP TRIGGER visits_count_delete ON merchant.visits;
DROP TRIGGER visits_count_update ON merchant.visits;
DROP TRIGGER visits_count_insert ON merchant.visits;
DROP FUNCTION merchant.recount_visit_days();
DROP FUNCTION merchant.count_visit_days();
DROP TABLE merchant.visit_days;
CREATE INDEX stage_rollup_rep_unit_idx ON merchant.stage_rollup_rep (org_unit_id, month);
DROP INDEX merchant.stage_rollup_rep_unit_month_idx;
DROP TRIGGER leads_count_delete ON merchant.leads;
DROP TRIGGER leads_count_update ON merchant.leads;
DROP TRIGGER leads_count_insert ON merchant.leads;
DROP FUNCTION merchant.recount_lead_stages();
DROP FUNCTION merchant.count_lead_stages();
DROP TABLE merchant.lead_stage_counts;
