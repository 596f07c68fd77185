package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tandemcrm/tandem/shared/profiling"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/matching/offline"
	"github.com/tandemcrm/tandem/shared/config"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/pg"
)

// The full-rebuild target of issue 17, extrapolated to from the scaled run.
const (
	targetConsumers = 1_000_000
	targetMerchants = 100_000
	targetOrders    = 50_000_000
)

func benchMatchingCmd() *cobra.Command {
	var evalConsumers, evalMerchants, consumers, clients int
	var serveFor time.Duration
	var demo, full, httpOnly bool
	var identities int
	var cpuProfile, httpRates string
	httpOpts := httpServeOptions{}
	cmd := &cobra.Command{
		Use:   "matching",
		Short: "Matching: held-out precision/recall of each recommender against popularity, serve p99, incremental refresh, full rebuild",
		Long: `Without --demo, on a scratch database (tandem_bench):
  1. generates a synthetic purchase record (matching/offline: taste clusters, distance decay,
     popularity skew) and prints precision@k and recall@k (k = 10, 20) of each method;
  2. imports a scaled record with the target's proportions (10 consumers per merchant,
     50 orders per consumer), times the full rebuild and extrapolates it linearly to
     1M consumers / 100k merchants / 50M orders;
  3. serves top-20 recommendations to --clients concurrent clients and prints p50/p99;
  4. times the incremental refresh of one payment (record + recompute of the payer);
  5. starts 'tandem serve' on that database in its own process and offers GET
     /api/v1/matching/consumers/{id}/recommendations (a real API token) from --clients
     connections over loopback at each --http-rates, open loop, with GET /healthz at the
     same rate as the floor of HTTP itself (matchingbench_http.go).
With --demo: the same evaluation on the record of the configured database (make run's demo).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if demo {
				return benchMatchingDemo(cmd, out)
			}
			if full { // the sizes: nothing extrapolated
				consumers, evalConsumers, evalMerchants, identities = targetConsumers, 100_000, 10_000, 1_000_000
			}
			// Its own scratch database: the other benches' tandem_bench may be dropped
			// under it by a bench running beside it.
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			if httpOpts.rates, err = parseRates(httpRates); err != nil {
				return err
			}
			httpOpts.clients = clients
			if httpOnly {
				return benchMatchingHTTPOnly(ctx, out, cfg, httpOpts)
			}
			db, err := freshBenchDB(ctx, cfg.DatabaseURL, "tandem_bench_matching")
			if err != nil {
				return err
			}
			defer db.Close()
			if err := benchMatchingEval(ctx, out, evalConsumers, evalMerchants); err != nil {
				return err
			}
			benchMatchingIdentities(out, identities)
			return benchMatchingScale(ctx, out, cfg, db, consumers, clients, serveFor, cpuProfile, httpOpts)
		},
	}
	cmd.Flags().IntVar(&evalConsumers, "eval-consumers", 20_000, "consumers of the synthetic record evaluated")
	cmd.Flags().IntVar(&evalMerchants, "eval-merchants", 2_000, "merchants of the synthetic record evaluated")
	cmd.Flags().IntVar(&consumers, "consumers", 20_000, "consumers of the scaled rebuild (merchants: a tenth; orders: 50 each)")
	cmd.Flags().IntVar(&clients, "clients", 64, "concurrent clients of the serve benchmark")
	cmd.Flags().DurationVar(&serveFor, "serve-for", 5*time.Second, "how long the serve benchmark runs")
	cmd.Flags().IntVar(&identities, "identities", 1_000_000, "consumer identities of the resolution benchmark (5 % planted duplicates)")
	cmd.Flags().StringVar(&httpRates, "http-rates", "2000", "offered rates (requests/s, comma-separated) of the HTTP serve benchmark; empty: skip it")
	cmd.Flags().DurationVar(&httpOpts.d, "http-for", 5*time.Second, "how long each rate of the HTTP serve benchmark runs")
	cmd.Flags().IntVar(&httpOpts.working, "http-consumers", 20_000, "consumers the HTTP serve benchmark asks for (their lists fit tandem serve's cache of 50,000)")
	cmd.Flags().StringVar(&httpOpts.cpuProfile, "http-cpuprofile", "", "write tandem serve's CPU profile of the first HTTP recommendations run to this file (go tool pprof)")
	cmd.Flags().StringVar(&httpOpts.trace, "http-trace", "", "write tandem serve's execution trace of the first HTTP recommendations run to this file (go tool trace: GC pauses, scheduler latency)")
	cmd.Flags().StringVar(&httpOpts.serveBinary, "serve-binary", "", "the tandem binary whose 'serve' is measured over HTTP (default: this one), to compare two builds under the same client")
	cmd.Flags().BoolVar(&httpOnly, "http-only", false, "only the HTTP serve benchmark, on the database a previous run left (tandem_bench_matching): no evaluation, import or rebuild")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the full rebuild to this file (go tool pprof)")
	cmd.Flags().BoolVar(&demo, "demo", false, "evaluate the record of the configured database instead")
	cmd.Flags().BoolVar(&full, "full", false, "the issue's full sizes: rebuild 1M consumers / 100k merchants / 50M orders (about 10 GiB of memory and an hour on a loaded machine), evaluate 100k consumers")
	return cmd
}

const evalHeader = "| data | method | P@10 | R@10 | P@20 | R@20 | R@20 vs popularity | consumers |\n|---|---|---|---|---|---|---|---|\n"

func benchMatchingEval(ctx context.Context, out io.Writer, consumers, merchants int) error {
	start := time.Now()
	data := offline.Generate(offline.Spec{Consumers: consumers, Merchants: merchants, Seed: 1})
	gen := time.Since(start)
	start = time.Now()
	ev, err := offline.Evaluate(ctx, data, matching.Config{}, offline.EvalOptions{MaxConsumers: 5000})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Held-out evaluation: the last 20 %% of each consumer's orders; a hit is a merchant first tried there "+
		"(%.1f per consumer evaluated). Synthetic record: %d consumers, %d merchants, %d orders, generated in %s, evaluated in %s.\n\n",
		ev.MeanHeldOut, consumers, merchants, len(data.Orders), gen.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	fmt.Fprint(out, evalHeader)
	ev.WriteMarkdown(out, "synthetic")
	fmt.Fprintln(out)
	return nil
}

func benchMatchingIdentities(out io.Writer, n int) {
	ids := offline.GenerateIdentities(n, 0.05, 1)
	s := offline.ScoreResolution(ids)
	fmt.Fprintln(out, "| identity resolution | records | planted duplicates | automatic merges | precision | recall | review queue | planted merged or queued | time |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	fmt.Fprintf(out, "| consumers (openid per app, unionid, phone; auto ≥ %.2f) | %d | %d | %d | %.4f | %.4f | %d | %.4f | %s |\n\n",
		matching.AutoMergeAbove, s.Records, s.Planted, s.Auto, s.Precision, s.Recall, s.Review, s.ReviewRecall, s.Took.Round(time.Millisecond))
}

func benchMatchingDemo(cmd *cobra.Command, out io.Writer) error {
	ctx := cmd.Context()
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	db, err := pg.Connect(ctx, cfg.DatabaseURL, pg.PoolConfig{MaxConns: 4, AppName: "tandem-bench"})
	if err != nil {
		return err
	}
	defer db.Close()
	merchants, orders, err := matching.New(domain.Deps{DB: db}, matching.Ports{}, matching.Config{}).Export(ctx)
	if err != nil {
		return err
	}
	ev, err := offline.Evaluate(ctx, offline.FromRecord(merchants, orders), matching.Config{}, offline.EvalOptions{})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Held-out evaluation of the demo record: %d merchants, %d orders.\n\n", len(merchants), len(orders))
	fmt.Fprint(out, evalHeader)
	ev.WriteMarkdown(out, "demo")
	fmt.Fprintln(out)
	return nil
}

func benchMatchingScale(ctx context.Context, out io.Writer, cfg config.Config, db *pgxpool.Pool, consumers, clients int, serveFor time.Duration, cpuProfile string, httpOpts httpServeOptions) error {
	merchants := max(100, consumers/10)
	// The full world's density in a smaller box: each consumer's neighbourhood (the
	// nearest shops ranked) is as crowded as at full size, so the extrapolation is linear.
	side := math.Sqrt(float64(merchants) / targetMerchants)
	data := offline.Generate(offline.Spec{Consumers: consumers, Merchants: merchants, OrdersPerConsumer: 50, Seed: 2, BoxSide: side})
	// The serving process keeps every consumer's list (Config.CacheConsumers; about
	// 1 KiB each): a cache smaller than the consumers asked for measures PostgreSQL's
	// misses, the row above the cache rows.
	cacheSize := consumers + max(100, consumers/10)
	svc := matching.New(domain.Deps{DB: db}, matching.Ports{}, matching.Config{CacheConsumers: cacheSize})
	start := time.Now()
	if err := svc.Import(ctx, data.Merchants, data.PaidOrders()); err != nil {
		return err
	}
	imported := time.Since(start)
	stopProfile, err := profiling.StartCPU(cpuProfile)
	if err != nil {
		return err
	}
	start = time.Now()
	cpu0 := processCPU()
	st, err := svc.Rebuild(ctx)
	took, cpu := time.Since(start), processCPU()-cpu0
	stopProfile()
	if err != nil {
		return err
	}
	factor := float64(targetConsumers) / float64(st.Consumers)
	fmt.Fprintln(out, "| figure | value |")
	fmt.Fprintln(out, "|---|---|")
	fmt.Fprintf(out, "| import (COPY + recount): %d merchants, %d consumers, %d orders | %s |\n", merchants, st.Consumers, len(data.Orders), imported.Round(time.Millisecond))
	fmt.Fprintf(out, "| full rebuild: %d consumer–merchant pairs, %d co-purchase pairs, %d recommendations (read %s, model %s, rank + write with the co-purchase pairs beside %s: the workers ranked for %s and wrote for %s in all; CPU of this process %s; load average %s) | %s |\n",
		st.Pairs, st.CoPairs, st.Recommendations, st.Load.Round(time.Millisecond), st.Model.Round(time.Millisecond), st.Write.Round(time.Millisecond),
		st.Rank.Round(time.Millisecond), st.Store.Round(time.Millisecond),
		cpu.Round(time.Millisecond), loadAverage(), took.Round(time.Millisecond))
	fmt.Fprintf(out, "| full rebuild extrapolated ×%.0f (linear in consumers at 50 orders each and 10 consumers per merchant) to %dk consumers / %dk merchants / %dM orders | %s |\n",
		factor, targetConsumers/1000, targetMerchants/1000, targetOrders/1_000_000, time.Duration(float64(took)*factor).Round(time.Second))

	// Serve: known consumers and 10 % never seen (the cold-start list).
	ids := make([]uuid.UUID, 0, consumers)
	seen := map[uuid.UUID]bool{}
	for _, o := range data.Orders {
		if !seen[o.Consumer] {
			seen[o.Consumer] = true
			ids = append(ids, o.Consumer)
		}
	}
	// Unknown consumers come from a pool of their own: a new consumer opens the app
	// more than once.
	unknown := make([]uuid.UUID, max(100, len(ids)/10))
	for i := range unknown {
		unknown[i] = uuid.New()
	}
	// The first read of each consumer misses the process's cache (one PostgreSQL read);
	// then the cache serves until the consumer's list changes.
	var miss []time.Duration
	for _, c := range append(slices.Clone(ids), unknown...) {
		t0 := time.Now()
		if _, err := svc.Recommendations(ctx, c, 20); err != nil {
			return err
		}
		miss = append(miss, time.Since(t0))
	}
	p50, p99 := percentiles(miss)
	fmt.Fprintf(out, "| serve top 20 from PostgreSQL (a cache miss: each of %d consumers once, one client; load average %s) | p50 %s, p99 %s |\n",
		len(miss), loadAverage(), p50, p99)
	for _, n := range []int{1, clients} {
		lat, err := serveLatency(ctx, svc, ids, unknown, n, serveFor)
		if err != nil {
			return err
		}
		p50, p99 := percentiles(lat)
		fmt.Fprintf(out, "| serve top 20 from the process's cache (of %d consumers), %d concurrent clients in this process, %d requests in %s (%.0f/s; 10 %% unknown consumers; load average %s) | p50 %s, p99 %s |\n",
			cacheSize, n, len(lat), serveFor, float64(len(lat))/serveFor.Seconds(), loadAverage(), p50, p99)
	}

	// Incremental: one payment recorded and the payer's list recomputed, as the
	// handler does; then until another process (its own cache, warm with the old list)
	// serves the new list.
	api := matching.New(domain.Deps{DB: db}, matching.Ports{}, matching.Config{})
	r := rand.New(rand.NewPCG(9, 9))
	var inc, served []time.Duration
	for range 50 {
		c := ids[r.IntN(len(ids))]
		m := data.Merchants[r.IntN(len(data.Merchants))].ID
		if _, err := api.Recommendations(ctx, c, 20); err != nil {
			return err
		}
		t0 := time.Now()
		if err := svc.RecordPayment(ctx, events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), ConsumerID: c, MerchantID: m, AmountFen: 1000, PaidAt: time.Now()}); err != nil {
			return err
		}
		if _, err := svc.Recompute(ctx, c); err != nil {
			return err
		}
		inc = append(inc, time.Since(t0))
		for {
			recs, err := api.Recommendations(ctx, c, 20)
			if err != nil {
				return err
			}
			if len(recs) > 0 && !recs[0].ComputedAt.Before(t0.Add(-time.Millisecond)) || time.Since(t0) > 10*time.Second {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		served = append(served, time.Since(t0))
	}
	p50, p99 = percentiles(inc)
	fmt.Fprintf(out, "| incremental refresh after a payment (record + recompute the payer; 50 payments; the event's pick-up is the asynq row above) | p50 %s, p99 %s |\n", p50, p99)
	p50, p99 = percentiles(served)
	fmt.Fprintf(out, "| payment recorded → the new list served by another process's cache (poll every 200 ms) | p50 %s, p99 %s |\n", p50, p99)
	if err := benchMatchingHTTP(ctx, out, cfg, db, ids, unknown, httpOpts); err != nil {
		return err
	}
	fmt.Fprintln(out)
	return nil
}

// serveLatency has clients ask for known consumers' recommendations (and 10 % for
// consumers who bought nothing: the cold-start list) for d, as the API's answer
// ({"items": [...]}, written from the cache as it is kept), and returns every request's
// latency.
func serveLatency(ctx context.Context, svc *matching.Service, ids, unknown []uuid.UUID, clients int, d time.Duration) ([]time.Duration, error) {
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 3))
			var mine []time.Duration
			var buf []byte
			for time.Now().Before(deadline) {
				c := ids[r.IntN(len(ids))]
				if r.IntN(10) == 0 {
					c = unknown[r.IntN(len(unknown))]
				}
				t0 := time.Now()
				body, err := svc.AppendRecommendationsJSON(ctx, buf[:0], c, 20)
				mine = append(mine, time.Since(t0))
				if err == nil && len(body) <= len(`{"items":[]}`) {
					err = fmt.Errorf("no recommendations for %s", c)
				}
				buf = body
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return lat, firstErr
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's 1-minute load: other work on the machine shows in the figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

func percentiles(d []time.Duration) (p50, p99 time.Duration) {
	if len(d) == 0 {
		return 0, 0
	}
	slices.Sort(d)
	at := func(q float64) time.Duration {
		v := d[min(len(d)-1, int(q*float64(len(d))))]
		if v < 10*time.Microsecond { // a cache hit: keep its sub-microsecond digits
			return v.Round(100 * time.Nanosecond)
		}
		return v.Round(10 * time.Microsecond)
	}
	return at(0.50), at(0.99)
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
