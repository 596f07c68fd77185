package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	asynqmetrics "github.com/hibiken/asynq/x/metrics"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/config"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/platform"
	"github.com/tandemcrm/tandem/shared/storage"
	"github.com/tandemcrm/tandem/shared/wxmini"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// app holds the process's connections, opened once and shared by what the command runs.
type app struct {
	cfg   config.Config
	log   *slog.Logger
	db    *pgxpool.Pool
	redis *redis.Client
	queue asynq.RedisConnOpt
	reg   *prometheus.Registry
	// outboxMetrics is created once per process: the API (readiness) and the relay share it.
	outboxMetrics *outbox.Metrics
	// identity is who may do what: users, roles, scopes, sessions, tokens, audit.
	identity *identity.Service
	// approvals is the platform's approval flow and to-do list; domains register the
	// handlers of their kinds on it when built.
	approvals *approval.Service
	merchant  *merchant.Service
	consumer  *consumer.Service
	// Opened by openPayments, for the commands that take payments.
	pay      *wxpay.Client
	billing  *billing.Service
	matching *matching.Service
	// recon reads (and runs) reconciliations; openPayments rebuilds it with billing
	// as the repairer of lost notifications.
	recon *reconciliation.Service
	// marketing is segments, campaigns and RFM over members (consumer/marketing).
	marketing *marketing.Service
	// clock is every domain's time: the machine's until tandem dev or a test sets or
	// advances it (a demo moved to tomorrow, a job due in 30 days tested today).
	clock *clock.Settable
	// relays is the process's one waker of the outbox relays, shared by the domains.
	relays *outbox.Waker
}

// deps is what every domain is built with.
func (a *app) deps() domain.Deps {
	if a.relays == nil && a.db != nil {
		a.relays = outbox.NewWaker(a.db)
	}
	return domain.Deps{DB: a.db, Redis: a.redis, Log: a.log, Clock: a.clock, Relays: a.relays}
}

// domains are the domains this process has built, in the direction of dependencies.
// Billing and matching exist only once openPayments has run.
func (a *app) domains() []domain.Domain {
	ds := []domain.Domain{a.approvals, a.merchant, a.consumer, a.marketing}
	if a.billing != nil {
		ds = append(ds, a.matching, a.billing)
	}
	return append(ds, a.recon)
}

// registry is every built domain's registrations.
func (a *app) registry() *domain.Registry { return domain.Collect(a.domains()...) }

func newLogger(cfg config.Config) (*slog.Logger, error) {
	return logging.New(os.Stderr, cfg.LogFormat, cfg.LogLevel)
}

// openFromCommand opens the application as a command's flags and environment configure
// it: the one start-up of serve, worker, migrate, seed, settle and outbox redrive.
func openFromCommand(cmd *cobra.Command) (*app, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	log, err := newLogger(cfg)
	if err != nil {
		return nil, err
	}
	return openApp(cmd.Context(), cfg, log)
}

// openWithPayments is openFromCommand with the payment side opened too (WeChat Pay,
// billing and the domains built on it), as the server, the worker and the commands
// that run domain work need; the caller closes it.
func openWithPayments(cmd *cobra.Command) (*app, error) {
	a, err := openFromCommand(cmd)
	if err != nil {
		return nil, err
	}
	if err := a.openPayments(cmd.Context()); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// openApp connects to PostgreSQL and Redis; a failure is one line naming the server,
// where it was looked for, and how to fix it.
func openApp(ctx context.Context, cfg config.Config, log *slog.Logger) (*app, error) {
	db, err := pg.Connect(ctx, cfg.DatabaseURL, pg.PoolConfig{MaxConns: int32(cfg.DBMaxConns), AppName: "tandem"})
	if err != nil {
		return nil, fmt.Errorf("cannot reach PostgreSQL at %s (%s): start the local stack with 'make stack' or set TANDEM_DATABASE_URL",
			hostOf(cfg.DatabaseURL), oneLine(err))
	}
	ropt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("TANDEM_REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(ropt)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("cannot reach Redis at %s (%s): start the local stack with 'make stack' or set TANDEM_REDIS_URL",
			ropt.Addr, oneLine(err))
	}
	queue, err := asynq.ParseRedisURI(cfg.RedisURL)
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("TANDEM_REDIS_URL: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		pg.NewPoolCollector(db), asynqmetrics.NewQueueMetricsCollector(asynq.NewInspector(queue)))
	a := &app{cfg: cfg, log: log, db: db, redis: rdb, queue: queue, reg: reg}
	a.outboxMetrics = outbox.NewMetrics(reg, db)
	a.clock = clock.NewSettable()
	a.identity = identity.NewService(db, rdb, identity.Config{TokenRate: cfg.TokenRate, Log: log, Code2Session: a.code2Session()})
	deps := a.deps()
	a.approvals = approval.New(deps)
	// A merchant's owner login is made by the system when a reviewer approves it: the
	// reviewer may approve merchants, not create users.
	files, err := storage.Open(storage.ConfigFromEnv(os.Getenv, cfg.VarDir))
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("TANDEM_STORAGE_DIR / TANDEM_S3_*: %w", err)
	}
	a.merchant = merchant.New(deps, merchant.Ports{Owners: merchant.IdentityOwners{Users: a.identity,
		Actor: func(context.Context) (*identity.Principal, error) { return identity.System(), nil }},
		Applyments: applyments{a}, Approvals: a.approvals, Staff: merchant.IdentityStaff{Users: a.identity},
		Files: files, Notify: merchant.LogNotifier{Log: log}}, merchant.Config{})
	a.consumer = consumer.New(deps, consumer.Ports{Identities: a.identity, Approvals: a.approvals, Orders: billingOrders{a}, Merchants: merchantDirectory{a.merchant}}, consumer.Config{})
	a.recon = reconciliation.New(deps, reconciliation.Ports{Assignees: reconciliation.IdentityAssignees{Users: a.identity}}, reconciliation.Config{})
	a.marketing = marketing.New(deps, marketing.Ports{Offers: loyaltyOffers{a.consumer}, Audiences: matchingAudiences{a}, Channel: newWechatChannel(a)}, marketing.Config{})
	return a, nil
}

func (a *app) Close() {
	a.redis.Close()
	a.db.Close()
}

// migrationSets lists every schema's migrations in the direction of dependencies:
// shared first, then the domains left to right.
func migrationSets() []pg.MigrationSet {
	return []pg.MigrationSet{platform.Migrations, audit.Migrations, identity.Migrations, approval.Migrations,
		merchant.Migrations, consumer.Migrations, marketing.Migrations, matching.Migrations, billing.Migrations, reconciliation.Migrations}
}

// subscriptions lists every event subscriber of every domain; the relay routes with
// it and the worker serves it, so the two can never disagree.
func (a *app) subscriptions() []outbox.Subscription { return a.registry().Subscriptions() }

func hostOf(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil || u.Host == "" {
		return "(the configured URL)"
	}
	return u.Host
}

// oneLine reduces a connection error to its telling part ("connect: connection
// refused") on one line: pgx and go-redis wrap the same cause several times over.
func oneLine(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err.Error()
	}
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

// code2Session signs consumers of the mini-program (TANDEM_WXPAY_APPID) in with
// WeChat's jscode2session. It reads the settings at each call: tandem dev and tests
// point them at a simulator after the app is open.
func (a *app) code2Session() func(context.Context, string) (identity.ConsumerClaims, error) {
	hc := &http.Client{Timeout: 5 * time.Second}
	return func(ctx context.Context, code string) (identity.ConsumerClaims, error) {
		openid, unionid, err := wxmini.Code2Session(ctx, hc, a.cfg.WxminiBaseURL, a.cfg.WxpayAppID, a.cfg.WxminiSecret, code)
		return identity.ConsumerClaims{AppID: a.cfg.WxpayAppID, OpenID: openid, UnionID: unionid}, err
	}
}
