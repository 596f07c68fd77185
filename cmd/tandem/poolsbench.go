package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// tandem bench pools (issue 12): dedup on create with N leads in the database, an
// import with dedup against them, and claimers racing for one pool, with the rules
// (cap, quota, one winner per lead) checked afterwards.
func benchPoolsCmd() *cobra.Command {
	var leads, checks, importRows, claimers int
	var seconds float64
	var full, reseed bool
	var parts []string
	cmd := &cobra.Command{
		Use:   "pools",
		Short: "B-CRM pools: dedup p99 with N leads, import rows/s, concurrent claimers with the rules checked (reduced sizes; --full: the issue's)",
		Long: `Measures lead dedup, import and claims on tandem_bench_pools, a copy of a kept
template database holding the seeded leads (tandem_bench_pools_<leads>_<schema>, made
the first time and reused, so that a million leads are loaded once; --reseed makes it
again). --parts chooses what to measure.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if full { // the sizes: a quiet machine's run
				leads, checks, importRows, claimers, seconds = 1_000_000, 2000, 100_000, 200, 10
			}
			for _, p := range parts {
				if !slices.Contains([]string{"dedup", "import", "claims"}, p) {
					return fmt.Errorf("--parts: %q is not one of dedup, import, claims", p)
				}
			}
			ctx := cmd.Context()
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ropt, err := redis.ParseURL(cfg.RedisURL)
			if err != nil {
				return err
			}
			r := asynq.RedisClientOpt{Addr: ropt.Addr, Password: ropt.Password, DB: benchRedisDB}
			start := time.Now()
			db, made, err := poolsBenchDB(ctx, cfg.DatabaseURL, r, leads, reseed)
			if err != nil {
				return err
			}
			defer db.Close()
			how := "copied from the kept template"
			if made {
				how = "seeded in SQL (indexes built after), kept as a template and copied"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "| pools: %d leads %s | %s | load %s |\n", leads, how, time.Since(start).Round(time.Millisecond), loadAverage())
			b := poolsBench{w: cmd.OutOrStdout(), db: db, r: r, leads: leads}
			if err := b.setUp(ctx); err != nil {
				return err
			}
			if slices.Contains(parts, "dedup") {
				if err := b.dedup(ctx, checks); err != nil {
					return err
				}
			}
			if slices.Contains(parts, "import") {
				if err := b.importFile(ctx, importRows); err != nil {
					return err
				}
			}
			if slices.Contains(parts, "claims") {
				return b.claims(ctx, claimers, time.Duration(seconds*float64(time.Second)))
			}
			return nil
		},
	}
	// The defaults are reduced, for a machine others share; --full is the scale.
	cmd.Flags().IntVar(&leads, "leads", 100_000, "leads in the database")
	cmd.Flags().IntVar(&checks, "checks", 500, "dedup checks to time")
	cmd.Flags().IntVar(&importRows, "import-rows", 20_000, "rows of the imported file")
	cmd.Flags().IntVar(&claimers, "claimers", 50, "reps claiming at once")
	cmd.Flags().Float64Var(&seconds, "seconds", 5, "how long the claimers claim")
	cmd.Flags().BoolVar(&full, "full", false, "the issue's sizes: 1,000,000 leads, 2,000 checks, a 100,000-row import, 200 claimers for 10 s")
	cmd.Flags().BoolVar(&reseed, "reseed", false, "seed the template database again even when one of this size and schema is kept")
	cmd.Flags().StringSliceVar(&parts, "parts", []string{"dedup", "import", "claims"}, "what to measure: dedup, import, claims")
	return cmd
}

// poolsBenchDB makes tandem_bench_pools a copy of the template holding n seeded leads
// (made when missing or reseed; templates of other schemas of the same size are
// dropped, their leads no longer fit). made: the template was seeded now.
func poolsBenchDB(ctx context.Context, dbURL string, r asynq.RedisClientOpt, n int, reseed bool) (*pgxpool.Pool, bool, error) {
	fp, err := pg.Fingerprint(migrationSets()...)
	if err != nil {
		return nil, false, err
	}
	tpl := fmt.Sprintf("tandem_bench_pools_%d_%s", n, fp[:8])
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, false, fmt.Errorf("cannot reach PostgreSQL (%s): run 'make stack' first", oneLine(err))
	}
	defer admin.Close(ctx)
	var stale []string
	rows, err := admin.Query(ctx, `SELECT datname FROM pg_database WHERE datname LIKE $1 AND (datname <> $2 OR $3)`,
		fmt.Sprintf("tandem\\_bench\\_pools\\_%d\\_%%", n), tpl, reseed)
	if err == nil {
		stale, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		return nil, false, err
	}
	for _, name := range stale {
		if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			return nil, false, err
		}
	}
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tpl).Scan(&exists); err != nil {
		return nil, false, err
	}
	if !exists {
		if err := seedPoolsTemplate(ctx, dbURL, r, tpl, n); err != nil {
			return nil, false, fmt.Errorf("seed %s: %w", tpl, err)
		}
	}
	// FILE_COPY: a checkpoint and a copy of the files, not the whole database through the WAL.
	for _, q := range []string{"DROP DATABASE IF EXISTS tandem_bench_pools WITH (FORCE)",
		"CREATE DATABASE tandem_bench_pools TEMPLATE " + pgx.Identifier{tpl}.Sanitize() + " STRATEGY FILE_COPY"} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return nil, false, err
		}
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, false, err
	}
	u.Path = "/tandem_bench_pools"
	db, err := pg.Connect(ctx, u.String(), pg.PoolConfig{MaxConns: 16, AppName: "tandem-bench"})
	return db, !exists, err
}

// seedPoolsTemplate makes database tpl: migrated, the demo org and n leads in the
// Shanghai team 1's pool, vacuumed (as a table that has lived: hint bits set, the
// visibility map up to date).
func seedPoolsTemplate(ctx context.Context, dbURL string, r asynq.RedisClientOpt, tpl string, n int) error {
	db, err := freshBenchDB(ctx, dbURL, tpl)
	if err != nil {
		return err
	}
	defer db.Close()
	b := poolsBench{db: db, r: r}
	if err := b.setUp(ctx); err != nil {
		return err
	}
	if err := seedBenchLeads(ctx, db, n, b.lead.User.OrgUnitID.UUID, b.lead.User.ID, b.poolID); err != nil {
		return err
	}
	_, err = db.Exec(ctx, "VACUUM (ANALYZE) merchant.leads")
	return err
}

// benchLeadPoint is where the bench puts lead i (the R2 low-discrepancy sequence over
// Shanghai, 31.0-31.5 N, 121.2-121.7 E): the SQL that seeds the leads computes the same,
// so that the import can hold shops of the database at their places.
func benchLeadPoint(i int) (lat, lng float64) {
	a, b := float64(i)*0.7548776662466927, float64(i)*0.5698402909980532
	return 31.0 + 0.5*(a-math.Floor(a)), 121.2 + 0.5*(b-math.Floor(b))
}

// benchLeadName is lead i's name: names of different leads are not alike (trigram
// similarity about 0.2), as shops of a street are not.
func benchLeadName(i int) string {
	sum := md5.Sum([]byte(strconv.Itoa(i)))
	return "Shop " + hex.EncodeToString(sum[:])[:8]
}

// seedBenchLeads makes n leads in SQL, with the table's secondary indexes and foreign
// keys dropped meanwhile and built again after (a bulk build is many times faster
// than n inserts into them): the figures are the checks, not the load.
func seedBenchLeads(ctx context.Context, db *pgxpool.Pool, n int, unit, user, pool uuid.UUID) error {
	conn, err := db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	var indexes, dropIndexes, fks, dropFKs []string
	rows, err := conn.Query(ctx, `SELECT indexdef, 'DROP INDEX merchant.' || quote_ident(indexname) FROM pg_indexes i
WHERE schemaname = 'merchant' AND tablename = 'leads'
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = 'merchant.leads'::regclass AND c.conname = i.indexname)
UNION ALL
SELECT 'ALTER TABLE merchant.leads ADD CONSTRAINT ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid),
       'ALTER TABLE merchant.leads DROP CONSTRAINT ' || quote_ident(conname)
FROM pg_constraint WHERE conrelid = 'merchant.leads'::regclass AND contype = 'f'`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var create, drop string
		if err := rows.Scan(&create, &drop); err != nil {
			return err
		}
		if strings.HasPrefix(create, "ALTER") {
			fks, dropFKs = append(fks, create), append(dropFKs, drop)
		} else {
			indexes, dropIndexes = append(indexes, create), append(dropIndexes, drop)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	steps := []string{"SET maintenance_work_mem = '512MB'"}
	steps = append(append(steps, dropIndexes...), dropFKs...)
	for _, q := range steps {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, err := conn.Exec(ctx, `
INSERT INTO merchant.leads (id, name, category, address, lat, lng, phone_raw, phone, city, org_unit_id, stage, created_by, created_at, updated_at, pool_id)
SELECT gen_random_uuid(), 'Shop ' || left(md5(i::text), 8), 'restaurant', 'Road ' || i,
       31.0 + 0.5 * (i * 0.7548776662466927::float8 - floor(i * 0.7548776662466927::float8)),
       121.2 + 0.5 * (i * 0.5698402909980532::float8 - floor(i * 0.5698402909980532::float8)),
       '13' || lpad(i::text, 9, '0'), '+8613' || lpad(i::text, 9, '0'), '上海', $1, 'lead', $2, now(), now(), $3
FROM generate_series(1, $4::int) i`, unit, user, pool, n); err != nil {
		return fmt.Errorf("seed leads: %w", err)
	}
	for _, q := range append(append(indexes, fks...), "ANALYZE merchant.leads", "RESET maintenance_work_mem") {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}

// poolsBench is one run's state: the database, the services and the demo team lead
// whose team's pool holds the seeded leads.
type poolsBench struct {
	w      io.Writer
	db     *pgxpool.Pool
	r      asynq.RedisClientOpt
	leads  int
	rdb    *redis.Client
	ids    *identity.Service
	svc    *merchant.Service
	demo   identity.Demo
	lead   *identity.Principal
	poolID uuid.UUID
}

// setUp seeds (or, on a copy of the template, finds) the demo org and the team lead's pool.
func (b *poolsBench) setUp(ctx context.Context) error {
	b.rdb = redis.NewClient(&redis.Options{Addr: b.r.Addr, Password: b.r.Password, DB: b.r.DB})
	b.ids = identity.NewService(b.db, b.rdb, identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	var err error
	if b.demo, err = b.ids.SeedDemo(ctx, demoPassword); err != nil {
		return err
	}
	// The import logs the time of its phases (stage, dedup, insert, publish) on stderr.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	b.svc = merchant.New(domain.Deps{DB: b.db, Log: log}, merchant.Ports{Staff: merchant.IdentityStaff{Users: b.ids}}, merchant.Config{})
	if b.lead, err = b.ids.Principal(ctx, b.demo.Users["sh1.lead"]); err != nil {
		return err
	}
	pools, err := b.svc.ListPools(ctx, b.lead)
	if err != nil || len(pools) == 0 {
		return fmt.Errorf("no pool for the team lead: %v", err)
	}
	for _, p := range pools {
		if p.OrgUnitID != nil && *p.OrgUnitID == b.lead.User.OrgUnitID.UUID {
			b.poolID = p.ID
		}
	}
	return nil
}

// dedup times checks dedup checks on create: phone, licence and similar name nearby,
// as the console's hints; half of them a shop of the database (its name at its place),
// half new.
func (b *poolsBench) dedup(ctx context.Context, checks int) error {
	w, svc, lead, leads := b.w, b.svc, b.lead, b.leads
	lat := make([]time.Duration, checks)
	rng := rand.New(rand.NewPCG(1, 2))
	found := 0
	for i := range checks {
		n := rng.IntN(leads) + 1
		in := merchant.NewLead{Name: fmt.Sprintf("New shop %08x", rng.Uint32()), Phone: fmt.Sprintf("139%08d", n%100_000_000),
			Lat: 31.0 + rng.Float64()*0.5, Lng: 121.2 + rng.Float64()*0.5}
		if i%2 == 0 {
			in.Name = benchLeadName(n)
			in.Lat, in.Lng = benchLeadPoint(n)
			in.Lat += 0.0001
		}
		t0 := time.Now()
		dups, err := svc.CheckDuplicates(ctx, lead, in)
		if err != nil {
			return err
		}
		lat[i] = time.Since(t0)
		if len(dups) > 0 {
			found++
		}
	}
	slices.Sort(lat)
	fmt.Fprintf(w, "| pools: dedup check (phone + licence + similar name within 200 m) with %d leads, %d checks (%d found a shop) | p50 %s | p99 %s, load %s |\n",
		leads, checks, found, pctl(lat, 0.50), pctl(lat, 0.99), loadAverage())
	return nil
}

// importFile times an import of a CSV of rows new shops, uploaded, queued and run by
// the worker's task: the figure is upload to report. Of each 100 rows, one has a phone
// of the database, one is a shop of the database (its name, 10 m away), one repeats
// the row before it 30 m away (a similar name within the file).
func (b *poolsBench) importFile(ctx context.Context, importRows int) error {
	w, svc, lead, leads, poolID := b.w, b.svc, b.lead, b.leads, b.poolID
	rng := rand.New(rand.NewPCG(3, 4))
	var csv strings.Builder
	csv.WriteString("name,phone,category,city,address,lat,lng\n")
	prevName, prevLat, prevLng := "", 0.0, 0.0
	for i := range importRows {
		phone := fmt.Sprintf("137%08d", i)
		name := fmt.Sprintf("Imported %08x", rng.Uint32())
		la, ln := 31.0+rng.Float64()*0.5, 121.2+rng.Float64()*0.5
		switch i % 100 {
		case 10:
			phone = fmt.Sprintf("13%09d", rng.IntN(leads)+1)
		case 20:
			n := rng.IntN(leads) + 1
			name = benchLeadName(n)
			la, ln = benchLeadPoint(n)
			la += 0.00009
		case 30:
			name, la, ln = prevName, prevLat+0.00027, prevLng
		}
		prevName, prevLat, prevLng = name, la, ln
		fmt.Fprintf(&csv, "%s,%s,cafe,上海,Road %d,%.6f,%.6f\n", name, phone, i, la, ln)
	}
	file := csv.String()
	csv.Reset()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	t0 := time.Now()
	rep, err := svc.ImportLeads(ctx, lead, merchant.ImportInput{PoolID: poolID, FileName: "bench.csv"}, strings.NewReader(file))
	if err == nil {
		_, err = svc.RunImports(ctx)
	}
	if err == nil {
		rep, err = svc.GetImport(ctx, lead, rep.ID)
	}
	close(done)
	if err != nil {
		return err
	}
	if rep.State != merchant.ImportDone {
		return fmt.Errorf("import %s: %s", rep.State, rep.Error)
	}
	el := time.Since(t0)
	fmt.Fprintf(w, "| pools: import of %d rows (%d KiB CSV) with dedup against %d leads | %.0f rows/s (%d imported, %d refused, in %s) | peak heap %d MiB (%d MiB before), load %s |\n",
		importRows, len(file)>>10, leads, float64(importRows)/el.Seconds(), rep.Imported, len(rep.Problems), el.Round(time.Millisecond),
		peak.Load()>>20, base.HeapInuse>>20, loadAverage())

	return nil
}

// claims makes claimers reps of SH team 1 and lets them claim random leads of a hot
// set of the pool for span, releasing a third of what they win (a release does not
// give a claim of the day back), then checks the rules in the database. The pool's
// cap and quota are set low (3 held, 5 claims a day) so that both refuse during the run.
func (b *poolsBench) claims(ctx context.Context, claimers int, span time.Duration) error {
	w, db, ids, svc, demo, poolID := b.w, b.db, b.ids, b.svc, b.demo, b.poolID
	const holdingCap, dailyQuota = 3, 5
	if _, err := svc.SetPoolRules(ctx, identity.System(), poolID, "bench pool", merchant.PoolRules{HoldingCap: holdingCap, DailyQuota: dailyQuota, CooldownDays: 7}); err != nil {
		return err
	}
	admin, err := ids.Principal(ctx, demo.Users["admin"])
	if err != nil {
		return err
	}
	reps := make([]*identity.Principal, claimers)
	for i := range reps {
		u, err := ids.CreateUser(ctx, admin, identity.NewUser{Login: fmt.Sprintf("bench.rep%03d", i), DisplayName: "Bench rep", Kind: identity.KindStaff,
			OrgUnitID: demo.Units[identity.DemoSHTeam1], Password: "Bench-password-123", Roles: []string{identity.RoleSalesRep}})
		if err != nil {
			return err
		}
		if reps[i], err = ids.Principal(ctx, u.ID); err != nil {
			return err
		}
	}
	rows, err := db.Query(ctx, "SELECT id FROM merchant.leads WHERE pool_id = $1 AND owner_id IS NULL ORDER BY random() LIMIT 20000", poolID)
	if err != nil {
		return err
	}
	var pool []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return err
		}
		pool = append(pool, id)
	}
	rows.Close()
	if len(pool) == 0 {
		return fmt.Errorf("no lead in the pool")
	}
	var won, lost, refused, released, failed atomic.Int64
	lats := make([][]time.Duration, claimers)
	deadline := time.Now().Add(span)
	var wg sync.WaitGroup
	for i, p := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for time.Now().Before(deadline) {
				id := pool[rng.IntN(min(len(pool), 2000))] // a hot set: reps collide
				t0 := time.Now()
				_, err := svc.Claim(ctx, p, id)
				lats[i] = append(lats[i], time.Since(t0))
				switch {
				case err == nil:
					won.Add(1)
					if rng.IntN(3) == 0 {
						if _, err := svc.Release(ctx, p, id, "bench"); err != nil {
							failed.Add(1)
						} else {
							released.Add(1)
						}
					}
				case errs.CodeOf(err) == merchant.CodeNotInPool:
					lost.Add(1)
				case errs.KindOf(err) == errs.KindConflict:
					refused.Add(1)
				default:
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	// The rules, checked in the database afterwards.
	var overCap, overQuota, doubled int
	if err := db.QueryRow(ctx, `SELECT
  (SELECT count(*) FROM (SELECT owner_id FROM merchant.leads l JOIN merchant.pools p ON p.id = l.pool_id
      WHERE owner_id IS NOT NULL AND stage NOT IN ('live','lost') GROUP BY owner_id, p.holding_cap HAVING count(*) > p.holding_cap) x),
  (SELECT count(*) FROM (SELECT to_owner FROM merchant.lead_owner_history h WHERE event = 'claimed'
      GROUP BY to_owner HAVING count(*) > (SELECT daily_quota FROM merchant.pools WHERE id = $1)) y),
  (SELECT count(*) FROM (SELECT event, lag(event) OVER (PARTITION BY lead_id ORDER BY at, id) AS before
      FROM merchant.lead_owner_history WHERE event IN ('claimed', 'released')) z WHERE event = 'claimed' AND before = 'claimed')`,
		poolID).Scan(&overCap, &overQuota, &doubled); err != nil {
		return err
	}
	fmt.Fprintf(w, "| pools: %d reps claiming from one pool for %s (cap %d, quota %d a day, a third of the wins released) | %.0f claims/s (%d won, %d lost the race, %d refused by a rule, %d released, %d failed) | p50 %s, p99 %s; reps over the cap %d, over the quota %d, leads won twice without a release between %d; load %s |\n",
		claimers, span, holdingCap, dailyQuota, float64(len(all))/span.Seconds(), won.Load(), lost.Load(), refused.Load(), released.Load(), failed.Load(),
		pctl(all, 0.5), pctl(all, 0.99), overCap, overQuota, doubled, loadAverage())
	if overCap+overQuota+doubled > 0 || failed.Load() > 0 {
		return fmt.Errorf("the pool's rules did not hold")
	}
	return nil
}

func pctl(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))].Round(10 * time.Microsecond)
}
