// Package matching links the two sides (ARCHITECTURE.md, product §3): merchants a
// consumer is likely to buy from, and consumers likely to buy at a merchant.
//
// Matching keeps its own record of what it needs, from events only (purchases.go):
// live merchants (merchant.live), paid orders and refunds (billing.payment_succeeded,
// billing.refund_succeeded), with the aggregates the recommenders read kept in the same
// transaction: per consumer and merchant, per merchant (buyers), co-purchase pairs and
// where a consumer buys. Recommendations are precomputed (rank.go) into
// matching.recommendations: for the payer right after each payment (Recompute), for
// everyone by a nightly full rebuild (Rebuild). Serving is from each process's cache of
// those lists (serve_cache.go), one indexed read on a miss; a consumer with nothing
// stored gets the cold-start list (the most popular merchants).
package matching

import (
	"embed"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is schema matching. It references no other schema (PostGIS lives in public).
var Migrations = pg.EmbeddedMigrations("matching", migrationFiles, "migrations")

// Ports are what matching reads of the other domains; the rest comes from events.
type Ports struct {
	// Members finds members by phone, to link a shop's owner to their consumer
	// identity (shops.go); without it no owner is linked.
	Members Members
	// Dedup gives lead dedup's thresholds to shop matching (merchant's; its defaults
	// without it).
	Dedup DedupRules
	// Shops reads every shop merchant has, for the backfill of shops that existed
	// before merchant published its leads (shops_backfill.go); without it the backfill
	// is refused.
	Shops ShopSource
}

// Weights weigh the signals of the hybrid recommender; each signal is in [0, 1].
type Weights struct {
	CoPurchase float64 // item-to-item similarity to the merchants tried
	Category   float64 // the consumer's share of orders in the merchant's category
	Distance   float64 // exp(-distance / DistanceScaleM) from where the consumer buys
	Popularity float64 // log buyers / log buyers of the most popular merchant
}

// Config tunes the recommendations.
type Config struct {
	RadiusM        float64 // how far a merchant found by distance may be; default 5 km
	DistanceScaleM float64 // distance at which the distance signal falls to 1/e; default 1.5 km
	Max            int     // recommendations kept per consumer; default 20
	Weights        Weights // default DefaultWeights
	// Workers rank consumers in parallel during a rebuild; default 2.
	Workers int
	// CacheConsumers is how many consumers' lists a process keeps in memory to serve
	// from (about 4 KiB each at 20 recommendations); default 50,000.
	CacheConsumers int
}

// DefaultWeights were chosen on the synthetic data of matching/offline (tandem bench
// matching prints the evaluation they give).
var DefaultWeights = Weights{CoPurchase: 1, Category: 0.5, Distance: 0.5, Popularity: 0.3}

func (c Config) withDefaults() Config {
	if c.RadiusM <= 0 {
		c.RadiusM = 5000
	}
	if c.DistanceScaleM <= 0 {
		c.DistanceScaleM = 1500
	}
	if c.Max <= 0 {
		c.Max = 20
	}
	if c.Weights == (Weights{}) {
		c.Weights = DefaultWeights
	}
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.CacheConsumers <= 0 {
		c.CacheConsumers = 50_000
	}
	return c
}

// Service records purchases, computes and serves recommendations and audiences.
type Service struct {
	db      *pgxpool.Pool
	log     *slog.Logger
	clock   clock.Clock
	cfg     Config
	cache   *serveCache
	members Members
	dedup   DedupRules
	shops   ShopSource
}

// New returns the service (the one constructor shape of shared/domain).
func New(deps domain.Deps, ports Ports, cfg Config) *Service {
	deps = deps.WithDefaults()
	cfg = cfg.withDefaults()
	return &Service{db: deps.DB, log: deps.Log, clock: deps.Clock, cfg: cfg, cache: newServeCache(cfg.CacheConsumers),
		members: ports.Members, dedup: ports.Dedup, shops: ports.Shops}
}
