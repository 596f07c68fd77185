package billing_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/billing/consumercoupons"
	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/netguard"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

// fakeMerchants is the merchant domain as billing's port sees it.
type fakeMerchants struct {
	mu    sync.Mutex
	terms map[uuid.UUID]billing.Terms
	rates map[uuid.UUID]map[string]money.Rate // from day (yyyy-MM-dd)
}

func (f *fakeMerchants) Terms(_ context.Context, id uuid.UUID) (billing.Terms, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.terms[id]
	if !ok {
		return billing.Terms{}, errs.NotFound("merchant")
	}
	return t, nil
}

// CommissionRateOn is the rate set from the latest day on or before day
// (setRateFrom), or the terms' rate when none was set.
func (f *fakeMerchants) CommissionRateOn(_ context.Context, id uuid.UUID, day time.Time) (money.Rate, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := day.Format(time.DateOnly)
	var best string
	for from := range f.rates[id] {
		if from <= d && from > best {
			best = from
		}
	}
	if best != "" {
		return f.rates[id][best], true, nil
	}
	t, ok := f.terms[id]
	return t.CommissionRate, ok, nil
}

// setRateFrom changes a merchant's rate from a day (yyyy-MM-dd), as a renewal does.
func (f *fakeMerchants) setRateFrom(id uuid.UUID, day string, r money.Rate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.rates == nil {
		f.rates = map[uuid.UUID]map[string]money.Rate{}
	}
	if f.rates[id] == nil {
		f.rates[id] = map[string]money.Rate{}
	}
	f.rates[id][day] = r
}

func (f *fakeMerchants) set(id uuid.UUID, t billing.Terms) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.terms[id] = t
}

// captured is a notification request as it reached Tandem, for replaying.
type captured struct {
	path   string
	header http.Header
	body   []byte
}

type world struct {
	t         *testing.T
	ctx       context.Context
	db        *pgxpool.Pool
	sim       *wxsimtest.Env
	ids       *identity.Service
	demo      identity.Demo
	consumers *consumer.Service
	merchants *fakeMerchants
	svc       *billing.Service
	srv       *httptest.Server
	merchant  uuid.UUID       // live, 6.5%
	clock     *clock.Settable // billing's; the simulator keeps its own
	approvals *approval.Service

	mu       sync.Mutex
	captured []captured
	// hold keeps the notifications that arrive (captured) and answers them 204
	// without handling them, for a test to deliver them later, all at once.
	hold atomic.Bool
}

func newWorld(t *testing.T) *world { return newWorldWith(t, nil) }

// newWorldWith is newWorld with billing's configuration changed by tune.
func newWorldWith(t *testing.T, tune func(*billing.Config)) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), clock: clock.NewSettable()}
	w.sim = wxsimtest.New(t, wxsimtest.ModeSwitch, wxsim.Config{NotifyScale: 0.001})
	w.db = pgtest.New(t, audit.Migrations, identity.Migrations, approval.Migrations, consumer.Migrations, billing.Migrations)
	w.ids = identity.NewService(w.db, redistest.New(t).Client(t), identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	demo, err := w.ids.SeedDemo(w.ctx, "Tandem-demo-2025")
	if err != nil {
		t.Fatal(err)
	}
	w.demo = demo
	w.approvals = approval.New(domain.Deps{DB: w.db, Clock: w.clock})
	w.consumers = consumer.New(domain.Deps{DB: w.db}, consumer.Ports{Identities: w.ids}, consumer.Config{})
	w.merchants = &fakeMerchants{terms: map[uuid.UUID]billing.Terms{}}
	w.merchant = demo.Merchants["A"]
	w.merchants.set(w.merchant, billing.Terms{CommissionRate: rate(t, "6.5%"), SettlementCycle: "T+1", Live: true})

	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(func(c *gin.Context) { // keep every notification as it arrived
		if strings.Contains(c.Request.URL.Path, "/wxpay/notify/") {
			b, _ := io.ReadAll(c.Request.Body)
			c.Request.Body = io.NopCloser(bytes.NewReader(b))
			w.mu.Lock()
			w.captured = append(w.captured, captured{c.Request.URL.Path, c.Request.Header.Clone(), b})
			w.mu.Unlock()
			if w.hold.Load() {
				c.AbortWithStatus(http.StatusNoContent)
			}
		}
	})
	w.srv = httptest.NewServer(e)
	t.Cleanup(w.srv.Close)
	cfg := billing.Config{AppID: wxsimtest.AppID, NotifyBaseURL: w.srv.URL,
		WebhookAllow: netguard.MustParse("loopback")} // merchants' test endpoints are on loopback
	if tune != nil {
		tune(&cfg)
	}
	w.svc = billing.New(domain.Deps{DB: w.db, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: w.clock},
		billing.Ports{Pay: w.sim.Client(), Merchants: w.merchants, Members: w.consumers,
			Coupons: consumercoupons.Adapter{Consumer: w.consumers}, Approvals: w.approvals}, cfg)
	staff := e.Group("/api/v1", func(c *gin.Context) { // stands in for identity's: the caller named by a test header
		if login := c.GetHeader("X-Test-Login"); login != "" {
			c.Request = c.Request.WithContext(identity.WithPrincipal(c.Request.Context(), w.as(login)))
		}
	})
	consumers := e.Group("/api/v1", func(c *gin.Context) { // stands in for identity's Authenticate of consumers
		if id, err := uuid.Parse(c.GetHeader("X-Test-Consumer")); err == nil {
			c.Request = c.Request.WithContext(identity.WithConsumer(c.Request.Context(), id))
		}
	})
	idem := &httpx.Idempotency{DB: w.db, Caller: identity.Caller}
	domain.Collect(w.svc).MountRoutes(domain.Routers{Staff: staff, Consumer: consumers, Public: e.Group("/api/v1"), Idempotent: idem.Middleware()})
	return w
}

func rate(t *testing.T, s string) money.Rate {
	t.Helper()
	r, err := money.ParsePercent(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (w *world) as(login string) *identity.Principal {
	w.t.Helper()
	p, err := w.ids.Principal(w.ctx, w.demo.Users[login])
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

func (w *world) member(openid string) uuid.UUID {
	w.t.Helper()
	m, _, err := w.consumers.Join(w.ctx, consumer.JoinRequest{AppID: wxsimtest.AppID, OpenID: openid})
	if err != nil {
		w.t.Fatal(err)
	}
	return m.ID
}

// order places an order of fen and prepays it (JSAPI).
func (w *world) order(consumerID uuid.UUID, fen int64) billing.Order {
	w.t.Helper()
	o, err := w.svc.PlaceOrder(w.ctx, consumerID, billing.NewOrder{MerchantID: w.merchant, Description: "小笼包",
		Amount: money.MustNew(fen, money.CNY)})
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.svc.Prepay(w.ctx, consumerID, o.ID, billing.PayJSAPI); err != nil {
		w.t.Fatal(err)
	}
	return o
}

// pay has the simulator's user pay and waits until its notification is handled.
func (w *world) pay(orderNo string) {
	w.t.Helper()
	w.sim.Control("POST", "/sim/pay", map[string]any{"out_trade_no": orderNo}, nil)
	w.sim.Wait()
}

func (w *world) get(id uuid.UUID) billing.Order {
	w.t.Helper()
	o, err := w.svc.GetOrder(w.ctx, w.as("finance"), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

// outboxEvents lists the events published on topic, oldest first.
func (w *world) outboxEvents(topic events.Topic) []events.Envelope {
	w.t.Helper()
	rows, err := w.db.Query(w.ctx, `SELECT id, topic, aggregate_key, created_at, payload FROM platform.outbox WHERE topic = $1 ORDER BY id`, string(topic))
	if err != nil {
		w.t.Fatal(err)
	}
	defer rows.Close()
	var out []events.Envelope
	for rows.Next() {
		var e events.Envelope
		var tp string
		if err := rows.Scan(&e.ID, &tp, &e.Key, &e.OccurredAt, &e.Payload); err != nil {
			w.t.Fatal(err)
		}
		e.Topic = events.Topic(tp)
		out = append(out, e)
	}
	return out
}

// deliver hands every event of the subscriptions' topics to their handlers, times
// times each, concurrently: what at-least-once delivery may do.
func (w *world) deliver(subs []outbox.Subscription, times int) {
	w.t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errc := make(chan error, 1000)
	for _, s := range subs {
		for _, e := range w.outboxEvents(s.Topic) {
			for range times {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					if err := outbox.Deliver(w.ctx, w.db, s, e); err != nil {
						errc <- err
					}
				}()
			}
		}
	}
	close(start)
	wg.Wait()
	close(errc)
	for err := range errc {
		w.t.Fatalf("delivery: %v", err)
	}
}

func (w *world) count(sql string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.QueryRow(w.ctx, sql, args...).Scan(&n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

// replay posts a captured notification again, as WeChat's retry would.
func (w *world) replay(c captured) int {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodPost, w.srv.URL+c.path, bytes.NewReader(c.body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header = c.header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (w *world) capturedOn(path string) []captured {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []captured
	for _, c := range w.captured {
		if c.path == path {
			out = append(out, c)
		}
	}
	return out
}

func (w *world) balance(consumerID uuid.UUID) int64 {
	w.t.Helper()
	b, err := w.consumers.Balance(w.ctx, consumerID)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

func uuidOf(t *testing.T, s string) uuid.UUID {
	t.Helper()
	id, err := uuid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
