package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/devstack"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// faultsCmd is `tandem faults` (make faults): the money path under the faults that
// happen in life, on real servers of its own, every effect counted in SQL afterwards.
func faultsCmd() *cobra.Command {
	var o faultOpts
	cmd := &cobra.Command{
		Use:   "faults",
		Short: "Fault experiments: payments through worker and API kill -9, a PostgreSQL crash and Redis losing its data; every effect exactly once",
		Long: `Starts a PostgreSQL and a Redis of its own (under TANDEM_VAR_DIR/faults, on --pg-port-faults and
--redis-port-faults, 127.0.0.1 only; the shared stack is not touched), the WeChat Pay simulator and
a merchant's webhook endpoint in this process, and 'tandem serve' and 'tandem worker' as
child processes. Then, for each fault, the simulator pays --payments orders while the fault
strikes a third of the way in:
  worker kill -9      the worker is killed mid-flood and started again
  API kill -9         the API is killed mid-flood and started again (WeChat retries)
  PostgreSQL crash    pg_ctl restart -m immediate mid-flood
  Redis loses data    with the worker down, every task enqueued (the batched subscribers run
                      here, so the webhook requests they publish are tasks too), then Redis
                      SHUTDOWN NOSAVE and its files deleted (back empty), and the worker started again
Nobody touches anything after the fault. It waits until every order WeChat paid is paid in
the books, credited with points once and fulfilled (the merchant's webhook received), and
prints a row per fault: payments, acknowledged to WeChat, in the books, points, webhooks
(distinct ids, calls, attempts on record), re-driven deliveries and the recovery time.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			o.dir = filepath.Join(cfg.VarDir, "faults")
			return runFaults(cmd, o)
		},
	}
	cmd.Flags().IntVar(&o.payments, "payments", 400, "orders paid per fault")
	cmd.Flags().IntVar(&o.pgPort, "pg-port-faults", 54339, "port of the experiments' own PostgreSQL")
	cmd.Flags().IntVar(&o.redisPort, "redis-port-faults", 63809, "port of the experiments' own Redis")
	cmd.Flags().DurationVar(&o.settle, "settle", 4*time.Minute, "longest wait for every effect after a fault")
	return cmd
}

type faultOpts struct {
	dir                         string
	payments, pgPort, redisPort int
	settle                      time.Duration
}

// faultLab is the experiments' world: the stack, the in-process app (which places
// orders and counts effects), the simulator, the webhook endpoint and the children.
type faultLab struct {
	out    io.Writer
	stack  *devstack.Stack
	a      *app
	sim    *wxsim.Sim
	hooks  *hookCounter
	api    *child
	worker *child
	opts   faultOpts
}

func runFaults(cmd *cobra.Command, o faultOpts) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	progress := cmd.ErrOrStderr()
	quiet := slog.New(slog.DiscardHandler)
	if err := os.MkdirAll(filepath.Join(o.dir, "logs"), 0o755); err != nil {
		return err
	}
	stack, err := devstack.New(o.dir, o.pgPort, o.redisPort, slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err != nil {
		return err
	}
	if _, err := stack.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = stack.Stop(context.WithoutCancel(ctx), nil) }()
	if err := freshDatabase(ctx, stack); err != nil {
		return err
	}

	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	cfg.DatabaseURL, cfg.RedisURL = stack.DatabaseURL(), stack.RedisURL()
	a, err := openApp(ctx, cfg, quiet)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.redis.FlushAll(ctx).Err(); err != nil {
		return err
	}
	if err := pg.Migrate(ctx, a.db, append(migrationSets(), wxsim.Migrations)...); err != nil {
		return err
	}

	// WeChat Pay (the simulator, retrying failed notifications 1000 times faster than
	// WeChat) and the merchant's webhook endpoint, both in this process on loopback.
	keys := filepath.Join(o.dir, "wxsim")
	platform, mk, err := wxsim.LoadOrCreateKeys(keys, wxsim.DevMchID)
	if err != nil {
		return err
	}
	sim, err := wxsim.New(a.db, platform, wxsim.Config{NotifyScale: 0.001}, quiet)
	if err != nil {
		return err
	}
	defer sim.Close()
	if err := sim.AddMerchant(wxsim.MerchantFromKeys(mk, wxsim.KeyModeSwitch, wxsim.DevAppID)); err != nil {
		return err
	}
	simURL, stopSim, err := serveLoopback(sim.Handler())
	if err != nil {
		return err
	}
	defer stopSim()
	hooks := &hookCounter{secret: "faults-" + uuid.NewString(), calls: map[string]int{}, orderOf: map[string]string{}}
	hookURL, stopHooks, err := serveLoopback(hooks)
	if err != nil {
		return err
	}
	defer stopHooks()
	apiAddr, err := freeLoopbackAddr()
	if err != nil {
		return err
	}
	a.cfg.WxpayKeys, a.cfg.WxpayBaseURL, a.cfg.WxpayAppID = keys, simURL, wxsim.DevAppID
	a.cfg.PublicURL = "http://" + apiAddr
	if err := a.openPayments(ctx); err != nil {
		return err
	}

	// Orders for every fault, placed and prepaid before anything breaks.
	demo, err := a.seedDemo(ctx)
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	if _, err := a.db.Exec(ctx, `UPDATE merchant.merchants SET webhook_url = $1, webhook_secret = $2 WHERE id = $3`,
		hookURL, hooks.secret, demo.merchantID); err != nil {
		return err
	}
	faults := []faultStep{
		{name: "worker kill -9", strike: func(ctx context.Context, l *faultLab) error { return l.worker.restart(ctx) }},
		{name: "API kill -9", strike: func(ctx context.Context, l *faultLab) error { return l.api.restart(ctx) }},
		{name: "PostgreSQL crash (immediate restart)", strike: func(ctx context.Context, l *faultLab) error { return l.stack.CrashPostgres(ctx) }},
		{name: "Redis loses its data with a backlog", backlog: true},
	}
	fmt.Fprintf(progress, "faults: placing %d orders\n", len(faults)*o.payments)
	orders, err := placeFaultOrders(ctx, a, demo.merchantID, len(faults)*o.payments)
	if err != nil {
		return err
	}

	env := append(os.Environ(), "TANDEM_DATABASE_URL="+stack.DatabaseURL(), "TANDEM_REDIS_URL="+stack.RedisURL(),
		"TANDEM_HTTP_ADDR="+apiAddr, "TANDEM_PUBLIC_URL=http://"+apiAddr, "TANDEM_WXPAY_KEYS="+keys,
		"TANDEM_WXPAY_BASE_URL="+simURL, "TANDEM_WXPAY_APPID="+wxsim.DevAppID, "TANDEM_WEBHOOK_ALLOW_NETS=loopback",
		"TANDEM_OUTBOX_REDRIVE_AFTER=5s", "TANDEM_LOG_LEVEL=warn")
	self, err := os.Executable()
	if err != nil {
		return err
	}
	l := &faultLab{out: out, stack: stack, a: a, sim: sim, hooks: hooks, opts: o,
		api:    &child{name: "api", bin: self, args: []string{"serve"}, env: env, log: filepath.Join(o.dir, "logs", "api.log"), ready: "http://" + apiAddr + "/readyz"},
		worker: &child{name: "worker", bin: self, args: []string{"worker", "--role", "worker"}, env: env, log: filepath.Join(o.dir, "logs", "worker.log")},
	}
	for _, c := range []*child{l.api, l.worker} {
		if err := c.start(ctx); err != nil {
			return err
		}
		defer c.kill()
	}

	fmt.Fprintln(out, "| fault | payments | notifications answered 2xx | paid in the books | points credited | webhooks: ids / calls / attempts on record | re-driven | recovered in |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|")
	var failed []string
	for i, f := range faults {
		batch := orders[i*o.payments : (i+1)*o.payments]
		fmt.Fprintf(progress, "faults: %s, %d payments\n", f.name, len(batch))
		row, err := l.run(ctx, f, batch)
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		fmt.Fprintln(out, row.markdown(f.name))
		if !row.exact() {
			failed = append(failed, f.name)
		}
	}
	fmt.Fprintf(out, "\nlogs of the API and the worker: %s\n", filepath.Join(o.dir, "logs"))
	if len(failed) > 0 {
		return fmt.Errorf("effects not exactly once after: %s", strings.Join(failed, ", "))
	}
	return nil
}

// faultStep is one experiment: strike at a third of the flood, or (backlog) the Redis
// loss with every task of the flood queued.
type faultStep struct {
	name    string
	strike  func(ctx context.Context, l *faultLab) error
	backlog bool
}

func (l *faultLab) run(ctx context.Context, f faultStep, batch []string) (faultRow, error) {
	var struck time.Time
	var extra string
	if f.backlog {
		// The worker down, the flood applied by the API, every task enqueued by a relay
		// here; then Redis loses it all and the worker comes back.
		l.worker.kill()
		if err := l.flood(ctx, batch, nil); err != nil {
			return faultRow{}, err
		}
		queued, err := l.enqueueAll(ctx)
		if err != nil {
			return faultRow{}, err
		}
		extra = fmt.Sprintf(" (%d tasks lost)", queued)
		struck = time.Now()
		if err := l.stack.LoseRedis(ctx); err != nil {
			return faultRow{}, err
		}
		if err := l.worker.start(ctx); err != nil {
			return faultRow{}, err
		}
	} else {
		strike := func() {
			struck = time.Now()
			if err := f.strike(ctx, l); err != nil {
				fmt.Fprintf(os.Stderr, "faults: %s: %v\n", f.name, err)
			}
		}
		if err := l.flood(ctx, batch, strike); err != nil {
			return faultRow{}, err
		}
	}
	row, err := l.settle(ctx, batch, struck)
	row.extra = extra
	return row, err
}

// flood has the simulator pay every order of batch from 8 payers; strike (if any) runs
// once a third of them are paid, while the others go on.
func (l *faultLab) flood(ctx context.Context, batch []string, strike func()) error {
	var paid atomic.Int64
	var once sync.Once
	todo := make(chan string)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		defer close(todo)
		for _, no := range batch {
			select {
			case todo <- no:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range 8 {
		g.Go(func() error {
			for no := range todo {
				if err := l.pay(gctx, no); err != nil {
					return err
				}
				if paid.Add(1) >= int64(len(batch)/3) && strike != nil {
					once.Do(func() { go strike() })
				}
			}
			return nil
		})
	}
	err := g.Wait()
	once.Do(func() {})
	return err
}

// pay pays one order at the simulator, retrying while its database is away (the
// PostgreSQL crash); an order already paid by an earlier try counts as paid.
func (l *faultLab) pay(ctx context.Context, orderNo string) error {
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := l.sim.Pay(ctx, wxsim.PayRequest{OutTradeNo: orderNo})
		if err == nil || strings.Contains(err.Error(), "is SUCCESS") {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("pay %s: %w", orderNo, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// enqueueAll relays every committed event to asynq from here (the worker being down)
// and returns how many tasks asynq then holds. The batched subscribers' deliveries are
// run here too: fulfilment's batches publish the webhook requests, whose tasks are the
// ones Redis then loses.
func (l *faultLab) enqueueAll(ctx context.Context) (int, error) {
	client := asynq.NewClient(l.a.queue)
	defer client.Close()
	relay := outbox.NewRelay(l.a.db, client, l.a.subscriptions(), outbox.RelayConfig{BatchSize: 1000}, nil, nil)
	dispatcher := outbox.NewDispatcher(l.a.db, l.a.subscriptions(), outbox.DispatchConfig{}, nil, nil)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var unsent int
		if err := l.a.db.QueryRow(ctx, "SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL").Scan(&unsent); err != nil {
			return 0, err
		}
		if unsent == 0 {
			if n, err := dispatcher.Drain(ctx); err != nil || n == 0 {
				if err != nil {
					return 0, err
				}
				break
			}
			continue
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%d events not enqueued", unsent)
		}
		if _, err := relay.RelayOnce(ctx); err != nil {
			return 0, err
		}
	}
	in := asynq.NewInspector(l.a.queue)
	defer in.Close()
	queues, err := in.Queues()
	if err != nil {
		return 0, err
	}
	total := 0
	for _, q := range queues {
		qi, err := in.GetQueueInfo(q)
		if err != nil {
			return 0, err
		}
		total += qi.Pending + qi.Scheduled + qi.Retry
	}
	return total, nil
}

// faultRow is what one experiment ended with.
type faultRow struct {
	payments, paidAtWeChat, acknowledged, ackLost, books, points, fulfilled int
	hookIDs, hookCalls, attempts, redriven                                  int
	queried                                                                 int // paid, never notified: applied by query
	recovered                                                               time.Duration
	timedOut                                                                bool
	extra                                                                   string
}

// exact: every payment WeChat took is in the books once, none acknowledged and lost,
// each credited once, fulfilled, and its webhook id received.
func (r faultRow) exact() bool {
	return !r.timedOut && r.paidAtWeChat == r.payments && r.books == r.payments && r.ackLost == 0 &&
		r.points == r.payments && r.fulfilled == r.payments && r.hookIDs == r.payments
}

func (r faultRow) markdown(name string) string {
	rec := r.recovered.Round(100 * time.Millisecond).String()
	if r.timedOut {
		rec = "NOT RECOVERED"
	}
	ack := fmt.Sprintf("%d (%d lost after the answer)", r.acknowledged, r.ackLost)
	if r.queried > 0 {
		ack += fmt.Sprintf("; %d the simulator never delivered, applied by query", r.queried)
	}
	return fmt.Sprintf("| %s%s | %d | %s | %d | %d | %d / %d / %d | %d | %s |", name, r.extra, r.payments, ack,
		r.books, r.points, r.hookIDs, r.hookCalls, r.attempts, r.redriven, rec)
}

// settle waits, hands off, until every order of batch WeChat paid is paid in the
// books, credited and fulfilled, and nothing is left to deliver; then it counts.
func (l *faultLab) settle(ctx context.Context, batch []string, struck time.Time) (faultRow, error) {
	start := time.Now()
	deadline := start.Add(l.opts.settle)
	queried, asked := 0, false
	for {
		if !asked && time.Since(start) > unnotifiedGrace {
			n, err := l.applyUnnotified(ctx, batch)
			if err != nil {
				return faultRow{}, err
			}
			queried, asked = n, true
		}
		row, err := l.count(ctx, batch)
		row.queried = queried
		if err == nil && row.exact() && row.undone == 0 {
			row.recovered = time.Since(struck)
			err := retryDB(ctx, func() error {
				return l.a.db.QueryRow(ctx, `
SELECT count(*) FROM platform.outbox_deliveries d JOIN platform.outbox x ON x.id = d.event_id
WHERE d.attempts > 1 AND x.aggregate_key = ANY(ARRAY(SELECT o.id::text FROM billing.orders o WHERE o.order_no = ANY($1)))`,
					batch).Scan(&row.redriven)
			})
			return row.faultRow, err
		}
		if time.Now().After(deadline) {
			if err != nil {
				return faultRow{}, err
			}
			row.timedOut = true
			return row.faultRow, nil
		}
		time.Sleep(200 * time.Millisecond) // err: the database may be coming back
	}
}

// unnotifiedGrace is how long settle lets the simulator's notifications arrive before
// it asks about the payments still not in the books.
const unnotifiedGrace = 20 * time.Second

// applyUnnotified handles the payments the simulator took but never delivered a
// notification of: it writes the notification after its own transaction and schedules
// it in memory, so its own crash (the PostgreSQL one) can lose one or leave it pending
// for ever. WeChat does not; and Tandem's answer to a payment it never heard of is the
// order query that reconciliation's repair makes: this makes it now. Tandem answered
// nothing for these, so they say nothing about acknowledged payments.
func (l *faultLab) applyUnnotified(ctx context.Context, batch []string) (int, error) {
	var orderNos []string
	err := retryDB(ctx, func() error {
		rows, err := l.a.db.Query(ctx, `SELECT t.out_trade_no FROM wxsim.transactions t
WHERE t.out_trade_no = ANY($1) AND t.trade_state = 'SUCCESS'
  AND NOT EXISTS (SELECT 1 FROM wxsim.notifications n WHERE n.out_trade_no = t.out_trade_no AND n.status = 'DELIVERED')
  AND NOT EXISTS (SELECT 1 FROM billing.orders o JOIN billing.payments p ON p.order_id = o.id WHERE o.order_no = t.out_trade_no)`, batch)
		if err != nil {
			return err
		}
		orderNos, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, no := range orderNos {
		if err := retryDB(ctx, func() error { _, err := l.a.billing.QueryAndApply(ctx, no); return err }); err != nil {
			return 0, err
		}
	}
	return len(orderNos), nil
}

// retryDB retries f for up to a minute while the database comes back.
func retryDB(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type faultCount struct {
	faultRow
	undone int
}

func (l *faultLab) count(ctx context.Context, batch []string) (faultCount, error) {
	var c faultCount
	c.payments = len(batch)
	err := l.a.db.QueryRow(ctx, `
SELECT
  (SELECT count(*) FROM wxsim.transactions t WHERE t.out_trade_no = ANY($1) AND t.trade_state = 'SUCCESS'),
  (SELECT count(DISTINCT n.out_trade_no) FROM wxsim.notifications n
     WHERE n.out_trade_no = ANY($1) AND n.event_type = 'TRANSACTION.SUCCESS' AND n.status = 'DELIVERED'),
  (SELECT count(DISTINCT n.out_trade_no) FROM wxsim.notifications n
     WHERE n.out_trade_no = ANY($1) AND n.event_type = 'TRANSACTION.SUCCESS' AND n.status = 'DELIVERED'
       AND NOT EXISTS (SELECT 1 FROM billing.orders o JOIN billing.payments p ON p.order_id = o.id WHERE o.order_no = n.out_trade_no)),
  (SELECT count(*) FROM billing.orders o JOIN billing.payments p ON p.order_id = o.id WHERE o.order_no = ANY($1)),
  (SELECT count(*) FROM consumer.points_entries e JOIN billing.orders o ON o.id = e.order_id
     WHERE o.order_no = ANY($1) AND e.kind = 'earn'),
  (SELECT count(*) FROM billing.orders o WHERE o.order_no = ANY($1) AND o.fulfilled_at IS NOT NULL),
  (SELECT count(*) FROM billing.webhook_deliveries d JOIN billing.orders o ON o.id = d.order_id WHERE o.order_no = ANY($1)),
  (SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NULL) + (SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL)`,
		batch).Scan(&c.paidAtWeChat, &c.acknowledged, &c.ackLost, &c.books, &c.points, &c.fulfilled, &c.attempts, &c.undone)
	c.hookIDs, c.hookCalls = l.hooks.count(batch)
	return c, err
}

// placeFaultOrders places and prepays n orders of the demo merchant for 100 members.
func placeFaultOrders(ctx context.Context, a *app, merchantID uuid.UUID, n int) ([]string, error) {
	members := make([]uuid.UUID, 100)
	for i := range members {
		m, _, err := a.consumer.Join(ctx, consumer.JoinRequest{AppID: wxsim.DevAppID, OpenID: fmt.Sprintf("o-faults-%04d", i)})
		if err != nil {
			return nil, err
		}
		members[i] = m.ID
	}
	orders := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			cid := members[i%len(members)]
			o, err := a.billing.PlaceOrder(gctx, cid, billing.NewOrder{MerchantID: merchantID, Description: "faults",
				Amount: money.MustNew(int64(100+i), money.CNY)})
			if err != nil {
				return err
			}
			if _, err := a.billing.Prepay(gctx, cid, o.ID, billing.PayJSAPI); err != nil {
				return err
			}
			orders[i] = o.OrderNo
			return nil
		})
	}
	return orders, g.Wait()
}

// freshDatabase drops and re-creates the experiments' database.
func freshDatabase(ctx context.Context, s *devstack.Stack) error {
	conn, err := pgx.Connect(ctx, s.DatabaseURLFor("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + devstack.DBName + " WITH (FORCE)", "CREATE DATABASE " + devstack.DBName} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func serveLoopback(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// hookCounter is the merchant's webhook endpoint: calls per webhook id, each verified.
type hookCounter struct {
	secret  string
	mu      sync.Mutex
	calls   map[string]int    // webhook-id → calls with a valid signature
	orderOf map[string]string // webhook-id → order_no
	bad     int
}

func (h *hookCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p billing.WebhookPayload
	_ = json.Unmarshal(body, &p)
	h.mu.Lock()
	defer h.mu.Unlock()
	if billing.VerifyWebhook(h.secret, r.Header, body, time.Now()) != nil {
		h.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	id := r.Header.Get(billing.HeaderWebhookID)
	h.calls[id]++
	h.orderOf[id] = p.OrderNo
	w.WriteHeader(http.StatusNoContent)
}

// count is the distinct webhook ids and the calls received for the orders of batch.
func (h *hookCounter) count(batch []string) (ids, calls int) {
	in := make(map[string]bool, len(batch))
	for _, no := range batch {
		in[no] = true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, n := range h.calls {
		if in[h.orderOf[id]] {
			ids++
			calls += n
		}
	}
	return ids, calls
}

// child is a tandem process of the experiments (the API or the worker).
type child struct {
	name, bin, log, ready string
	args, env             []string
	cmd                   *exec.Cmd
	done                  chan struct{}
}

func (c *child) start(ctx context.Context) error {
	f, err := os.OpenFile(c.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	c.cmd = exec.Command(c.bin, c.args...)
	c.cmd.Env, c.cmd.Stdout, c.cmd.Stderr = c.env, f, f
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives the experiments
	if err := c.cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", c.name, err)
	}
	c.done = make(chan struct{})
	go func() { _ = c.cmd.Wait(); f.Close(); close(c.done) }()
	if c.ready == "" {
		return nil
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(c.ready)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited at start; see %s", c.name, c.log)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New(c.name + " not ready after 30 s; see " + c.log)
		}
	}
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (c *child) kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	c.cmd = nil
}

// restart kills the process (kill -9) and starts it again a second later.
func (c *child) restart(ctx context.Context) error {
	c.kill()
	time.Sleep(time.Second)
	return c.start(ctx)
}
