// Package merchant is the B-CRM (ARCHITECTURE.md, product §1): shop leads, the public and private
// pools, visits and follow-ups, the pipeline, contracts and onboarding, until a shop
// is a live merchant. Schema merchant.
//
// Every public method of Service takes the caller (an identity.Principal), checks its
// permission and data scope itself, and owns its transaction; a row outside the
// caller's scope answers "not found". Claims, releases, stage changes, contracts and
// approvals are written to the audit log in the same transaction. A merchant going
// live is published as events.TopicMerchantLive through the outbox.
//
// Other domains read merchants through Terms and ListLiveMerchants, never the tables.
package merchant

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/storage"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is schema merchant. It references no other schema.
var Migrations = pg.EmbeddedMigrations("merchant", migrationFiles, "migrations")

// OwnerAccounts makes the login of a new merchant's owner, scoped to that merchant,
// with an invitation (a single-use link with an expiry, "/invite/<token>") through
// which the owner sets their own password: no password passes through staff hands.
// Declared here, satisfied in cmd/tandem by shared/identity (a merchant_owner user of
// kind merchant). It must be idempotent per merchant: a second call for the same
// merchant returns the existing login and no invitation.
type OwnerAccounts interface {
	CreateMerchantOwner(ctx context.Context, merchantID uuid.UUID, name, phone string) (login, invitation string, err error)
}

// Ports are what the B-CRM needs of other parts, adapted in cmd/tandem.
type Ports struct {
	// Owners makes merchant owners' logins; nil: no owner logins are made.
	Owners OwnerAccounts
	// Applyments submits onboarding applications to WeChat Pay; nil: reviewers
	// enter the sub-merchant number of an application made on WeChat's platform.
	Applyments Applyments
	// Approvals asks for discount approvals (a commission below the city's floor);
	// nil: such a contract is refused. New registers the domain's handler on it.
	Approvals *approval.Service
	// Staff is the one port to identity's users: names and units (assignment,
	// duplicates), the reps of a team, a unit's ancestors, a merchant's users on its
	// portal home; nil: ids stand in, no rules route leads, no staff list.
	Staff Staff
	// Files keeps visit photos and onboarding documents (shared/storage); nil: uploads
	// are refused (503).
	Files storage.Store
	// Notify tells a user something at a time (visit reminders); nil: logged only.
	Notify Notifier
}

// Config holds the B-CRM rules.
type Config struct {
	HoldingCap     int     // a new pool's holding cap: open leads a rep may hold; default 50
	CheckInRadiusM float64 // a check-in farther than this from the shop is refused; default 500
	// CommissionFloor is the lowest commission a contract has without a discount
	// approval [3%]; CityFloors overrides it by city ("上海": 5%).
	CommissionFloor money.Rate
	CityFloors      map[string]money.Rate
	DailyQuota      int // a new pool's daily claim quota; default 30, -1 for none
	CooldownDays    int // a new pool's former-owner cooldown in days; default 7, -1 for none
	// A shop of a name at least DedupSimilarity alike (pg_trgm, 0-1; default 0.5)
	// within DedupRadiusM metres (default 200) is a duplicate.
	DedupRadiusM    float64
	DedupSimilarity float64
	// Field work: check-in accuracy, speed flags, upload sizes (visits_rules.go).
	Field FieldRules
	// Commission: the amounts of the sales commission (commission.go).
	Commission CommissionRules
}

func (c Config) withDefaults() Config {
	if c.HoldingCap <= 0 {
		c.HoldingCap = 50
	}
	if c.CheckInRadiusM <= 0 {
		c.CheckInRadiusM = 500
	}
	if c.CommissionFloor.Decimal().IsZero() {
		c.CommissionFloor, _ = money.ParsePercent("3%")
	}
	if c.DedupRadiusM <= 0 {
		c.DedupRadiusM = 200
	}
	if c.DedupSimilarity <= 0 || c.DedupSimilarity > 1 {
		c.DedupSimilarity = 0.5
	}
	c.DailyQuota = orDefault(c.DailyQuota, 30)
	c.CooldownDays = orDefault(c.CooldownDays, 7)
	c.Field = c.Field.withDefaults()
	c.Commission = c.Commission.withDefaults()
	return c
}

// Service is the B-CRM's use cases.
type Service struct {
	db     *pgxpool.Pool
	log    *slog.Logger
	clock  clock.Clock
	cfg    Config
	owners OwnerAccounts
	// applyments is WeChat's application API; nil without one.
	applyments Applyments
	approvals  *approval.Service
	staff      Staff
	files      storage.Store
	notify     Notifier
}

// New returns the service (the one constructor shape of shared/domain).
func New(deps domain.Deps, ports Ports, cfg Config) *Service {
	deps = deps.WithDefaults()
	s := &Service{db: deps.DB, log: deps.Log, clock: deps.Clock, owners: ports.Owners, applyments: ports.Applyments,
		approvals: ports.Approvals, staff: ports.Staff, cfg: cfg.withDefaults(),
		files: ports.Files, notify: ports.Notify}
	if s.approvals != nil {
		s.approvals.OnDecided(KindContractDiscount, s.decideDiscount)
		s.approvals.OnDecided(KindCommission, s.decideCommission)
	}
	return s
}

// Name is the domain's name.
func (s *Service) Name() string { return "merchant" }

// Register declares the domain's API routes (shared/domain).
func (s *Service) Register(r *domain.Registry) {
	r.Routes(s.mountAPI)
	r.Pages(s.onboardingPages())
	r.Schedule(domain.Task{Type: "merchant:applyments", Cron: "@every 1m", Queue: "default",
		Help: "mirror the states of onboarding applications at WeChat Pay; finished and approved shops go live",
		Handle: func(ctx context.Context, _ []byte) error {
			_, err := s.SyncApplyments(ctx, 200)
			return err
		}})
	s.registerPart2(r)
	r.Routes(s.mountPoolAPI)
	r.Schedule(s.reclaimTask(), s.importTask())
	r.Subscribe(s.subscriptions()...)
	r.Subscribe(s.importSubscription())
	r.Pages(s.leadPages())
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

func newID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

func nullUUID(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

// inTx runs fn in a read-committed transaction with the domain's queries.
func (s *Service) inTx(ctx context.Context, fn func(tx pgx.Tx, q *merchantdb.Queries) error) error {
	return pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error { return fn(tx, merchantdb.New(tx)) })
}

// record writes one audit entry in tx.
func record(ctx context.Context, tx pgx.Tx, p *identity.Principal, action, objType string, id uuid.UUID, before, after any) error {
	return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: action, ObjectType: objType,
		ObjectID: id.String(), Before: before, After: after})
}

// notFound maps "no row" to the domain's not-found error and classifies the rest.
func notFound(err error, what string) error {
	if err == nil {
		return nil
	}
	if errs.KindOf(pg.Classify(err)) == errs.KindNotFound {
		return errs.NotFound(what)
	}
	return fmt.Errorf("%s: %w", what, pg.Classify(err))
}

// principal refuses a missing caller.
func principal(p *identity.Principal) error {
	if p == nil {
		return identity.ErrUnauthenticated
	}
	return nil
}
