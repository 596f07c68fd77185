package matching

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// An audience for a merchant: consumers likely to buy there. Offered to other domains
// (marketing's campaigns) through AudienceFor, a system read like merchant's
// ListLiveMerchants; staff see it through Audience.

// Audience reason kinds, beside ReasonCategory and ReasonNearby.
const (
	// ReasonSimilarShop: a customer of a shop bought with this one (Detail: how many).
	ReasonSimilarShop = "similar_shop"
	// ReasonLapsed: a customer of such shops who has not bought there for LapsedAfter.
	ReasonLapsed = "lapsed"
)

// LapsedAfter is how long without buying makes a customer lapsed; it is also how
// recently a merchant's own customers bought to be left out of its audience.
const LapsedAfter = 60 * 24 * time.Hour

// Audience sizes.
const (
	DefaultAudience = 100
	MaxAudience     = 5000
)

// merchantObject names a merchant in not-found errors: code CodeMerchantNotFound.
const merchantObject = "matching.merchant"

// CodeMerchantNotFound: matching has no record of the merchant.
const CodeMerchantNotFound = merchantObject + "_not_found"

// AudienceMember is a consumer likely to buy at a merchant, with why.
type AudienceMember struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	Rank       int       `json:"rank"`
	Score      float64   `json:"score"`
	DistanceM  float64   `json:"distance_m"` // -1 when where they buy is unknown
	Reasons    []Reason  `json:"reasons"`
}

// Audience weights: customers of similar shops first (they buy exactly this kind of
// place), then category affinity and distance; lapsed ones get a lift (win-back).
const (
	audienceSimilar  = 1.0
	audienceCategory = 0.5
	audienceDistance = 0.5
	audienceLapsed   = 0.2
)

// AudienceFor is a merchant's audience, best first, at most limit (default 100, at most
// 5000): a system read for other domains' ports.
func (s *Service) AudienceFor(ctx context.Context, merchantID uuid.UUID, limit int) ([]AudienceMember, error) {
	if limit <= 0 {
		limit = DefaultAudience
	}
	limit = min(limit, MaxAudience)
	q := matchingdb.New(s.db)
	if _, err := q.MerchantByID(ctx, merchantID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errs.NotFound(merchantObject)
		}
		return nil, fmt.Errorf("matching: merchant %s: %w", merchantID, pg.Classify(err))
	}
	now := s.clock.Now().UTC()
	rows, err := q.AudienceCandidates(ctx, matchingdb.AudienceCandidatesParams{MerchantID: merchantID, RecentSince: now.Add(-LapsedAfter),
		RadiusM: s.cfg.RadiusM, MaxEach: int32(limit * 2)})
	if err != nil {
		return nil, fmt.Errorf("matching: audience of %s: %w", merchantID, pg.Classify(err))
	}
	maxOrders, maxShops := int32(1), int32(1)
	for _, r := range rows {
		maxOrders, maxShops = max(maxOrders, r.CategoryOrders), max(maxShops, r.AlikeShops)
	}
	out := make([]AudienceMember, 0, len(rows))
	for _, r := range rows {
		a := AudienceMember{ConsumerID: r.ConsumerID, DistanceM: r.DistanceM}
		if r.AlikeShops > 0 {
			a.Score += audienceSimilar * float64(r.AlikeShops) / float64(maxShops)
			a.Reasons = append(a.Reasons, Reason{Kind: ReasonSimilarShop, Detail: fmt.Sprint(r.AlikeShops)})
			if r.AlikeLastAt.Before(now.Add(-LapsedAfter)) {
				a.Score += audienceLapsed
				a.Reasons = append(a.Reasons, Reason{Kind: ReasonLapsed})
			}
		}
		if r.CategoryOrders > 0 {
			a.Score += audienceCategory * float64(r.CategoryOrders) / float64(maxOrders)
			a.Reasons = append(a.Reasons, Reason{Kind: ReasonCategory, Detail: fmt.Sprint(r.CategoryOrders)})
		}
		if r.DistanceM >= 0 {
			d := math.Exp(-r.DistanceM / s.cfg.DistanceScaleM)
			a.Score += audienceDistance * d
			if d > 0.2 {
				a.Reasons = append(a.Reasons, Reason{Kind: ReasonNearby})
			}
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b AudienceMember) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), slices.Compare(a.ConsumerID[:], b.ConsumerID[:]))
	})
	out = out[:min(limit, len(out))]
	for i := range out {
		out[i].Rank = i + 1
	}
	return out, nil
}

// Audience is a merchant's audience for staff who may read members (growth, marketing).
func (s *Service) Audience(ctx context.Context, p *identity.Principal, merchantID uuid.UUID, limit int) ([]AudienceMember, error) {
	if err := requireMemberRead(p, merchantObject); err != nil {
		return nil, err
	}
	return s.AudienceFor(ctx, merchantID, limit)
}
