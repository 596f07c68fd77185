package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// benchNotifyCmd is `tandem bench notify`: WeChat Pay payment notifications through the
// whole path (verify and decrypt → order paid → ledger → outbox → relay → asynq →
// fulfilment and points), with the simulator paying every order at once.
func benchNotifyCmd() *cobra.Command {
	var orders, consumers, payers, rate int
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Payment notifications/s end to end (verify → ledger → outbox → fulfilment → points) and notification-to-points latency",
		Long: `Runs the API, the worker and the WeChat Pay simulator in this process on the bench
database, places and prepays --orders orders (not measured), then has the simulator pay
them all from --payers goroutines, at once (a burst: the latency then includes the
queue) or at --rate payments per second: its notifications reach the API concurrently.
Measures from each notification's first arrival at the API to its order's points entry.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if orders < 1 || consumers < 1 || payers < 1 {
				return errors.New("--orders, --consumers and --payers must be at least 1")
			}
			return withBenchEnv(cmd, func(ctx context.Context, db *pgxpool.Pool, r asynq.RedisClientOpt) error {
				return benchNotify(ctx, cmd, db, r, notifyLoad{orders: orders, consumers: min(consumers, orders), payers: payers, rate: rate})
			})
		},
	}
	cmd.Flags().IntVar(&orders, "orders", 2000, "orders paid, one notification each")
	cmd.Flags().IntVar(&consumers, "consumers", 200, "members the orders are spread over")
	cmd.Flags().IntVar(&payers, "payers", 8, "goroutines paying orders at the simulator")
	cmd.Flags().IntVar(&rate, "rate", 0, "payments per second (0: all at once, a burst)")
	return cmd
}

// notifyArrivals records when each WeChat notification (by its event id) first reached
// the API, before anything of Tandem's ran.
type notifyArrivals struct {
	mu    sync.Mutex
	first map[string]time.Time
	total atomic.Int64
}

func (n *notifyArrivals) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/api/v1/billing/wxpay/notify/payment" {
			at := time.Now()
			body, err := io.ReadAll(r.Body)
			if err == nil {
				r.Body = io.NopCloser(bytes.NewReader(body))
				var env struct {
					ID string `json:"id"`
				}
				if json.Unmarshal(body, &env) == nil && env.ID != "" {
					n.total.Add(1)
					n.mu.Lock()
					if _, ok := n.first[env.ID]; !ok {
						n.first[env.ID] = at
					}
					n.mu.Unlock()
				}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// notifyLoad is what benchNotify sends: orders over consumers, paid by payers
// goroutines at rate payments/s (0: as fast as the simulator goes).
type notifyLoad struct{ orders, consumers, payers, rate int }

func benchNotify(ctx context.Context, cmd *cobra.Command, db *pgxpool.Pool, r asynq.RedisClientOpt, load notifyLoad) error {
	out := cmd.OutOrStdout()
	n, consumers := load.orders, load.consumers
	quiet := slog.New(slog.DiscardHandler)
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	// The app on the bench database and the bench Redis database.
	cfg.DatabaseURL = db.Config().ConnString()
	ru := url.URL{Scheme: "redis", Host: r.Addr, Path: fmt.Sprint("/", r.DB)}
	if r.Password != "" {
		ru.User = url.UserPassword("", r.Password)
	}
	cfg.RedisURL = ru.String()
	a, err := openApp(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer a.Close()

	// The simulator: fresh keys, its schema on the bench database, its own listener;
	// retries of failed deliveries 1000 times faster than WeChat's schedule.
	keys, err := os.MkdirTemp("", "tandem-bench-wxsim-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(keys)
	platform, mk, err := wxsim.LoadOrCreateKeys(keys, wxsim.DevMchID)
	if err != nil {
		return err
	}
	if err := pg.Migrate(ctx, db, wxsim.Migrations); err != nil {
		return err
	}
	sim, err := wxsim.New(db, platform, wxsim.Config{NotifyScale: 0.001}, quiet)
	if err != nil {
		return err
	}
	defer sim.Close()
	if err := sim.AddMerchant(wxsim.MerchantFromKeys(mk, wxsim.KeyModeSwitch, wxsim.DevAppID)); err != nil {
		return err
	}
	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	simSrv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = simSrv.Serve(simLn) }()
	defer simSrv.Close()

	// The API, where the simulator sends its notifications.
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.cfg.WxpayKeys, a.cfg.WxpayBaseURL, a.cfg.WxpayAppID = keys, "http://"+simLn.Addr().String(), wxsim.DevAppID
	a.cfg.PublicURL = "http://" + apiLn.Addr().String()
	if err := a.openPayments(ctx); err != nil {
		return err
	}
	arrivals := &notifyArrivals{first: make(map[string]time.Time, n)}
	apiSrv := &http.Server{Handler: arrivals.wrap(a.router()), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = apiSrv.Serve(apiLn) }()
	defer apiSrv.Close()
	wctx, stopWorker := context.WithCancel(ctx)
	workerDone := make(chan error, 1)
	go func() { workerDone <- a.runBackground(wctx, "worker") }()
	defer func() { stopWorker(); <-workerDone }()

	// Not measured: a live merchant (the demo's, through the services), members, and the
	// orders with their prepays.
	demo, err := a.seedDemo(ctx)
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	setup := time.Now()
	members := make([]uuid.UUID, consumers)
	for i := range members {
		m, _, err := a.consumer.Join(ctx, consumer.JoinRequest{AppID: wxsim.DevAppID, OpenID: fmt.Sprintf("o-bench-%06d", i)})
		if err != nil {
			return fmt.Errorf("member %d: %w", i, err)
		}
		members[i] = m.ID
	}
	orderNos := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			cid := members[i%consumers]
			o, err := a.billing.PlaceOrder(gctx, cid, billing.NewOrder{MerchantID: demo.merchantID, Description: "bench",
				Amount: money.MustNew(int64(100+i%50_000), money.CNY)})
			if err != nil {
				return fmt.Errorf("order %d: %w", i, err)
			}
			if _, err := a.billing.Prepay(gctx, cid, o.ID, billing.PayJSAPI); err != nil {
				return fmt.Errorf("prepay %d: %w", i, err)
			}
			orderNos[i] = o.OrderNo
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "bench notify: %d orders prepaid for %d members in %s; paying\n", n, consumers, time.Since(setup).Round(time.Millisecond))

	// Measured: the simulator pays everything; each payment sends its notification at once.
	todo := make(chan string)
	payStart := time.Now()
	g, gctx = errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(todo)
		var tick *time.Ticker
		if load.rate > 0 {
			tick = time.NewTicker(time.Second / time.Duration(load.rate))
			defer tick.Stop()
		}
		for _, no := range orderNos {
			if tick != nil {
				<-tick.C
			}
			select {
			case todo <- no:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range load.payers {
		g.Go(func() error {
			for no := range todo {
				if _, err := sim.Pay(gctx, wxsim.PayRequest{OutTradeNo: no}); err != nil {
					return fmt.Errorf("pay %s: %w", no, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	paid := time.Since(payStart)
	deadline := time.Now().Add(10*time.Minute + time.Duration(n)*10*time.Millisecond)
	for {
		var credited int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM consumer.points_entries p JOIN billing.orders o ON o.id = p.order_id WHERE p.kind = 'earn'`).Scan(&credited); err != nil {
			return err
		}
		if credited >= n {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d orders credited before the deadline", credited, n)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Each notification's first arrival against its order's points entry.
	rows, err := db.Query(ctx, `SELECT l.notification_id, p.created_at, l.received_at
FROM billing.notifications_log l
JOIN billing.orders o ON o.order_no = l.out_trade_no
JOIN consumer.points_entries p ON p.order_id = o.id AND p.kind = 'earn'
WHERE l.outcome = 'applied' AND l.event_type = 'TRANSACTION.SUCCESS'`)
	if err != nil {
		return err
	}
	arrivals.mu.Lock()
	defer arrivals.mu.Unlock()
	lat := make([]time.Duration, 0, n)
	var first, lastPoints, lastApplied time.Time
	for rows.Next() {
		var id string
		var pointsAt, appliedAt time.Time
		if err := rows.Scan(&id, &pointsAt, &appliedAt); err != nil {
			rows.Close()
			return err
		}
		arrived, ok := arrivals.first[id]
		if !ok {
			rows.Close()
			return fmt.Errorf("notification %s applied but never seen arriving", id)
		}
		lat = append(lat, pointsAt.Sub(arrived))
		if first.IsZero() || arrived.Before(first) {
			first = arrived
		}
		lastPoints = later(lastPoints, pointsAt)
		lastApplied = later(lastApplied, appliedAt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(lat) != n {
		return fmt.Errorf("%d notifications applied and credited, want %d", len(lat), n)
	}
	slices.Sort(lat)
	span := lastPoints.Sub(first)
	how := "at once"
	if load.rate > 0 {
		how = fmt.Sprintf("at %d/s", load.rate)
	}
	fmt.Fprintf(out, "| payment notifications, %d orders of %d members paid %s by the simulator (%d deliveries for %d notifications) | %.0f notifications/s end to end, to points (applied to ledger + outbox at %.0f/s; simulator paid all in %s) | notification -> points p50 %.1f ms, p99 %.1f ms, max %.1f ms |\n",
		n, consumers, how, arrivals.total.Load(), len(arrivals.first), float64(n)/span.Seconds(), float64(n)/lastApplied.Sub(first).Seconds(),
		paid.Round(time.Millisecond), ms(lat[len(lat)/2]), ms(lat[(len(lat)*99)/100]), ms(lat[len(lat)-1]))
	return nil
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
