package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"slices"
	"time"

	"github.com/tandemcrm/tandem/shared/profiling"

	"github.com/google/uuid"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// tandem bench segments: N synthetic members, a full rebuild of the bitmaps, the
// memory they take, and the p50/p95 of five-condition counts whose parameters vary
// from one count to the next (as an operator editing a rule does).
func benchSegmentsCmd() *cobra.Command {
	var members, counts int
	var db, cpuProfile string
	var reuse bool
	cmd := &cobra.Command{
		Use:   "segments",
		Short: "Segments: seed N members, rebuild the bitmaps, p50/p95 of five-condition live counts, bitmap memory",
		Long: `Seeds --members synthetic members into database --db (dropped and re-created), rebuilds
every segment bitmap from the tables, states the bitmaps' memory and measures five-condition
counts. With --reuse a database that already holds exactly --members members is kept as it
is and not seeded again (ten million take minutes to seed; the rebuild and counts do not).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			pool, seeded, err := segmentsBenchDB(cmd.Context(), cfg.DatabaseURL, db, members, reuse)
			if err != nil {
				return err
			}
			defer pool.Close()
			return benchSegments(cmd.Context(), cmd.OutOrStdout(), pool, members, counts, seeded, cpuProfile)
		},
	}
	cmd.Flags().IntVar(&members, "members", 10_000_000, "synthetic members")
	cmd.Flags().IntVar(&counts, "counts", 200, "counts measured")
	cmd.Flags().StringVar(&db, "db", "tandem_bench_segments", "the benchmark's database")
	cmd.Flags().BoolVar(&reuse, "reuse", false, "keep the database when it already holds --members members")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof)")
	return cmd
}

// segmentsBenchDB opens the segments benchmark's database: the existing one when
// reuse is asked and it holds exactly members members (seeded false), a fresh one
// otherwise.
func segmentsBenchDB(ctx context.Context, dbURL, name string, members int, reuse bool) (*pgxpool.Pool, bool, error) {
	if reuse {
		u, err := url.Parse(dbURL)
		if err != nil {
			return nil, false, err
		}
		u.Path = "/" + name
		if db, err := pg.Connect(ctx, u.String(), pg.PoolConfig{MaxConns: 16, AppName: "tandem-bench"}); err == nil {
			var have int64
			if err := db.QueryRow(ctx, `SELECT count(*) FROM marketing.members`).Scan(&have); err == nil && have == int64(members) {
				return db, false, nil
			}
			db.Close()
		}
	}
	db, err := freshBenchDB(ctx, dbURL, name)
	return db, true, err
}

// withMarketingBenchDB gives f a fresh database of its own (name), so that the
// million-member data set does not meet the other benchmarks'.
func withMarketingBenchDB(cmd *cobra.Command, name string, f func(ctx context.Context, db *pgxpool.Pool) error) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	db, err := freshBenchDB(cmd.Context(), cfg.DatabaseURL, name)
	if err != nil {
		return err
	}
	defer db.Close()
	return f(cmd.Context(), db)
}

func benchSegments(ctx context.Context, out io.Writer, db *pgxpool.Pool, members, counts int, seed bool, cpuProfile string) error {
	svc := marketing.New(domain.Deps{DB: db, Clock: clock.System{}}, marketing.Ports{}, marketing.Config{})
	stopProfile, err := profiling.StartCPU(cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	if seed {
		took, err := svc.SeedMembers(ctx, members, 42)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "| seed %d members (COPY, 3 tables) | %s | %.0f members/s |\n", members, took.Round(time.Millisecond), float64(members)/took.Seconds())
	} else {
		fmt.Fprintf(out, "| seed %d members | reused | |\n", members)
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	meter, err := startCPUMeter(ctx, db)
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := svc.Rebuild(ctx)
	if err != nil {
		return err
	}
	rebuild := time.Since(start)
	used, err := meter.stop(ctx)
	if err != nil {
		return err
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	fmt.Fprintf(out, "| rebuild of all bitmaps from the tables | %s | %d members, %d bitmaps; CPU: PostgreSQL %s, Go %s |\n", rebuild.Round(time.Millisecond),
		st.Members, st.Bitmaps, used.pg(), used.self.Round(10*time.Millisecond))
	fmt.Fprintf(out, "| bitmap memory | %.1f MiB serialized size | %.1f MiB Go heap growth |\n", float64(st.Bytes)/(1<<20),
		float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/(1<<20))
	p := identity.System()
	if err := benchCounts(ctx, out, svc, p, members, counts, "an operator editing: one condition changes per count", true); err != nil {
		return err
	}
	start = time.Now()
	snap, err := svc.Snapshot(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "| snapshot to PostgreSQL | %s | %.1f MiB |\n", time.Since(start).Round(time.Millisecond), float64(snap.SnapshotBytes)/(1<<20))
	// A second process starts from the snapshot; it evaluates every condition afresh.
	cold := marketing.New(domain.Deps{DB: db, Clock: clock.System{}}, marketing.Ports{}, marketing.Config{NoLeafCache: true})
	start = time.Now()
	if _, err := cold.IndexStats(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(out, "| a new process loads the snapshot | %s | |\n", time.Since(start).Round(time.Millisecond))
	return benchCounts(ctx, out, cold, p, members, counts, "every condition evaluated afresh", false)
}

// benchCounts measures counts of a five-condition rule ("Shanghai, bought coffee in
// the last N days, not ordered in the last M days, silver or above, a tag or enough
// points"); edit changes one condition per count, as an operator typing does,
// otherwise all five change.
func benchCounts(ctx context.Context, out io.Writer, svc *marketing.Service, p *identity.Principal, members, counts int, what string, edit bool) error {
	cities := []string{"上海", "北京", "广州", "深圳", "杭州"}
	tags := []string{"咖啡爱好者", "白领", "价格敏感", "学生", "宝妈"}
	cats := []string{"coffee", "tea", "bakery", "hotpot", "dessert"}
	lat := make([]time.Duration, 0, counts)
	var last uint64
	cpu := selfCPU()
	params := [5]int{}
	for i := range counts {
		if edit {
			params[i%5] = i
		} else {
			params = [5]int{i, i, i, i, i}
		}
		rule := marketing.Rule{And: []marketing.Rule{
			{Field: "city", Values: []string{cities[params[0]%len(cities)], cities[(params[0]/5)%len(cities)]}},
			{Field: "category_within_days", Category: cats[params[1]%len(cats)], Value: int64(10 + params[1]%300)},
			{Not: &marketing.Rule{Field: "ordered_within_days", Value: int64(1 + params[2]%30)}},
			{Field: "tier_at_least", Values: []string{[]string{"silver", "gold"}[params[3]%2]}},
			{Or: []marketing.Rule{{Field: "tag", Values: []string{tags[params[4]%len(tags)]}}, {Field: "points_balance", Op: "gte", Value: int64(500 + params[4]*7)}}},
		}}
		t0 := time.Now()
		c, err := svc.CountRule(ctx, p, rule)
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(t0))
		last = c.Members
	}
	cpu = (selfCPU() - cpu) / time.Duration(counts)
	slices.Sort(lat)
	fmt.Fprintf(out, "| five-condition count over %d members, %s (%d counts) | p50 %s | p95 %s (last: %d members); CPU %s a count on average |\n",
		members, what, counts, lat[len(lat)/2].Round(10*time.Microsecond), lat[len(lat)*95/100].Round(10*time.Microsecond), last,
		cpu.Round(10*time.Microsecond))
	return nil
}

// tandem bench campaign: a coupon campaign to N members (no holdout), sent end to
// end by one sender through loyalty: audience frozen, sends rows written, coupons
// issued by consumer's IssueCampaignCoupons (one transaction per batch), progress
// advanced; then checked exactly once against consumer's coupons.
func benchCampaignCmd() *cobra.Command {
	var members, batch, parallel int
	var cpuProfile string
	cmd := &cobra.Command{
		Use:   "campaign",
		Short: "Campaigns: issue a coupon to N members end to end through loyalty; issued/s and exactly-once check",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withMarketingBenchDB(cmd, "tandem_bench_campaign", func(ctx context.Context, db *pgxpool.Pool) error {
				return benchCampaign(ctx, cmd.OutOrStdout(), db, members, batch, parallel, cpuProfile)
			})
		},
	}
	cmd.Flags().IntVar(&members, "members", 1_000_000, "members in the audience")
	cmd.Flags().IntVar(&batch, "batch", 5_000, "members per send batch")
	cmd.Flags().IntVar(&parallel, "parallel", 2, "send batches at once")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the send to this file (go tool pprof)")
	return cmd
}

func benchCampaign(ctx context.Context, out io.Writer, db *pgxpool.Pool, members, batch, parallel int, cpuProfile string) error {
	deps := domain.Deps{DB: db, Clock: clock.System{}}
	loyalty := consumer.New(deps, consumer.Ports{}, consumer.Config{})
	svc := marketing.New(deps, marketing.Ports{Offers: loyaltyOffers{loyalty}}, marketing.Config{SendBatch: batch, SendParallel: parallel})
	if _, err := svc.SeedMembers(ctx, members, 7); err != nil {
		return err
	}
	// The same members in loyalty (a benchmark's shortcut past the join flow).
	for _, q := range []string{
		`INSERT INTO consumer.members (id, joined_at) SELECT consumer_id, joined_at FROM marketing.members`,
		`INSERT INTO consumer.points_balances (consumer_id, balance, updated_at) SELECT consumer_id, 0, now() FROM marketing.members`,
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			return fmt.Errorf("bench campaign: members in loyalty: %w", err)
		}
	}
	if _, err := svc.Rebuild(ctx); err != nil {
		return err
	}
	p := identity.System()
	tpl, err := loyalty.CreateCouponTemplate(ctx, p, consumer.CouponTemplate{Name: "满30减5", Kind: consumer.CouponAmount, AmountFen: 500,
		ThresholdFen: 3000, ValidDays: 14})
	if err != nil {
		return err
	}
	b, err := loyalty.CreateCouponBatch(ctx, p, consumer.CouponBatch{TemplateID: tpl.ID, Name: "bench", Stock: members, PerMember: 1})
	if err != nil {
		return err
	}
	sg, err := svc.SaveSegment(ctx, p, uuid.Nil, "everyone", marketing.Rule{Field: "joined_after", Date: "2000-01-01"})
	if err != nil {
		return err
	}
	c, err := svc.CreateCampaign(ctx, p, marketing.CampaignInput{Name: "bench", SegmentID: sg.ID, Offer: marketing.OfferCoupon,
		CouponBatch: b.ID.String(), UnitCostFen: 500, BudgetFen: 1 << 50, Schedule: marketing.ScheduleOnce})
	if err != nil {
		return err
	}
	meter, err := startCPUMeter(ctx, db)
	if err != nil {
		return err
	}
	stopProfile, err := profiling.StartCPU(cpuProfile)
	if err != nil {
		return err
	}
	start := time.Now()
	run, err := svc.StartNow(ctx, c.ID)
	if err != nil {
		return err
	}
	if err := svc.SendRun(ctx, run); err != nil {
		return err
	}
	took := time.Since(start)
	stopProfile()
	used, err := meter.stop(ctx)
	if err != nil {
		return err
	}
	if err := svc.SendRun(ctx, run); err != nil { // a second sender finds nothing to do
		return err
	}
	var rows, coupons, holders int64
	if err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM marketing.sends WHERE run_id = $1),
  (SELECT count(*) FROM consumer.coupons WHERE batch_id = $2), (SELECT count(DISTINCT consumer_id) FROM consumer.coupons WHERE batch_id = $2)`,
		run, b.ID).Scan(&rows, &coupons, &holders); err != nil {
		return err
	}
	verdict := "exactly once"
	if rows != int64(sg.Members) || coupons != int64(sg.Members) || holders != coupons {
		verdict = fmt.Sprintf("NOT exactly once: %d sends rows, %d coupons, %d members holding them", rows, coupons, holders)
	}
	fmt.Fprintf(out, "| coupon campaign to %d members through loyalty (batches of %d, %d at once, one sender) | %s | %.0f issued/s, %s; %s |\n", sg.Members, batch,
		parallel, took.Round(time.Millisecond), float64(coupons)/took.Seconds(), verdict, used.per(coupons, runtime.NumCPU()))
	return nil
}
