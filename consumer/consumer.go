// Package consumer is C-CRM: members and their points (ARCHITECTURE.md, product §2). A member is a
// consumer that shared/identity resolves from its openid, unionid or phone; their
// points are an immutable ledger of entries whose balance is a projection kept in
// the same transaction. Points are earned on billing's payment events and reversed
// on its refund events, each exactly once (a unique source key per entry).
package consumer

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is schema consumer. It references no other schema.
var Migrations = pg.EmbeddedMigrations("consumer", migrationFiles, "migrations")

const objMember = "consumer.member"

// Error codes of this package (shared/errs).
const (
	CodeMemberNotFound     = objMember + "_not_found"
	CodeEarnPending        = "consumer.earn_pending"
	CodePointsInsufficient = "consumer.points_insufficient"
	CodeProgramInvalid     = "consumer.program_invalid"
	CodeTiersInvalid       = "consumer.tiers_invalid"
	CodeOrderUnknown       = "consumer.order_unknown"
)

var shanghai = clock.Shanghai

// Identities is what the service needs of shared/identity: one consumer across
// channels. *identity.Service implements it.
type Identities interface {
	ResolveConsumer(ctx context.Context, c identity.ConsumerClaims) (uuid.UUID, bool, error)
	ConsumerIdentities(ctx context.Context, consumer uuid.UUID) ([]identity.ConsumerIdentity, error)
}

// Ports are what the consumer domain needs of other parts, adapted in cmd/tandem.
type Ports struct {
	Identities Identities // required
	// Approvals decides staff adjustments over the program's limit; nil: every
	// adjustment applies at once.
	Approvals *approval.Service
	// Orders tells whether an order is a consumer's (billing's published read); nil:
	// the order a redemption names is not checked (benches, tests without billing).
	Orders Orders
	// Merchants tells which merchant ids a coupon template may name (coupons.go);
	// nil: they are not checked (benchmarks).
	Merchants Merchants
}

// Orders is what the service needs of billing: whether an order exists and is the
// consumer's. The adapter is in cmd/tandem (billing's MyOrder), never billing's tables.
type Orders interface {
	OwnsOrder(ctx context.Context, consumerID, orderID uuid.UUID) (bool, error)
}

// Config configures the service. The points program's rules are data that growth
// operators edit (Program), not configuration.
type Config struct{}

// Service is the consumer domain's API.
type Service struct {
	db        *pgxpool.Pool
	ids       Identities
	approvals *approval.Service
	orders    Orders
	merchants Merchants
	cfg       Config
	log       *slog.Logger
	clock     clock.Clock
	newID     func() uuid.UUID
	waker     *outbox.Waker
}

// New returns the service (the one constructor shape of shared/domain).
func New(deps domain.Deps, ports Ports, cfg Config) *Service {
	deps = deps.WithDefaults()
	s := &Service{db: deps.DB, ids: ports.Identities, approvals: ports.Approvals, orders: ports.Orders, merchants: ports.Merchants, cfg: cfg, log: deps.Log, clock: deps.Clock,
		newID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }, waker: deps.Relays}
	if s.approvals != nil {
		s.approvals.OnDecided(KindAdjustApproval, s.decideAdjustment)
	}
	return s
}

// Name is the domain's name.
func (s *Service) Name() string { return "consumer" }

// Register declares the domain's API routes and event subscriptions (shared/domain).
func (s *Service) Register(r *domain.Registry) {
	r.Routes(s.mountAPI)
	r.Subscribe(s.Subscriptions()...)
	r.Subscribe(s.mergeFollower().Subscriptions()...) // merge_moves.go
	r.Schedule(s.tasks()...)
	r.Pages(s.pages())
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

// Member is a member as a reader may see them (Phone masked unless allowed).
type Member struct {
	ID       uuid.UUID `json:"id"`
	Phone    string    `json:"phone"`
	Name     string    `json:"name,omitempty"`
	AppID    string    `json:"app_id,omitempty"`
	JoinedAt time.Time `json:"joined_at"`
	Points   int64     `json:"points"` // all their points: spendable and pending
	// Spendable can be redeemed now; Pending is inside a payment's refund window.
	Spendable int64 `json:"spendable"`
	Pending   int64 `json:"pending"`
	// EarnedTotal is the points earned that count toward tiers (never the balance).
	EarnedTotal int64 `json:"earned_total"`
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("consumer: %s: %w", op, pg.Classify(err))
}
