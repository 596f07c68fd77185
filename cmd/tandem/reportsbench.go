package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
)

// tandem bench reports (issue 15): every sales report as a city manager, over leads
// of several cities with years of stage history, visits and reclaims, p50 and p95 of
// each. The data is made in SQL; the stage-history trigger is off while loading and
// its rollups are built once after, as the migration does for existing history.
func benchReportsCmd() *cobra.Command {
	var leads, reps, years, runs int
	var full bool
	cmd := &cobra.Command{
		Use:   "reports",
		Short: "B-CRM sales reports as a city manager: p50/p95 of each over N leads, R reps, Y years of stage history (--full: 1M, 5,000, 3)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if full {
				leads, reps, years = 1_000_000, 5_000, 3
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			db, err := freshBenchDB(cmd.Context(), cfg.DatabaseURL, "tandem_bench_reports")
			if err != nil {
				return err
			}
			defer db.Close()
			ropt, err := redis.ParseURL(cfg.RedisURL)
			if err != nil {
				return err
			}
			ropt.DB = benchRedisDB
			rdb := redis.NewClient(ropt)
			defer rdb.Close()
			return benchReports(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), db, rdb, leads, reps, years, runs)
		},
	}
	cmd.Flags().IntVar(&leads, "leads", 100_000, "leads in the database")
	cmd.Flags().IntVar(&reps, "reps", 500, "sales reps, spread over 50 teams of 2 cities")
	cmd.Flags().IntVar(&years, "years", 3, "years of stage history")
	cmd.Flags().IntVar(&runs, "runs", 40, "times each report is read")
	cmd.Flags().BoolVar(&full, "full", false, "the issue's scale: 1,000,000 leads, 5,000 reps, 3 years")
	return cmd
}

func benchReports(ctx context.Context, w, progress io.Writer, db *pgxpool.Pool, rdb *redis.Client, leads, reps, years, runs int) error {
	ids := identity.NewService(db, rdb, identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	demo, err := ids.SeedDemo(ctx, demoPassword)
	if err != nil {
		return err
	}
	// 25 teams in Shanghai (the city manager's) and 25 in Hangzhou.
	var shTeams, hzTeams []uuid.UUID
	for i := range 24 {
		for _, c := range []struct {
			city string
			to   *[]uuid.UUID
		}{{identity.DemoShanghai, &shTeams}, {"杭州 Hangzhou", &hzTeams}} {
			u, err := ids.CreateOrgUnit(ctx, identity.System(), identity.NewOrgUnit{ParentID: demo.Units[c.city], Kind: identity.OrgTeam,
				Name: fmt.Sprintf("%s bench %02d", c.city, i)})
			if err != nil {
				return fmt.Errorf("bench team: %w", err)
			}
			*c.to = append(*c.to, u.ID)
		}
	}
	shTeams = append(shTeams, demo.Units[identity.DemoSHTeam1])
	hzTeams = append(hzTeams, demo.Units["杭州一组 HZ Team 1"])
	mgr, err := ids.Principal(ctx, demo.Users["sh.manager"])
	if err != nil {
		return err
	}
	start := time.Now()
	if err := seedReportData(ctx, db, progress, shTeams, hzTeams, demo.Users["sh1.rep"], leads, reps, years); err != nil {
		return err
	}
	var history int64
	if err := db.QueryRow(ctx, "SELECT count(*) FROM merchant.stage_history").Scan(&history); err != nil {
		return err
	}
	fmt.Fprintf(w, "| reports: %d leads, %d reps, %d years (%d stage changes) loaded with their rollups | %s |  |\n",
		leads, reps, years, history, time.Since(start).Round(time.Second))

	// The reps are identity users: the reports name them as the console does, in one
	// read per report (merchant.Staff.StaffMembers).
	svc := merchant.New(domain.Deps{DB: db}, merchant.Ports{Staff: merchant.IdentityStaff{Users: ids}}, merchant.Config{})
	rq := merchant.ReportQuery{Months: 12, Days: 30}
	month := time.Now().Format("2006-01")
	reports := []struct {
		name string
		read func() error
	}{
		{"funnel by stage", func() error { _, err := svc.Funnel(ctx, mgr, rq); return err }},
		{"funnel by cohort (12 months)", func() error { _, err := svc.Cohorts(ctx, mgr, rq); return err }},
		{"conversion and cycle time (12 months)", func() error { _, err := svc.Conversions(ctx, mgr, rq); return err }},
		{"by team", func() error { _, err := svc.BreakdownBy(ctx, mgr, "team", rq); return err }},
		{"by rep", func() error { _, err := svc.BreakdownBy(ctx, mgr, "rep", rq); return err }},
		{"by city", func() error { _, err := svc.BreakdownBy(ctx, mgr, "city", rq); return err }},
		{"visits per rep per day (30 days)", func() error { _, err := svc.VisitsPerRepPerDay(ctx, mgr, rq); return err }},
		{"pool health", func() error { _, err := svc.PoolHealthReport(ctx, mgr, rq); return err }},
		{"attainment", func() error { _, err := svc.Attainment(ctx, mgr, month); return err }},
		{"leaderboard", func() error { _, err := svc.Leaderboard(ctx, mgr, month); return err }},
	}
	for _, r := range reports {
		if err := r.read(); err != nil { // warm the cache and the plan
			return fmt.Errorf("%s: %w", r.name, err)
		}
		lat := make([]time.Duration, runs)
		for i := range runs {
			t0 := time.Now()
			if err := r.read(); err != nil {
				return fmt.Errorf("%s: %w", r.name, err)
			}
			lat[i] = time.Since(t0)
		}
		slices.Sort(lat)
		fmt.Fprintf(w, "| reports: %s, city manager (%d leads) | p50 %s | p95 %s |\n", r.name, leads, pctl(lat, 0.50), pctl(lat, 0.95))
	}
	return nil
}

// seedReportData writes leads over both cities' teams, their stage history over the
// years (each lead walks part of the pipeline), visits of the last 30 days and
// reclaims, then builds the rollups the reports read.
//
// It is one server-side INSERT ... SELECT over generate_series per table (as fast as
// COPY: nothing crosses the wire), on one connection that loads as a bulk load would:
// session_replication_role = replica skips the foreign-key checks and the stage-history
// trigger (the rows are consistent by construction, and the rollups are built once
// after), and the loaded tables' secondary indexes are dropped first and built again
// after, in bulk, instead of taking a million random inserts each (primary keys and
// unique constraints too, where no foreign key hangs on them). Step times go to
// progress.
func seedReportData(ctx context.Context, db *pgxpool.Pool, progress io.Writer, sh, hz []uuid.UUID, creator uuid.UUID, leads, reps, years int) error {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	steps := []struct{ name, sql string }{
		{"bulk-load settings", `SET session_replication_role = replica; SET synchronous_commit = off;
		 SET maintenance_work_mem = '512MB'; SET work_mem = '256MB'; SET temp_buffers = '1GB'`},
		{"teams and reps", `CREATE TEMP TABLE bench_teams AS
		 SELECT t.id, t.city, row_number() OVER () - 1 AS n FROM (
		   SELECT unnest($1::uuid[]) AS id, '上海' AS city UNION ALL SELECT unnest($2::uuid[]), '杭州') t;
		 CREATE TEMP TABLE bench_reps AS
		 SELECT gen_random_uuid() AS id, t.id AS team, t.city, r AS n
		 FROM generate_series(0, $3 - 1) r JOIN bench_teams t ON t.n = r % (SELECT count(*) FROM bench_teams);
		 CREATE UNIQUE INDEX ON bench_reps (n);
		 INSERT INTO identity.users (id, login, display_name, kind, org_unit_id, password_hash, role_keys)
		 SELECT id, 'bench.rep.' || n, 'Bench rep ' || n, 'staff', team, '!', '{sales_rep}' FROM bench_reps;
		 INSERT INTO merchant.pools (id, org_unit_id, name, created_at, updated_at)
		 SELECT gen_random_uuid(), id, 'bench ' || n, now(), now() FROM bench_teams ON CONFLICT DO NOTHING`},
		// Leads: 30 % in the pools, the rest held; created over the years; current stage by a skewed draw.
		{"lead draws", `CREATE TEMP TABLE bench_leads AS
		 SELECT gen_random_uuid() AS id, i, r.id AS rep, r.team, r.city, p.id AS pool,
		        now() - random() * $4 * 365 * interval '1 day' AS created_at,
		        (ARRAY['lead','lead','lead','contacted','contacted','visited','visited','negotiating','signed','onboarding','live','live','lost'])[1 + (random() * 12)::int] AS stage,
		        random() < 0.3 AS in_pool
		 FROM generate_series(1, $5) i JOIN bench_reps r ON r.n = i % $3
		 LEFT JOIN merchant.pools p ON p.org_unit_id = r.team`},
		{"drop indexes", `CREATE TEMP TABLE bench_indexes AS
		 SELECT i.indrelid::regclass::text AS tab, i.indexrelid::regclass::text AS name, c.conname,
		        CASE WHEN c.oid IS NULL THEN pg_get_indexdef(i.indexrelid) ELSE pg_get_constraintdef(c.oid) END AS def
		 FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.contype IN ('p', 'u')
		 WHERE i.indrelid IN ('merchant.leads'::regclass, 'merchant.stage_history'::regclass, 'merchant.visits'::regclass,
		                      'merchant.lead_owner_history'::regclass)
		   AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid);
		 DO $$ DECLARE r record; BEGIN
		   FOR r IN SELECT * FROM bench_indexes LOOP
		     IF r.conname IS NULL THEN EXECUTE 'DROP INDEX ' || r.name;
		     ELSE EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tab, r.conname); END IF;
		   END LOOP;
		 END $$`},
		{"leads", `INSERT INTO merchant.leads (id, name, category, address, lat, lng, phone_raw, phone, city, owner_id, org_unit_id, stage, created_by, created_at, updated_at, pool_id)
		 SELECT b.id, 'Bench ' || b.i, 'restaurant', 'Road ' || b.i, 31.0 + random() * 0.5, 121.2 + random() * 0.5,
		        '15' || lpad(b.i::text, 9, '0'), '15' || lpad(b.i::text, 9, '0'), b.city,
		        CASE WHEN b.in_pool AND b.stage IN ('lead', 'contacted', 'lost') THEN NULL ELSE b.rep END, b.team, b.stage, $6, b.created_at,
		        b.created_at + interval '1 day', b.pool
		 FROM bench_leads b`},
		// Each lead's walk up to its stage, a few days per step.
		{"stage history", `INSERT INTO merchant.stage_history (id, lead_id, from_stage, to_stage, reason, by_user, at)
		 SELECT gen_random_uuid(), b.id, CASE WHEN k = 1 THEN NULL ELSE st[k - 1] END, st[k], 'bench', b.rep,
		        least(now(), b.created_at + (k - 1) * (2 + random() * 10) * interval '1 day')
		 FROM bench_leads b,
		      LATERAL (SELECT ARRAY['lead','contacted','visited','negotiating','signed','onboarding','live'] AS st) p,
		      LATERAL generate_series(1, CASE b.stage WHEN 'lost' THEN 3 ELSE array_position(p.st, b.stage) END) k`},
		// Visits: four a day per rep over the last 30 days, at a held lead of theirs.
		{"visits", `INSERT INTO merchant.visits (id, lead_id, lat, lng, distance_m, accepted, note, by_user, at, org_unit_id, flag)
		 SELECT gen_random_uuid(), l.id, 31.2, 121.4, 20, true, '', r.id, now() - d * interval '1 day' - v * interval '1 hour',
		        r.team, CASE WHEN random() < 0.01 THEN 'too_fast' ELSE '' END
		 FROM bench_reps r
		 JOIN (SELECT DISTINCT ON (rep) rep, id FROM bench_leads WHERE NOT in_pool ORDER BY rep, i) l ON l.rep = r.id
		 CROSS JOIN generate_series(0, 29) d CROSS JOIN generate_series(1, 4) v`},
		// Reclaims: one lead in fifty went back to the pool in the last 30 days.
		{"reclaims", `INSERT INTO merchant.lead_owner_history (id, lead_id, event, from_owner, to_owner, reason, by_user, at)
		 SELECT gen_random_uuid(), b.id, 'reclaimed', b.rep, NULL, 'bench', $6, now() - random() * 30 * interval '1 day'
		 FROM bench_leads b WHERE b.i % 50 = 0`},
		{"rebuild indexes", `DO $$ DECLARE r record; BEGIN
		   FOR r IN SELECT * FROM bench_indexes LOOP
		     IF r.conname IS NULL THEN EXECUTE r.def;
		     ELSE EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', r.tab, r.conname, r.def); END IF;
		   END LOOP;
		 END $$`},
		// The rollups, as migrations 010 and 011 build them from existing history and leads.
		{"rollups", `SELECT merchant.rollup_history(); SELECT merchant.recount_lead_stages(); SELECT merchant.recount_visit_days();
		 SELECT merchant.recount_reclaim_days()`},
		{"back to normal", `RESET session_replication_role; RESET synchronous_commit`},
		// As autovacuum would: statistics, and the visibility map for index-only scans.
		{"vacuum analyze", `VACUUM ANALYZE merchant.leads`},
		{"", `VACUUM ANALYZE merchant.stage_history`},
		{"", `VACUUM ANALYZE merchant.stage_rollup`},
		{"", `VACUUM ANALYZE merchant.stage_rollup_rep`},
		{"", `VACUUM ANALYZE merchant.lead_stage_counts`},
		{"", `VACUUM ANALYZE merchant.visit_days`},
		{"", `VACUUM ANALYZE merchant.reclaim_days`},
		{"", `VACUUM ANALYZE merchant.sales_credits`},
		{"", `VACUUM ANALYZE merchant.visits`},
		{"", `VACUUM ANALYZE merchant.lead_owner_history`},
	}
	// The sizes are numbers of our own flags and the creator a uuid: written into the
	// SQL, so that each step needs no parameter types (and several statements may
	// share one step).
	sizes := strings.NewReplacer("$3", strconv.Itoa(reps), "$4", strconv.Itoa(years), "$5", strconv.Itoa(leads),
		"$6", "'"+creator.String()+"'::uuid")
	for i, st := range steps {
		t0 := time.Now()
		q := sizes.Replace(st.sql)
		var err error
		if i == 1 {
			q = strings.ReplaceAll(strings.ReplaceAll(q, "$1::uuid[]", uuidArray(sh)), "$2::uuid[]", uuidArray(hz))
		}
		_, err = conn.Exec(ctx, q)
		if err != nil {
			return fmt.Errorf("bench data: %s: %w", st.name, err)
		}
		if st.name != "" {
			fmt.Fprintf(progress, "reports bench: %-26s %s\n", st.name, time.Since(t0).Round(10*time.Millisecond))
		}
	}
	return nil
}

// uuidArray is ids as a SQL array literal (our own ids, so no quoting issue).
func uuidArray(ids []uuid.UUID) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id.String()
	}
	return "'{" + strings.Join(parts, ",") + "}'::uuid[]"
}
