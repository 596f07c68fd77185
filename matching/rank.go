package matching

import (
	"cmp"
	"context"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
)

// The recommenders. One ranking (rank) reads its inputs through Source, which both the
// database (pgSource, for one consumer after a payment) and the in-memory Model (the
// nightly rebuild and the offline evaluation) implement, so what is evaluated offline is
// what is served.

// Method is a way to rank merchants for a consumer.
type Method string

// The methods. Hybrid is what is served; the others are evaluated against Popularity.
const (
	MethodHybrid     Method = "hybrid"
	MethodCoPurchase Method = "co_purchase"
	MethodDistance   Method = "distance"
	MethodCategory   Method = "category"
	MethodPopularity Method = "popularity"
)

// Methods are every method, the served one first.
var Methods = []Method{MethodHybrid, MethodCoPurchase, MethodDistance, MethodCategory, MethodPopularity}

// Merchant is a live merchant as the recommenders see it.
type Merchant struct {
	ID       uuid.UUID
	Name     string
	Category string
	Lat, Lng float64
	Buyers   int // distinct consumers who bought there
}

// Tried is a merchant a consumer bought from.
type Tried struct {
	Merchant
	Live   bool
	Orders int // paid orders not wholly refunded
	LastAt time.Time
}

// Neighbor is a merchant bought by Co consumers who also bought at From.
type Neighbor struct {
	From uuid.UUID
	Merchant
	Co int
}

// Point is a position.
type Point struct{ Lat, Lng float64 }

// Source is what the ranking reads.
type Source interface {
	// Tried is what the consumer bought, most recent first.
	Tried(ctx context.Context, consumerID uuid.UUID) ([]Tried, error)
	// Neighbors are the per strongest co-purchase partners of each merchant in froms.
	Neighbors(ctx context.Context, froms []uuid.UUID, per int) ([]Neighbor, error)
	// Near are live merchants within radiusM of p, nearest first.
	Near(ctx context.Context, p Point, radiusM float64, max int) ([]Merchant, error)
	// TopInCategories are the per most popular live merchants of each category.
	TopInCategories(ctx context.Context, cats []string, per int) ([]Merchant, error)
	// Popular are the most popular live merchants, most popular first.
	Popular(ctx context.Context, max int) ([]Merchant, error)
}

// Reason kinds: why a merchant is recommended. A Reason's Detail names the merchant tried
// (co_purchase), the category (category) or nothing.
const (
	ReasonCoPurchase = "co_purchase"
	ReasonCategory   = "category"
	ReasonNearby     = "nearby"
	ReasonPopular    = "popular"
)

// Reason is one reason a merchant is recommended.
type Reason struct {
	Kind   string `json:"kind"`
	Detail string `json:"detail,omitempty"`
}

// Scored is a recommended merchant with its score and reasons.
type Scored struct {
	Merchant
	Score     float64
	DistanceM float64 // 0 when where the consumer buys is unknown
	Reasons   []Reason
}

// How much each source is asked for: enough candidates for a top 20 once the tried
// merchants are removed.
const (
	recentTried   = 20  // the recent merchants whose neighbours are candidates
	neighborsPer  = 30  // neighbours per merchant tried
	nearMax       = 200 // merchants within the radius
	topCategories = 3   // the consumer's strongest categories
	perCategory   = 30  // merchants per category
	popularMax    = 100 // the popular merchants, always candidates (and the fill)
)

type candidate struct {
	Merchant
	co, cat, dist, pop float64
	distM              float64
	coFrom             string // the merchant tried that contributes most to co
	coBest             float64
}

// rank ranks merchants for a consumer by a method: at most k, none of those tried. A
// consumer with nothing tried gets the popular list whatever the method (cold is true).
func rank(ctx context.Context, src Source, cfg Config, consumerID uuid.UUID, m Method, k int) (_ []Scored, cold bool, _ error) {
	tried, err := src.Tried(ctx, consumerID)
	if err != nil {
		return nil, false, err
	}
	cold = len(tried) == 0
	popular, err := src.Popular(ctx, popularMax)
	if err != nil {
		return nil, cold, err
	}
	maxBuyers := 1
	if len(popular) > 0 {
		maxBuyers = max(1, popular[0].Buyers)
	}
	triedSet := make(map[uuid.UUID]bool, len(tried))
	for _, t := range tried {
		triedSet[t.ID] = true
	}
	cands := map[uuid.UUID]*candidate{}
	add := func(mm Merchant) *candidate {
		if triedSet[mm.ID] {
			return nil
		}
		c := cands[mm.ID]
		if c == nil {
			c = &candidate{Merchant: mm}
			cands[mm.ID] = c
		}
		return c
	}
	for _, p := range popular {
		add(p)
	}
	pos, located := position(tried)
	aff := affinity(tried)

	if len(tried) > 0 && (m == MethodHybrid || m == MethodCoPurchase) {
		froms := recentFroms(tried)
		buyersOf := make(map[uuid.UUID]Tried, len(froms))
		for _, t := range tried[:len(froms)] {
			buyersOf[t.ID] = t
		}
		ns, err := src.Neighbors(ctx, froms, neighborsPer)
		if err != nil {
			return nil, cold, err
		}
		for _, n := range ns {
			c := add(n.Merchant)
			if c == nil {
				continue
			}
			from := buyersOf[n.From]
			sim := float64(n.Co) / math.Sqrt(float64(max(1, from.Buyers))*float64(max(1, n.Buyers)))
			c.co += sim
			if sim > c.coBest {
				c.coBest, c.coFrom = sim, from.Name
			}
		}
	}
	if located && (m == MethodHybrid || m == MethodDistance) {
		near, err := src.Near(ctx, pos, cfg.RadiusM, nearMax)
		if err != nil {
			return nil, cold, err
		}
		for _, n := range near {
			add(n)
		}
	}
	if len(aff) > 0 && (m == MethodHybrid || m == MethodCategory) {
		top, err := src.TopInCategories(ctx, strongestCategories(aff), perCategory)
		if err != nil {
			return nil, cold, err
		}
		for _, t := range top {
			add(t)
		}
	}

	maxCo := 0.0
	for _, c := range cands {
		maxCo = max(maxCo, c.co)
	}
	type ranked struct {
		c     *candidate
		score float64
	}
	all := make([]ranked, 0, len(cands))
	for _, c := range cands {
		c.pop = math.Log1p(float64(c.Buyers)) / math.Log1p(float64(maxBuyers))
		c.cat = aff[c.Category]
		if located {
			c.distM = merchant.DistanceM(pos.Lat, pos.Lng, c.Lat, c.Lng)
			c.dist = math.Exp(-c.distM / cfg.DistanceScaleM)
		}
		if maxCo > 0 {
			c.co /= maxCo
		}
		all = append(all, ranked{c, c.score(m, cfg.Weights, cold)})
	}
	slices.SortFunc(all, func(a, b ranked) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(b.c.Buyers, a.c.Buyers), slices.Compare(a.c.ID[:], b.c.ID[:]))
	})
	// Reasons only for what is kept: a rebuild ranks hundreds of candidates per consumer.
	out := make([]Scored, 0, min(k, len(all)))
	for _, r := range all[:min(k, len(all))] {
		out = append(out, Scored{Merchant: r.c.Merchant, Score: r.score, DistanceM: r.c.distM, Reasons: r.c.reasons(m, cold)})
	}
	return out, cold, nil
}

// recentFroms are the merchants tried whose co-purchase neighbours are candidates: the
// most recent ones.
func recentFroms(tried []Tried) []uuid.UUID {
	froms := make([]uuid.UUID, 0, min(recentTried, len(tried)))
	for _, t := range tried[:min(recentTried, len(tried))] {
		froms = append(froms, t.ID)
	}
	return froms
}

// strongestCategories are the categories whose popular merchants are candidates: the
// consumer's strongest by affinity (ties by name).
func strongestCategories(aff map[string]float64) []string {
	cats := make([]string, 0, len(aff))
	for c := range aff {
		cats = append(cats, c)
	}
	slices.SortFunc(cats, func(a, b string) int { return cmp.Or(cmp.Compare(aff[b], aff[a]), cmp.Compare(a, b)) })
	return cats[:min(topCategories, len(cats))]
}

// score is the candidate's score by a method. A single method ranks first what it finds
// and then by popularity (a served list is never shorter than the popular one), so each
// is evaluated as it would be served.
func (c *candidate) score(m Method, w Weights, cold bool) float64 {
	const fill = 1e-3
	switch {
	case cold || m == MethodPopularity:
		return c.pop
	case m == MethodCoPurchase:
		return c.co + fill*c.pop
	case m == MethodDistance:
		return c.dist + fill*c.pop
	case m == MethodCategory:
		return c.cat*(0.5+0.5*c.pop) + fill*c.pop
	}
	return w.CoPurchase*c.co + w.Category*c.cat + w.Distance*c.dist + w.Popularity*c.pop
}

// reasons are the signals that carry the candidate's score, strongest weight first.
func (c *candidate) reasons(m Method, cold bool) []Reason {
	var rs []Reason
	if c.co > 0.05 && !cold && (m == MethodHybrid || m == MethodCoPurchase) {
		rs = append(rs, Reason{Kind: ReasonCoPurchase, Detail: c.coFrom})
	}
	if c.cat > 0 && !cold && (m == MethodHybrid || m == MethodCategory) {
		rs = append(rs, Reason{Kind: ReasonCategory, Detail: c.Category})
	}
	if c.dist > 0.2 && !cold && (m == MethodHybrid || m == MethodDistance) {
		rs = append(rs, Reason{Kind: ReasonNearby})
	}
	if len(rs) == 0 || c.pop > 0.8 {
		rs = append(rs, Reason{Kind: ReasonPopular})
	}
	return rs
}

// position is where a consumer buys: the centre of the live merchants tried.
func position(tried []Tried) (Point, bool) {
	var p Point
	n := 0
	for _, t := range tried {
		if t.Live && (t.Lat != 0 || t.Lng != 0) {
			p.Lat += t.Lat
			p.Lng += t.Lng
			n++
		}
	}
	if n == 0 {
		return Point{}, false
	}
	return Point{p.Lat / float64(n), p.Lng / float64(n)}, true
}

// affinity is each category's share of the consumer's orders, relative to the strongest
// (1 for the category bought most). A merchant tried whose orders were all refunded
// still counts once: the consumer went there.
func affinity(tried []Tried) map[string]float64 {
	aff := map[string]float64{}
	best := 0.0
	for _, t := range tried {
		if t.Category == "" {
			continue
		}
		aff[t.Category] += float64(max(1, t.Orders))
		best = max(best, aff[t.Category])
	}
	for c := range aff {
		aff[c] /= best
	}
	return aff
}
