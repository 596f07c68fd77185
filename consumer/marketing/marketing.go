// Package marketing is the C-CRM's growth tooling (product §2): segments with live
// counts, campaigns with a holdout control group and measured uplift, RFM scores
// and win-back. It owns schema marketing and keeps what it needs of members,
// orders, tags, tiers, points and coupons from events (members.go), never reading
// consumer's or billing's tables.
//
// Segments are evaluated on an in-process index of compressed bitmaps (index.go,
// rules.go): one roaring bitmap of member seqs per attribute value, bit-sliced
// integers for days, points and counts. The index is kept in step with the tables
// by a change log (marketing.member_changes, written in the same transaction as
// every member change) that each process tails, and is snapshotted to PostgreSQL
// so a process starts without rescanning (index_sync.go).
package marketing

import (
	"embed"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is schema marketing. It references no other schema.
var Migrations = pg.EmbeddedMigrations("marketing", migrationFiles, "migrations")

var shanghai = clock.Shanghai

// Error codes of the domain.
const (
	CodeRuleInvalid      = "marketing.rule_invalid"
	CodeSegmentNotFound  = "marketing.segment_not_found"
	CodeSegmentNameTaken = "marketing.segment_name_taken"
	CodeCampaignNotFound = "marketing.campaign_not_found"
	CodeCampaignInvalid  = "marketing.campaign_invalid"
	CodeNoBudget         = "marketing.no_budget"
	CodeEmptyAudience    = "marketing.empty_audience"
	CodeNoStock          = "marketing.coupon_no_stock"
	CodeCampaignRunning  = "marketing.campaign_running"
	CodeCampaignState    = "marketing.campaign_state"
	CodeMemberNotFound   = "marketing.member_not_found"
)

// Ports are what marketing needs of other domains; cmd/tandem adapts them.
type Ports struct {
	// Offers issues coupons and points (the consumer domain's loyalty); nil: log only.
	Offers Offers
	// Channel delivers messages; nil: the log channel.
	Channel Channel
	// Audiences is matching's audience of a merchant (the matching_audience
	// condition); nil: the condition is refused.
	Audiences Audiences
}

// Config tunes the domain. The zero value works.
type Config struct {
	// Tiers are the tier keys from lowest to highest [member, silver, gold, platinum].
	Tiers []string
	// TailEvery is how stale a count may be: the index reads the change log at most
	// this often [500ms].
	TailEvery time.Duration
	// SendBatch is how many members one send step claims [5000].
	SendBatch int
	// SendParallel is how many batches of a run are sent at once while the budget
	// cannot run out among them [2].
	SendParallel int
	// NoLeafCache evaluates every condition afresh (benchmarks of uncached counts).
	NoLeafCache bool
	// ReferralWindow is how long an invitee's first paid order must go unrefunded
	// before both sides are rewarded [7 days]; ReferrerPoints and InviteePoints are
	// the rewards [200, 100].
	ReferralWindow                time.Duration
	ReferrerPoints, InviteePoints int64
}

// Service is the marketing domain. Each public method owns its transaction.
type Service struct {
	db    *pgxpool.Pool
	log   *slog.Logger
	clock clock.Clock
	ports Ports
	cfg   Config

	loadMu sync.Mutex // one load or tail at a time
	idx    *Index     // nil until loaded; replaced whole by a rebuild
	idxMu  sync.RWMutex
	tail   tailState
	// tailing is set while a background read of the change log runs.
	tailing atomic.Bool

	audiences audienceCache // matching's audiences fetched for rules
}

// New returns the service (the one constructor shape of shared/domain).
func New(deps domain.Deps, ports Ports, cfg Config) *Service {
	deps = deps.WithDefaults()
	if len(cfg.Tiers) == 0 {
		cfg.Tiers = []string{"member", "silver", "gold", "platinum"}
	}
	if cfg.TailEvery <= 0 {
		cfg.TailEvery = 500 * time.Millisecond
	}
	if cfg.ReferralWindow <= 0 {
		cfg.ReferralWindow = 7 * 24 * time.Hour
	}
	if cfg.ReferrerPoints <= 0 {
		cfg.ReferrerPoints = 200
	}
	if cfg.InviteePoints <= 0 {
		cfg.InviteePoints = 100
	}
	if cfg.SendBatch <= 0 {
		cfg.SendBatch = 5000
	}
	if cfg.SendParallel <= 0 {
		cfg.SendParallel = 2
	}
	if ports.Offers == nil {
		ports.Offers = LogOffers{Log: deps.Log}
	}
	if ports.Channel == nil {
		ports.Channel = LogChannel{Log: deps.Log}
	}
	return &Service{db: deps.DB, log: deps.Log, clock: deps.Clock, ports: ports, cfg: cfg}
}

// Name is the domain's name.
func (s *Service) Name() string { return "marketing" }

func (s *Service) now() time.Time { return s.clock.Now().UTC() }
