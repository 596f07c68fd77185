package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// tandem bench pools (issue 12): dedup on create with N leads in the database, an
// import with dedup against them, and claimers racing for one pool, with the rules
// (cap, quota, one winner per lead) checked afterwards.
func benchPoolsCmd() *cobra.Command {
	var leads, checks, importRows, claimers int
	var seconds float64
	cmd := &cobra.Command{
		Use:   "pools",
		Short: "B-CRM pools: dedup p99 with N leads, import rows/s, concurrent claimers with the rules checked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Its own database: other benches may use tandem_bench at the same time.
			ctx := cmd.Context()
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			db, err := freshBenchDB(ctx, cfg.DatabaseURL, "tandem_bench_pools")
			if err != nil {
				return err
			}
			defer db.Close()
			ropt, err := redis.ParseURL(cfg.RedisURL)
			if err != nil {
				return err
			}
			r := asynq.RedisClientOpt{Addr: ropt.Addr, Password: ropt.Password, DB: ropt.DB}
			return benchPools(ctx, cmd.OutOrStdout(), db, r, leads, checks, importRows, claimers, time.Duration(seconds*float64(time.Second)))
		},
	}
	cmd.Flags().IntVar(&leads, "leads", 1_000_000, "leads in the database")
	cmd.Flags().IntVar(&checks, "checks", 2000, "dedup checks to time")
	cmd.Flags().IntVar(&importRows, "import-rows", 100_000, "rows of the imported file")
	cmd.Flags().IntVar(&claimers, "claimers", 200, "reps claiming at once")
	cmd.Flags().Float64Var(&seconds, "seconds", 10, "how long the claimers claim")
	return cmd
}

func benchPools(ctx context.Context, w io.Writer, db *pgxpool.Pool, r asynq.RedisClientOpt, leads, checks, importRows, claimers int, span time.Duration) error {
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr, Password: r.Password, DB: r.DB})
	defer rdb.Close()
	ids := identity.NewService(db, rdb, identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	demo, err := ids.SeedDemo(ctx, demoPassword)
	if err != nil {
		return err
	}
	svc := merchant.New(domain.Deps{DB: db}, merchant.Ports{Staff: merchant.IdentityStaff{Users: ids}}, merchant.Config{})
	lead, err := ids.Principal(ctx, demo.Users["sh1.lead"])
	if err != nil {
		return err
	}
	pool, err := svc.ListPools(ctx, lead)
	if err != nil || len(pool) == 0 {
		return fmt.Errorf("no pool for the team lead: %v", err)
	}
	var poolID uuid.UUID
	for _, p := range pool {
		if p.OrgUnitID != nil && *p.OrgUnitID == lead.User.OrgUnitID.UUID {
			poolID = p.ID
		}
	}
	// N leads in Shanghai (31.0-31.5 N, 121.2-121.7 E), made in SQL: the figure is the check, not the load.
	start := time.Now()
	if _, err := db.Exec(ctx, `
INSERT INTO merchant.leads (id, name, category, address, lat, lng, phone_raw, phone, city, org_unit_id, stage, created_by, created_at, updated_at, pool_id)
SELECT gen_random_uuid(), 'Bench shop ' || i || ' ' || md5(i::text), 'restaurant', 'Road ' || i, 31.0 + random() * 0.5, 121.2 + random() * 0.5,
       '13' || lpad(i::text, 9, '0'), '+8613' || lpad(i::text, 9, '0'), '上海', $1, 'lead', $2, now(), now(), $3
FROM generate_series(1, $4) i`, lead.User.OrgUnitID.UUID, lead.User.ID, poolID, leads); err != nil {
		return fmt.Errorf("seed leads: %w", err)
	}
	if _, err := db.Exec(ctx, "ANALYZE merchant.leads"); err != nil {
		return err
	}
	fmt.Fprintf(w, "| pools: %d leads loaded (SQL, with their indexes) | %s |  |\n", leads, time.Since(start).Round(time.Millisecond))

	// Dedup check on create: phone, licence and similar name nearby, as the console's hints.
	lat := make([]time.Duration, checks)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range checks {
		n := rng.IntN(leads) + 1
		in := merchant.NewLead{Name: fmt.Sprintf("Bench shop %d", n), Phone: fmt.Sprintf("139%08d", n%100_000_000),
			Lat: 31.0 + rng.Float64()*0.5, Lng: 121.2 + rng.Float64()*0.5}
		t0 := time.Now()
		if _, err := svc.CheckDuplicates(ctx, lead, in); err != nil {
			return err
		}
		lat[i] = time.Since(t0)
	}
	slices.Sort(lat)
	fmt.Fprintf(w, "| pools: dedup check (phone + licence + similar name within 200 m) with %d leads, %d checks | p50 %s | p99 %s |\n",
		leads, checks, pctl(lat, 0.50), pctl(lat, 0.99))

	// Import: a CSV of new shops (1 in 100 a phone of the database), uploaded, queued
	// and run by the worker's task: the figure is upload to report.
	var csv strings.Builder
	csv.WriteString("name,phone,category,city,address,lat,lng\n")
	for i := range importRows {
		phone := fmt.Sprintf("137%08d", i)
		if i%100 == 0 {
			phone = fmt.Sprintf("13%09d", rng.IntN(leads)+1)
		}
		fmt.Fprintf(&csv, "Imported %d,%s,cafe,上海,Road %d,%.6f,%.6f\n", i, phone, i, 31.0+rng.Float64()*0.5, 121.2+rng.Float64()*0.5)
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
	fmt.Fprintf(w, "| pools: import of %d rows (%d KiB CSV) with dedup against %d leads | %.0f rows/s (%d imported, %d refused, in %s) | peak heap %d MiB (%d MiB before) |\n",
		importRows, len(file)>>10, leads, float64(importRows)/el.Seconds(), rep.Imported, len(rep.Problems), el.Round(time.Millisecond),
		peak.Load()>>20, base.HeapInuse>>20)

	return benchClaimers(ctx, w, db, ids, svc, demo, poolID, claimers, span)
}

// benchClaimers makes claimers reps of SH team 1 and lets them claim random pool leads.
func benchClaimers(ctx context.Context, w io.Writer, db *pgxpool.Pool, ids *identity.Service, svc *merchant.Service, demo identity.Demo,
	poolID uuid.UUID, claimers int, span time.Duration) error {
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
	var won, lost, refused, failed atomic.Int64
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
  (SELECT count(*) FROM (SELECT lead_id FROM merchant.lead_owner_history WHERE event = 'claimed' GROUP BY lead_id HAVING count(*) > 1) z)`,
		poolID).Scan(&overCap, &overQuota, &doubled); err != nil {
		return err
	}
	fmt.Fprintf(w, "| pools: %d reps claiming from one pool for %s | %.0f claims/s (%d won, %d lost the race, %d refused by a rule, %d failed) | p50 %s, p99 %s; reps over the cap %d, over the quota %d, leads claimed twice %d |\n",
		claimers, span, float64(len(all))/span.Seconds(), won.Load(), lost.Load(), refused.Load(), failed.Load(), pctl(all, 0.5), pctl(all, 0.99),
		overCap, overQuota, doubled)
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
