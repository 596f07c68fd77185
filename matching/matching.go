// Package matching links the two sides (ARCHITECTURE.md, product §3). This first slice is the
// cross-side recommendation of merchants for a consumer: live merchants near the
// consumer, in the categories they have bought, that they have not tried yet.
// Recommendations are precomputed (Recompute, run by a worker on every payment) and
// stored in schema matching, so reading them is one indexed query.
//
// Matching reads the other domains only through their exported functions: live
// merchants through Merchants (satisfied by *merchant.Service), a consumer's purchases
// through Purchases and position through Location (ports that cmd/tandem satisfies
// with billing and consumer).
package matching

import (
	"context"
	"embed"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is schema matching. It references no other schema.
var Migrations = pg.EmbeddedMigrations("matching", migrationFiles, "migrations")

// Purchase is one merchant a consumer has paid. Category may be empty: matching
// takes it from the merchant then.
type Purchase struct {
	MerchantID uuid.UUID
	Category   string
}

// Purchases is a consumer's purchase history (billing's paid orders).
type Purchases interface {
	Purchases(ctx context.Context, consumerID uuid.UUID) ([]Purchase, error)
}

// Location is where a consumer is, when known (ok false otherwise).
type Location interface {
	Location(ctx context.Context, consumerID uuid.UUID) (p merchant.Point, ok bool, err error)
}

// Merchants lists live merchants: *merchant.Service.
type Merchants interface {
	ListLiveMerchants(ctx context.Context, f merchant.LiveFilter) ([]merchant.LiveMerchant, error)
}

// Ports are what matching reads of the other domains, adapted in cmd/tandem.
type Ports struct {
	Merchants Merchants // required
	Purchases Purchases // required
	// Location may be nil: the consumer's position is then the centre of the
	// merchants they have bought from.
	Location Location
}

// Config tunes the recommendations.
type Config struct {
	RadiusM float64 // how far a recommended merchant may be; default 5 km
	Max     int     // recommendations kept per consumer; default 20
}

func (c Config) withDefaults() Config {
	if c.RadiusM <= 0 {
		c.RadiusM = 5000
	}
	if c.Max <= 0 {
		c.Max = 20
	}
	return c
}

// Service computes and serves recommendations.
type Service struct {
	db        *pgxpool.Pool
	merchants Merchants
	purchases Purchases
	location  Location
	clock     clock.Clock
	cfg       Config
}

// New returns the service (the one constructor shape of shared/domain).
func New(deps domain.Deps, ports Ports, cfg Config) *Service {
	deps = deps.WithDefaults()
	return &Service{db: deps.DB, merchants: ports.Merchants, purchases: ports.Purchases, location: ports.Location,
		clock: deps.Clock, cfg: cfg.withDefaults()}
}

// Name is the domain's name.
func (s *Service) Name() string { return "matching" }

// Register declares the domain's API routes and event subscriptions (shared/domain).
func (s *Service) Register(r *domain.Registry) {
	r.Routes(s.mountAPI)
	r.Subscribe(s.Subscriptions()...)
}

// Recommendation is one merchant recommended to a consumer.
type Recommendation struct {
	MerchantID uuid.UUID `json:"merchant_id"`
	Rank       int       `json:"rank"`
	Name       string    `json:"name"`
	Category   string    `json:"category"`
	DistanceM  float64   `json:"distance_m"` // 0 when the consumer's position is unknown
	ComputedAt time.Time `json:"computed_at"`
}

// Recompute replaces a consumer's recommendations: live merchants in the categories
// they have bought, nearest first within RadiusM of them, excluding the merchants
// they have tried. It is idempotent (a replace), so a redelivered event is harmless.
func (s *Service) Recompute(ctx context.Context, consumerID uuid.UUID) (int, error) {
	bought, err := s.purchases.Purchases(ctx, consumerID)
	if err != nil {
		return 0, fmt.Errorf("matching: purchases of %s: %w", consumerID, err)
	}
	recs, err := s.rank(ctx, consumerID, bought)
	if err != nil {
		return 0, err
	}
	now := s.clock.Now().UTC()
	rows := make([]matchingdb.CopyRecommendationsParams, len(recs))
	for i, r := range recs {
		rows[i] = matchingdb.CopyRecommendationsParams{ConsumerID: consumerID, MerchantID: r.ID, Rank: int32(i + 1),
			Category: r.Category, Name: r.Name, DistanceM: r.DistanceM, ComputedAt: now}
	}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		if err := q.LockConsumer(ctx, consumerID); err != nil {
			return err
		}
		if err := q.DeleteRecommendations(ctx, consumerID); err != nil {
			return err
		}
		_, err := q.CopyRecommendations(ctx, rows)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("matching: store recommendations of %s: %w", consumerID, pg.Classify(err))
	}
	return len(rows), nil
}

// rank picks the merchants to recommend.
func (s *Service) rank(ctx context.Context, consumerID uuid.UUID, bought []Purchase) ([]merchant.LiveMerchant, error) {
	if len(bought) == 0 {
		return nil, nil
	}
	tried := map[uuid.UUID]bool{}
	var ids []uuid.UUID
	cats := map[string]bool{}
	for _, b := range bought {
		if !tried[b.MerchantID] {
			tried[b.MerchantID] = true
			ids = append(ids, b.MerchantID)
		}
		if b.Category != "" {
			cats[b.Category] = true
		}
	}
	// The merchants tried: their categories (when the purchase had none) and where they are.
	known, err := s.merchants.ListLiveMerchants(ctx, merchant.LiveFilter{IDs: ids, Limit: 1000})
	if err != nil {
		return nil, fmt.Errorf("matching: merchants tried: %w", err)
	}
	for _, m := range known {
		cats[m.Category] = true
	}
	if len(cats) == 0 {
		return nil, nil
	}
	center, ok, err := s.position(ctx, consumerID, known)
	if err != nil {
		return nil, err
	}
	f := merchant.LiveFilter{Categories: mapKeys(cats), RadiusM: s.cfg.RadiusM, Limit: s.cfg.Max + len(tried)}
	if ok {
		f.Near = &center
	}
	cands, err := s.merchants.ListLiveMerchants(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("matching: candidates: %w", err)
	}
	cands = slices.DeleteFunc(cands, func(m merchant.LiveMerchant) bool { return tried[m.ID] })
	if len(cands) > s.cfg.Max {
		cands = cands[:s.cfg.Max]
	}
	return cands, nil
}

// position is where the consumer is: the Location port's answer, else the centre of
// the merchants they bought from, else unknown.
func (s *Service) position(ctx context.Context, consumerID uuid.UUID, known []merchant.LiveMerchant) (merchant.Point, bool, error) {
	if s.location != nil {
		p, ok, err := s.location.Location(ctx, consumerID)
		if err != nil {
			return p, false, fmt.Errorf("matching: location of %s: %w", consumerID, err)
		}
		if ok {
			return p, true, nil
		}
	}
	if len(known) == 0 {
		return merchant.Point{}, false, nil
	}
	var c merchant.Point
	for _, m := range known {
		c.Lat += m.Lat
		c.Lng += m.Lng
	}
	c.Lat /= float64(len(known))
	c.Lng /= float64(len(known))
	return c, true, nil
}

func mapKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Recommendations returns a consumer's stored recommendations, best first.
func (s *Service) Recommendations(ctx context.Context, consumerID uuid.UUID, limit int) ([]Recommendation, error) {
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	rows, err := matchingdb.New(s.db).ListRecommendations(ctx, matchingdb.ListRecommendationsParams{ConsumerID: consumerID, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("matching: recommendations of %s: %w", consumerID, pg.Classify(err))
	}
	out := make([]Recommendation, len(rows))
	for i, r := range rows {
		out[i] = Recommendation{MerchantID: r.MerchantID, Rank: int(r.Rank), Name: r.Name, Category: r.Category,
			DistanceM: r.DistanceM, ComputedAt: r.ComputedAt.UTC()}
	}
	return out, nil
}
