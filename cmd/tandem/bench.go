package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
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

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/profiling"
)

// benchRedisDB is the Redis database the benchmarks flush and use; never the app's 0.
const benchRedisDB = 15

// benchDBName is the scratch database of the benches: tandem_bench, or TANDEM_BENCH_DB
// (so that two people measuring on one server do not drop each other's).
func benchDBName() string {
	if name := os.Getenv("TANDEM_BENCH_DB"); name != "" {
		return name
	}
	return "tandem_bench"
}

// benchRedisDBNumber is benchRedisDB, or TANDEM_BENCH_REDIS_DB (as TANDEM_BENCH_DB, so
// that two people measuring on one server do not flush each other's tasks).
func benchRedisDBNumber() int {
	if n, err := strconv.Atoi(os.Getenv("TANDEM_BENCH_REDIS_DB")); err == nil && n > 0 {
		return n
	}
	return benchRedisDB
}

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks of the platform on the configured PostgreSQL and Redis (make bench runs them)",
		Long: `Measures the platform on a scratch database (tandem_bench, dropped and re-created) and
Redis database 15 (flushed) of the configured servers. Prints one table row per figure.`,
	}
	var events, relays, producers int
	var drainOnly bool
	var drainProfile string
	outboxCmd := &cobra.Command{
		Use:   "outbox",
		Short: "Outbox: events/s from commit to enqueued and the lag percentiles, with 1 and 2 relays",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withBenchEnv(cmd, func(ctx context.Context, db *pgxpool.Pool, r asynq.RedisClientOpt) error {
				for n := 1; n <= relays && !drainOnly; n++ {
					if err := benchOutbox(ctx, cmd.OutOrStdout(), db, r, events, n, producers); err != nil {
						return err
					}
				}
				stopProfile, err := profiling.StartCPU(drainProfile)
				if err != nil {
					return err
				}
				defer stopProfile()
				for n := 1; n <= relays; n++ {
					if err := benchOutboxDrain(ctx, cmd.OutOrStdout(), db, r, events, n); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	outboxCmd.Flags().IntVar(&events, "events", 10_000, "events per run")
	outboxCmd.Flags().IntVar(&relays, "relays", 2, "run with 1..N relays")
	outboxCmd.Flags().IntVar(&producers, "producers", 4, "goroutines committing the events, one per transaction")
	outboxCmd.Flags().BoolVar(&drainOnly, "drain-only", false, "only the drains of events already committed (the relay's own work)")
	outboxCmd.Flags().StringVar(&drainProfile, "cpuprofile", "", "write a CPU profile of the drains to this file (go tool pprof)")
	var tasks int
	pickupCmd := &cobra.Command{
		Use:   "pickup",
		Short: "asynq: enqueue-to-start latency p50/p99, direct and through the outbox, at two poll intervals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withBenchEnv(cmd, func(ctx context.Context, db *pgxpool.Pool, r asynq.RedisClientOpt) error {
				for _, poll := range []time.Duration{time.Second, 10 * time.Millisecond} {
					n := tasks
					if poll >= time.Second {
						n = max(20, tasks/10) // half a second each: enough to show the median
					}
					for _, viaOutbox := range []bool{false, true} {
						if err := benchPickup(ctx, cmd.OutOrStdout(), db, r, n, poll, viaOutbox); err != nil {
							return err
						}
					}
				}
				return nil
			})
		},
	}
	pickupCmd.Flags().IntVar(&tasks, "tasks", 300, "tasks per run, enqueued one at a time")
	cmd.AddCommand(outboxCmd, pickupCmd, benchNotifyCmd(), benchBareCmd(), benchMatchingCmd(), benchLoyaltyCmd(), benchPoolsCmd(),
		benchSegmentsCmd(), benchCampaignCmd(), benchReportsCmd(), benchSettleCmd())
	return cmd
}

// withBenchEnv gives f a fresh migrated database and a flushed Redis database.
func withBenchEnv(cmd *cobra.Command, f func(ctx context.Context, db *pgxpool.Pool, r asynq.RedisClientOpt) error) error {
	ctx := cmd.Context()
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	db, err := freshBenchDB(ctx, cfg.DatabaseURL, benchDBName())
	if err != nil {
		return err
	}
	defer db.Close()
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return err
	}
	r := asynq.RedisClientOpt{Addr: ropt.Addr, Password: ropt.Password, DB: benchRedisDBNumber()}
	if err := flushBenchRedis(ctx, r); err != nil {
		return err
	}
	return f(ctx, db, r)
}

// freshBenchDB drops and re-creates database name on the configured server and
// migrates it.
func freshBenchDB(ctx context.Context, dbURL, name string) (*pgxpool.Pool, error) {
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, err
	}
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, fmt.Errorf("cannot reach PostgreSQL (%s): run 'make stack' first", oneLine(err))
	}
	for _, q := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if _, err := admin.Exec(ctx, q); err != nil {
			admin.Close(ctx)
			return nil, err
		}
	}
	admin.Close(ctx)
	u.Path = "/" + name
	db, err := pg.Connect(ctx, u.String(), pg.PoolConfig{MaxConns: 16, AppName: "tandem-bench"})
	if err != nil {
		return nil, err
	}
	if err := pg.Migrate(ctx, db, migrationSets()...); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

const benchTopic events.Topic = "bench.happened"

// benchOutbox commits n events, one per transaction from `producers` goroutines, while
// `relays` relays run, and measures from each commit to its enqueue (sent_at - created_at).
// With durable commits the commit rate is bound by the WAL flush, shared by the commits
// waiting at once (group commit): more producers, more commits per flush.
func benchOutbox(ctx context.Context, w io.Writer, db *pgxpool.Pool, r asynq.RedisClientOpt, n, relays, producers int) error {
	if _, err := db.Exec(ctx, "TRUNCATE platform.outbox, platform.outbox_deliveries"); err != nil {
		return err
	}
	if err := flushBenchRedis(ctx, r); err != nil {
		return err
	}
	client, err := outbox.NewPipelinedClient(r) // as the worker's relay
	if err != nil {
		return err
	}
	defer client.Close()
	subs := []outbox.Subscription{{Topic: benchTopic, Subscriber: "bench"}}
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range relays {
		relay := outbox.NewRelay(db, client, subs, outbox.RelayConfig{Name: fmt.Sprint("bench-", i)}, slog.New(slog.DiscardHandler), nil)
		wg.Add(1)
		go func() { defer wg.Done(); _ = relay.Run(rctx) }()
	}
	time.Sleep(200 * time.Millisecond) // relays listening before the first commit
	start := time.Now()
	var next atomic.Int64
	var pwg sync.WaitGroup
	errc := make(chan error, producers)
	for range producers {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				err := pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
					_, err := outbox.Publish(ctx, tx, benchTopic, fmt.Sprint("agg-", i%100), map[string]int64{"i": i})
					return err
				})
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	pwg.Wait()
	committed := time.Since(start)
	for {
		var left int
		if err := db.QueryRow(ctx, "SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL").Scan(&left); err != nil {
			stop()
			return err
		}
		if left == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
	}
	var span, p50, p99, max float64
	err = db.QueryRow(ctx, `SELECT extract(epoch FROM max(sent_at) - min(created_at)),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)),
  percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - created_at)),
  max(extract(epoch FROM sent_at - created_at))
FROM platform.outbox`).Scan(&span, &p50, &p99, &max)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "| outbox, %d relay(s), %d events committed one per tx by %d producers | %.0f events/s end to end (commits alone took %s: %.0f tx/s) | lag p50 %.1f ms, p99 %.1f ms, max %.1f ms |\n",
		relays, n, producers, float64(n)/span, committed.Round(time.Millisecond), float64(n)/committed.Seconds(), p50*1000, p99*1000, max*1000)
	return nil
}

// benchOutboxDrain commits n events at once (COPY) and times relays emptying the
// backlog: the relay's own capacity, free of the producers' commit rate. It then checks
// the drain left nothing out: every event sent, one delivery row and one task each. The
// CPU per event is this process's, the database's backends' and the Redis server's
// (Redis is shared with whatever else runs on the machine, so its share is a ceiling).
func benchOutboxDrain(ctx context.Context, w io.Writer, db *pgxpool.Pool, r asynq.RedisClientOpt, n, relays int) error {
	if _, err := db.Exec(ctx, "TRUNCATE platform.outbox, platform.outbox_deliveries"); err != nil {
		return err
	}
	if err := flushBenchRedis(ctx, r); err != nil {
		return err
	}
	now := time.Now()
	_, err := db.CopyFrom(ctx, pgx.Identifier{"platform", "outbox"}, []string{"id", "topic", "aggregate_key", "payload", "created_at"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			id, err := uuid.NewV7()
			return []any{id, string(benchTopic), fmt.Sprint("agg-", i%100), []byte(fmt.Sprintf(`{"i":%d}`, i)), now}, err
		}))
	if err != nil {
		return err
	}
	client, err := outbox.NewPipelinedClient(r) // as the worker's relay
	if err != nil {
		return err
	}
	defer client.Close()
	subs := []outbox.Subscription{{Topic: benchTopic, Subscriber: "bench"}}
	meter, err := startCPUMeter(ctx, db)
	if err != nil {
		return err
	}
	redisCPU0 := redisCPU(ctx, r)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, relays)
	for i := range relays {
		relay := outbox.NewRelay(db, client, subs, outbox.RelayConfig{Name: fmt.Sprint("drain-", i)}, slog.New(slog.DiscardHandler), nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = relay.Drain(ctx)
		}()
	}
	wg.Wait()
	took := time.Since(start)
	used, err := meter.stop(ctx)
	if err != nil {
		return err
	}
	redisUsed := redisCPU(ctx, r) - redisCPU0
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := checkDrained(ctx, db, r, n); err != nil {
		return err
	}
	fmt.Fprintf(w, "| outbox drain, %d relay(s), %d events already committed | %.0f events/s (%s) | CPU per event: PostgreSQL %s, Go %s, Redis %s |\n",
		relays, n, float64(n)/took.Seconds(), took.Round(time.Millisecond), perEvent(used.backends, n, used.ok), perEvent(used.self, n, true),
		perEvent(redisUsed, n, redisUsed > 0))
	return nil
}

// checkDrained fails unless each of the n events is sent, with its delivery row, and
// the task that carries it (many events a task) is waiting in asynq.
func checkDrained(ctx context.Context, db *pgxpool.Pool, r asynq.RedisClientOpt, n int) error {
	var unsent, deliveries int
	err := db.QueryRow(ctx, `SELECT (SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL),
  (SELECT count(*) FROM platform.outbox_deliveries d JOIN platform.outbox o ON o.id = d.event_id)`).Scan(&unsent, &deliveries)
	if err != nil {
		return err
	}
	// Each event is in the task its delivery names; the tasks are those asynq holds.
	var tasks, untasked int
	err = db.QueryRow(ctx, `SELECT count(DISTINCT task), count(*) FILTER (WHERE task IS NULL) FROM platform.outbox_deliveries`).Scan(&tasks, &untasked)
	if err != nil {
		return err
	}
	insp := asynq.NewInspector(r)
	defer insp.Close()
	q, err := insp.GetQueueInfo("default")
	if err != nil {
		return err
	}
	if unsent != 0 || deliveries != n || untasked != 0 || q.Pending != tasks {
		return fmt.Errorf("bench outbox: drain of %d events left %d unsent, %d delivery rows (%d without a task), %d tasks of %d",
			n, unsent, deliveries, untasked, q.Pending, tasks)
	}
	return nil
}

// redisCPU is the Redis server's CPU time so far (user and system), 0 when unknown.
func redisCPU(ctx context.Context, r asynq.RedisClientOpt) time.Duration {
	rc := redis.NewClient(&redis.Options{Addr: r.Addr, Password: r.Password, DB: r.DB})
	defer rc.Close()
	info, err := rc.Info(ctx, "cpu").Result()
	if err != nil {
		return 0
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, _ := strings.Cut(strings.TrimSpace(line), ":")
		if k == "used_cpu_user" || k == "used_cpu_sys" {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

func perEvent(d time.Duration, n int, ok bool) string {
	if !ok {
		return "–"
	}
	return fmt.Sprintf("%.1f µs", float64(d)/float64(n)/float64(time.Microsecond))
}

// benchPickup measures from enqueue (or from the commit of an outbox event) to the start
// of the handler, one task at a time so each measures an idle worker's pick-up.
func benchPickup(ctx context.Context, w io.Writer, db *pgxpool.Pool, r asynq.RedisClientOpt, n int, poll time.Duration, viaOutbox bool) error {
	if err := flushBenchRedis(ctx, r); err != nil {
		return err
	}
	var mu sync.Mutex
	lat := make([]time.Duration, 0, n)
	done := make(chan struct{}, n)
	record := func(sentAt int64) {
		mu.Lock()
		lat = append(lat, time.Since(time.Unix(0, sentAt)))
		mu.Unlock()
		done <- struct{}{}
	}
	srv := asynq.NewServer(r, asynq.Config{Concurrency: 10, TaskCheckInterval: poll, LogLevel: asynq.FatalLevel})
	mux := asynq.NewServeMux()
	sub := outbox.Subscription{Topic: benchTopic, Subscriber: "pickup", Handle: func(_ context.Context, e events.Envelope) error {
		var p struct{ T int64 }
		if err := e.Decode(&p); err != nil {
			return err
		}
		record(p.T)
		return nil
	}}
	outbox.Register(mux, db, []outbox.Subscription{sub})
	mux.HandleFunc("bench:direct", func(_ context.Context, t *asynq.Task) error {
		var p struct{ T int64 }
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return err
		}
		record(p.T)
		return nil
	})
	if err := srv.Start(mux); err != nil {
		return err
	}
	defer srv.Shutdown()
	client := asynq.NewClient(r)
	defer client.Close()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	if viaOutbox {
		relay := outbox.NewRelay(db, client, []outbox.Subscription{sub}, outbox.RelayConfig{}, slog.New(slog.DiscardHandler), nil)
		go func() { _ = relay.Run(rctx) }()
	}
	time.Sleep(300 * time.Millisecond)
	for i := range n {
		now := time.Now().UnixNano()
		var err error
		if viaOutbox {
			// The clock starts just before the commit, so the figure covers commit, NOTIFY,
			// relay claim, enqueue, mark and pick-up.
			err = pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
				_, err := outbox.Publish(ctx, tx, benchTopic, "k", map[string]int64{"T": now})
				return err
			})
		} else {
			_, err = client.EnqueueContext(ctx, asynq.NewTask("bench:direct", fmt.Appendf(nil, `{"T":%d}`, now)), asynq.TaskID(fmt.Sprint("d", i)))
		}
		if err != nil {
			return err
		}
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			return fmt.Errorf("task %d not picked up within 10 s", i)
		}
		// Arrivals at random points of the worker's poll cycle, as real traffic is; right
		// after the previous task the worker has just begun its sleep (the worst case).
		time.Sleep(time.Duration(rand.Int64N(int64(poll) + 1)))
	}
	slices.Sort(lat)
	path := "enqueue -> handler start"
	if viaOutbox {
		path = "commit -> outbox relay -> handler start"
	}
	fmt.Fprintf(w, "| asynq pick-up, TaskCheckInterval %s, %s, %d tasks one at a time | p50 %.1f ms | p99 %.1f ms |\n",
		poll, path, n, ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]))
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// flushBenchRedis empties the benchmarks' Redis database, so each run starts with no tasks.
func flushBenchRedis(ctx context.Context, r asynq.RedisClientOpt) error {
	rc := redis.NewClient(&redis.Options{Addr: r.Addr, Password: r.Password, DB: r.DB})
	defer rc.Close()
	return rc.FlushDB(ctx).Err()
}
