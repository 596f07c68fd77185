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
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
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
// fulfilment and points), signed before the measured window.
func benchNotifyCmd() *cobra.Command {
	var orders, consumers, payers, rate int
	var via, cpuProfile string
	var handlerOnly bool
	cmd := &cobra.Command{
		Use:   "notify",
		Short: "Payment notifications/s end to end (verify → ledger → outbox → fulfilment → points) and notification-to-points latency",
		Long: `Runs the API, the worker and the WeChat Pay simulator in this process on the bench
database. Not measured: --orders orders are placed and prepaid, the simulator pays them and
signs their notifications (RSA), which are kept instead of sent. Measured: --payers goroutines
deliver the signed notifications to the API, all at once (a burst: the latency then includes
the queue), or at --rate per second (each sent at its time by a goroutine of its own, an
open loop; the row says the rate actually offered), over loopback HTTP (--via http), straight into the API's
handler without a socket (--via in-process), or both one after the other (the default).
Each row gives the notifications/s from the first delivery to the last points credit, and
the latency from each delivery to its order's points entry, and the latency from each
delivery to its answer (the notify handler's own: verify, decrypt, apply, durable commit).
--handler-only runs no worker: the window ends at the last answer, so the row is the
notify handler alone, with nothing else competing for the database. --cpuprofile writes
a CPU profile of the first measured window (go tool pprof).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if orders < 1 || consumers < 1 || payers < 1 {
				return errors.New("--orders, --consumers and --payers must be at least 1")
			}
			modes, err := notifyModes(via)
			if err != nil {
				return err
			}
			return withBenchEnv(cmd, func(ctx context.Context, db *pgxpool.Pool, r asynq.RedisClientOpt) error {
				return benchNotify(ctx, cmd, db, r, notifyLoad{orders: orders, consumers: min(consumers, orders), payers: payers,
					rate: rate, modes: modes, cpuProfile: cpuProfile, handlerOnly: handlerOnly})
			})
		},
	}
	cmd.Flags().IntVar(&orders, "orders", 2000, "orders paid, one notification each (per delivery mode)")
	cmd.Flags().IntVar(&consumers, "consumers", 200, "members the orders are spread over")
	cmd.Flags().IntVar(&payers, "payers", 8, "goroutines delivering the notifications at once (at a --rate: one per notification)")
	cmd.Flags().IntVar(&rate, "rate", 0, "notifications per second (0: all at once, a burst)")
	cmd.Flags().StringVar(&via, "via", "both", "how notifications reach the API: http, in-process or both")
	cmd.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the first measured window to this file")
	cmd.Flags().BoolVar(&handlerOnly, "handler-only", false, "run no worker: measure the notify handler alone (answers, not points)")
	return cmd
}

// Delivery modes of the notification bench.
const (
	viaHTTP      = "http"
	viaInProcess = "in-process"
)

func notifyModes(via string) ([]string, error) {
	switch via {
	case "both":
		return []string{viaHTTP, viaInProcess}, nil
	case viaHTTP, viaInProcess:
		return []string{via}, nil
	}
	return nil, fmt.Errorf("--via %q: want http, in-process or both", via)
}

// notifyLoad is what benchNotify sends: orders over consumers, delivered by payers
// goroutines at rate notifications/s (0: as fast as they go), in each of modes; with
// handlerOnly, no worker runs and the window ends at the last answer.
type notifyLoad struct {
	orders, consumers, payers, rate int
	modes                           []string
	cpuProfile                      string
	handlerOnly                     bool
}

// signedNotice is a notification the simulator signed, kept to be delivered later.
type signedNotice struct {
	id     string // the notification's id
	url    string
	header http.Header
	body   []byte
}

// keptNotices is the simulator's HTTP transport in the bench: it keeps each signed
// notification and answers 204, so signing happens when the simulator pays (not
// measured) and the measured window delivers what was kept.
type keptNotices struct {
	mu   sync.Mutex
	kept []signedNotice
}

func (k *keptNotices) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	var env struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.ID == "" {
		return nil, fmt.Errorf("bench: a notification without an id: %v", err)
	}
	k.mu.Lock()
	k.kept = append(k.kept, signedNotice{id: env.ID, url: r.URL.String(), header: r.Header.Clone(), body: body})
	k.mu.Unlock()
	return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Request: r, Header: http.Header{}}, nil
}

// take hands over what was kept and starts afresh.
func (k *keptNotices) take() []signedNotice {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := k.kept
	k.kept = nil
	return out
}

// notifyBench is the running app, simulator and API of one bench run.
type notifyBench struct {
	a        *app
	db       *pgxpool.Pool
	sim      *wxsim.Sim
	kept     *keptNotices
	api      http.Handler
	client   *http.Client
	merchant uuid.UUID
	members  []uuid.UUID
	profile  *os.File // the CPU profile to write, until the first window is over
}

func benchNotify(ctx context.Context, cmd *cobra.Command, db *pgxpool.Pool, r asynq.RedisClientOpt, load notifyLoad) error {
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
	// its notifications are kept (signed), not sent.
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
	kept := &keptNotices{}
	sim, err := wxsim.New(db, platform, wxsim.Config{NotifyScale: 0.001, NotifyClient: &http.Client{Transport: kept}}, quiet)
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

	// The API, where the notifications are delivered.
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.cfg.WxpayKeys, a.cfg.WxpayBaseURL, a.cfg.WxpayAppID = keys, "http://"+simLn.Addr().String(), wxsim.DevAppID
	a.cfg.PublicURL = "http://" + apiLn.Addr().String()
	if err := a.openPayments(ctx); err != nil {
		return err
	}
	api := a.router()
	apiSrv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = apiSrv.Serve(apiLn) }()
	defer apiSrv.Close()
	if !load.handlerOnly {
		wctx, stopWorker := context.WithCancel(ctx)
		workerDone := make(chan error, 1)
		go func() { workerDone <- a.runBackground(wctx, "worker") }()
		defer func() { stopWorker(); <-workerDone }()
	}

	// Not measured: a live merchant (the demo's, through the services) and the members.
	demo, err := a.seedDemo(ctx)
	if err != nil {
		return fmt.Errorf("demo data: %w", err)
	}
	b := &notifyBench{a: a, db: db, sim: sim, kept: kept, api: api, merchant: demo.merchantID,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: max(load.payers, min(load.rate, 128))}}}
	defer b.client.CloseIdleConnections()
	b.members = make([]uuid.UUID, load.consumers)
	for i := range b.members {
		m, _, err := a.consumer.Join(ctx, consumer.JoinRequest{AppID: wxsim.DevAppID, OpenID: fmt.Sprintf("o-bench-%06d", i)})
		if err != nil {
			return fmt.Errorf("member %d: %w", i, err)
		}
		b.members[i] = m.ID
	}
	if load.cpuProfile != "" {
		f, err := os.Create(load.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		b.profile = f
	}
	for _, mode := range load.modes {
		if err := b.run(ctx, cmd, load, mode); err != nil {
			return fmt.Errorf("%s: %w", mode, err)
		}
	}
	return nil
}

// run prepares load.orders paid orders with their signed notifications (not measured),
// delivers them in mode and prints the row.
func (b *notifyBench) run(ctx context.Context, cmd *cobra.Command, load notifyLoad, mode string) error {
	n := load.orders
	setup := time.Now()
	orderNos := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for i := range n {
		g.Go(func() error {
			cid := b.members[i%len(b.members)]
			o, err := b.a.billing.PlaceOrder(gctx, cid, billing.NewOrder{MerchantID: b.merchant, Description: "bench",
				Amount: money.MustNew(int64(100+i%50_000), money.CNY)})
			if err != nil {
				return fmt.Errorf("order %d: %w", i, err)
			}
			if _, err := b.a.billing.Prepay(gctx, cid, o.ID, billing.PayJSAPI); err != nil {
				return fmt.Errorf("prepay %d: %w", i, err)
			}
			if _, err := b.sim.Pay(gctx, wxsim.PayRequest{OutTradeNo: o.OrderNo}); err != nil {
				return fmt.Errorf("pay %s: %w", o.OrderNo, err)
			}
			orderNos[i] = o.OrderNo
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if err := b.sim.Wait(ctx); err != nil {
		return err
	}
	notices := b.kept.take()
	if len(notices) != n {
		return fmt.Errorf("the simulator signed %d notifications for %d payments", len(notices), n)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "bench notify (%s): %d orders prepaid, paid and their notifications signed in %s; delivering\n",
		mode, n, time.Since(setup).Round(time.Millisecond))

	// Measured: the signed notifications reach the API.
	if b.profile != nil {
		if err := pprof.StartCPUProfile(b.profile); err != nil {
			return err
		}
	}
	cpu, err := startCPUMeter(ctx, b.db)
	if err != nil {
		return err
	}
	start := time.Now()
	times, err := b.deliver(ctx, notices, load, mode)
	if err == nil && !load.handlerOnly {
		err = b.awaitPoints(ctx, start, n)
	}
	if b.profile != nil {
		pprof.StopCPUProfile()
		b.profile = nil // one profile: the first mode's window
	}
	if err != nil {
		return err
	}
	if err := b.report(ctx, cmd.OutOrStdout(), load, mode, orderNos, times); err != nil {
		return err
	}
	used, err := cpu.stop(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "bench notify (%s): in the window, %s\n", mode, used.per(int64(n), runtime.NumCPU()))
	return nil
}

// awaitPoints returns once n earn entries were written since start (only this window's
// payments earn; report then checks each order's entry). The window's end is read from
// the entries' own times, so the poll only has to be cheap: every 50 ms, a count of the
// small entries table. (A join of the whole order list every 10 ms had taken about a
// third of PostgreSQL's time in the window, slowing what it measured.)
func (b *notifyBench) awaitPoints(ctx context.Context, start time.Time, n int) error {
	deadline := time.Now().Add(10*time.Minute + time.Duration(n)*10*time.Millisecond)
	for {
		var credited int
		if err := b.db.QueryRow(ctx, `SELECT count(*) FROM consumer.points_entries WHERE kind = 'earn' AND created_at >= $1`,
			start).Scan(&credited); err != nil {
			return err
		}
		if credited >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d orders credited before the deadline", credited, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deliveryTimes is when a notification was delivered and when the API answered it.
type deliveryTimes struct{ sent, answered time.Time }

// deliver posts every notice to the API and returns when each was delivered and
// answered, by notification id. Every delivery must be answered 2xx, as WeChat requires.
// At once (load.rate 0), load.payers goroutines deliver them as fast as they are
// answered (a closed loop). At load.rate per second, each notification is sent when its
// time comes (the i-th at i/rate seconds after the first) by a goroutine of its own,
// whatever is still unanswered (an open loop, as WeChat sends): a fixed set of payers
// offered at most payers/latency per second (8 payers answered at ~540/s when the rate
// asked was 1,000). At most openLoopInFlight are in flight; the row says the rate
// actually offered.
func (b *notifyBench) deliver(ctx context.Context, notices []signedNotice, load notifyLoad, mode string) (map[string]deliveryTimes, error) {
	times := make([]deliveryTimes, len(notices))
	one := func(ctx context.Context, i int) error {
		nt := notices[i]
		times[i].sent = time.Now()
		var status int
		var err error
		if mode == viaInProcess {
			status = b.serveInProcess(ctx, nt)
		} else {
			status, err = b.post(ctx, nt)
		}
		times[i].answered = time.Now()
		if err != nil {
			return err
		}
		if status/100 != 2 {
			return fmt.Errorf("notification %s answered %d", nt.id, status)
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	if load.rate > 0 {
		g.SetLimit(openLoopInFlight)
		start := time.Now()
		for i := range notices {
			due := start.Add(time.Duration(i) * time.Second / time.Duration(load.rate))
			select {
			case <-gctx.Done():
			case <-time.After(time.Until(due)):
			}
			if gctx.Err() != nil {
				break
			}
			g.Go(func() error { return one(gctx, i) })
		}
	} else {
		todo := make(chan int)
		g.Go(func() error {
			defer close(todo)
			for i := range notices {
				select {
				case todo <- i:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
		for range load.payers {
			g.Go(func() error {
				for i := range todo {
					if err := one(gctx, i); err != nil {
						return err
					}
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make(map[string]deliveryTimes, len(notices))
	for i, nt := range notices {
		out[nt.id] = times[i]
	}
	return out, nil
}

// openLoopInFlight bounds the notifications in flight at a --rate: a second's worth at
// 1,000/s, far more than a handler answering in milliseconds ever holds.
const openLoopInFlight = 1000

func (b *notifyBench) post(ctx context.Context, nt signedNotice) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, nt.url, bytes.NewReader(nt.body))
	if err != nil {
		return 0, err
	}
	req.Header = nt.header.Clone()
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// serveInProcess hands the notification straight to the API's handler: no socket, no
// HTTP parsing; what remains is Tandem's own work.
func (b *notifyBench) serveInProcess(ctx context.Context, nt signedNotice) int {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, nt.url, bytes.NewReader(nt.body))
	req.Header = nt.header.Clone()
	req.RemoteAddr = "127.0.0.1:1"
	w := httptest.NewRecorder()
	b.api.ServeHTTP(w, req)
	return w.Code
}

// report prints the row of one mode: the rate from the first delivery to the last
// answer (applied: the notify handler's own) and, unless load.handlerOnly, to the last
// points credit; each notification's delivery-to-answer and delivery-to-points latency.
// Every notification must have been applied once.
func (b *notifyBench) report(ctx context.Context, out io.Writer, load notifyLoad, mode string, orderNos []string, times map[string]deliveryTimes) error {
	n := len(orderNos)
	rows, err := b.db.Query(ctx, `SELECT l.notification_id, p.created_at
FROM billing.notifications_log l
JOIN billing.orders o ON o.order_no = l.out_trade_no
LEFT JOIN consumer.points_entries p ON p.order_id = o.id AND p.kind = 'earn'
WHERE l.outcome = 'applied' AND l.event_type = 'TRANSACTION.SUCCESS' AND o.order_no = ANY($1)`, orderNos)
	if err != nil {
		return err
	}
	answer := make([]time.Duration, 0, n)
	points := make([]time.Duration, 0, n)
	var first, lastAnswer, lastPoints time.Time
	for rows.Next() {
		var id string
		var pointsAt *time.Time
		if err := rows.Scan(&id, &pointsAt); err != nil {
			rows.Close()
			return err
		}
		t, ok := times[id]
		if !ok {
			rows.Close()
			return fmt.Errorf("notification %s applied but never delivered", id)
		}
		answer = append(answer, t.answered.Sub(t.sent))
		if first.IsZero() || t.sent.Before(first) {
			first = t.sent
		}
		lastAnswer = later(lastAnswer, t.answered)
		if pointsAt != nil {
			points = append(points, pointsAt.Sub(t.sent))
			lastPoints = later(lastPoints, *pointsAt)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(answer) != n {
		return fmt.Errorf("%d notifications applied, want %d", len(answer), n)
	}
	how := fmt.Sprintf("at once (%s, %d goroutines)", mode, load.payers)
	if load.rate > 0 {
		how = fmt.Sprintf("at %d/s, offered at %.0f/s (%s, open loop: a goroutine per notification)", load.rate, offered(times), mode)
	}
	applied := float64(n) / lastAnswer.Sub(first).Seconds()
	slices.Sort(answer)
	answered := fmt.Sprintf("notification -> 204 p50 %.1f ms, p99 %.1f ms, max %.1f ms", ms(pct(answer, 50)), ms(pct(answer, 99)), ms(answer[n-1]))
	if load.handlerOnly {
		fmt.Fprintf(out, "| payment notifications, %d orders of %d members, signed before the run, delivered %s, handler only (no worker) | %.0f notifications/s applied (ledger + outbox committed, 204 answered) | %s |\n",
			n, len(b.members), how, applied, answered)
		return nil
	}
	if len(points) != n {
		return fmt.Errorf("%d notifications credited, want %d", len(points), n)
	}
	slices.Sort(points)
	fmt.Fprintf(out, "| payment notifications, %d orders of %d members, signed before the run, delivered %s | %.0f notifications/s end to end, to points (applied: ledger + outbox committed, 204 answered, at %.0f/s) | notification -> points p50 %.1f ms, p99 %.1f ms, max %.1f ms; %s |\n",
		n, len(b.members), how, float64(n)/lastPoints.Sub(first).Seconds(), applied,
		ms(pct(points, 50)), ms(pct(points, 99)), ms(points[n-1]), answered)
	return nil
}

// offered is the rate the notifications were sent at: from the first send to the last.
func offered(times map[string]deliveryTimes) float64 {
	var first, last time.Time
	for _, t := range times {
		if first.IsZero() || t.sent.Before(first) {
			first = t.sent
		}
		last = later(last, t.sent)
	}
	if !last.After(first) {
		return 0
	}
	return float64(len(times)-1) / last.Sub(first).Seconds()
}

// pct is the p-th percentile of sorted durations.
func pct(sorted []time.Duration, p int) time.Duration { return sorted[(len(sorted)*p)/100] }

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
