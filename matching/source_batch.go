package matching

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// batchSource is pgSource for a batch of consumers ranked at once (a batch of payments):
// it reads what the ranking of every consumer of the batch asks for with one statement
// per kind of input (five in all, rather than five per consumer), then answers each
// consumer's ranking from memory. The answers are the rows pgSource's statements give,
// in their order, so the ranking is the same. A question it was not prepared for (none
// in rank today) goes to pgSource.
type batchSource struct {
	pg        pgSource
	tried     map[uuid.UUID][]Tried    // every consumer of the batch, also those with nothing tried
	popular   []Merchant               // the popularMax most popular
	neighbors map[uuid.UUID][]Neighbor // neighborsPer per merchant tried, by merchant tried
	near      map[Point][]Merchant     // nearMax within radiusM of each consumer's position
	byCat     map[string][]Merchant    // perCategory per category
	radiusM   float64
}

// newBatchSource reads the ranking's inputs of consumers: what each tried, then the
// popular merchants, and the neighbours, nearby merchants and top merchants by category
// that the ranking of each will ask for (rank: recentFroms, position,
// strongestCategories).
func newBatchSource(ctx context.Context, q *matchingdb.Queries, cfg Config, consumers []uuid.UUID) (*batchSource, error) {
	b := &batchSource{pg: pgSource{q: q}, tried: make(map[uuid.UUID][]Tried, len(consumers)),
		neighbors: map[uuid.UUID][]Neighbor{}, near: map[Point][]Merchant{}, byCat: map[string][]Merchant{}, radiusM: cfg.RadiusM}
	rows, err := q.ConsumersBought(ctx, consumers)
	if err != nil {
		return nil, fmt.Errorf("matching: merchants tried by %d consumers: %w", len(consumers), pg.Classify(err))
	}
	for _, c := range consumers {
		b.tried[c] = []Tried{}
	}
	for _, r := range rows {
		b.tried[r.ConsumerID] = append(b.tried[r.ConsumerID], Tried{Merchant: Merchant{ID: r.MerchantID, Name: r.Name,
			Category: r.Category, Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)}, Live: r.Live, Orders: int(r.Orders), LastAt: r.LastAt})
	}
	if b.popular, err = b.pg.Popular(ctx, popularMax); err != nil {
		return nil, err
	}
	var froms []uuid.UUID
	var cats []string
	var lats, lngs []float64
	seenCat := map[string]bool{}
	for _, c := range consumers {
		tried := b.tried[c]
		if len(tried) == 0 {
			continue
		}
		for _, f := range recentFroms(tried) {
			if _, ok := b.neighbors[f]; !ok {
				b.neighbors[f] = []Neighbor{}
				froms = append(froms, f)
			}
		}
		if p, ok := position(tried); ok {
			if _, ok := b.near[p]; !ok {
				b.near[p] = []Merchant{}
				lats, lngs = append(lats, p.Lat), append(lngs, p.Lng)
			}
		}
		for _, cat := range strongestCategories(affinity(tried)) {
			if !seenCat[cat] {
				seenCat[cat] = true
				b.byCat[cat] = []Merchant{}
				cats = append(cats, cat)
			}
		}
	}
	if len(froms) > 0 {
		ns, err := b.pg.Neighbors(ctx, froms, neighborsPer)
		if err != nil {
			return nil, err
		}
		for _, n := range ns {
			b.neighbors[n.From] = append(b.neighbors[n.From], n)
		}
	}
	if len(lats) > 0 {
		rows, err := q.NearMerchantsOfPoints(ctx, matchingdb.NearMerchantsOfPointsParams{Lats: lats, Lngs: lngs,
			RadiusM: cfg.RadiusM, MaxRows: nearMax})
		if err != nil {
			return nil, fmt.Errorf("matching: merchants near %d places: %w", len(lats), pg.Classify(err))
		}
		for _, r := range rows {
			p := Point{lats[r.I-1], lngs[r.I-1]}
			b.near[p] = append(b.near[p], Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)})
		}
	}
	if len(cats) > 0 {
		top, err := b.pg.TopInCategories(ctx, cats, perCategory)
		if err != nil {
			return nil, err
		}
		for _, m := range top {
			b.byCat[m.Category] = append(b.byCat[m.Category], m)
		}
	}
	return b, nil
}

func (b *batchSource) Tried(ctx context.Context, consumerID uuid.UUID) ([]Tried, error) {
	if t, ok := b.tried[consumerID]; ok {
		return t, nil
	}
	return b.pg.Tried(ctx, consumerID)
}

func (b *batchSource) Neighbors(ctx context.Context, froms []uuid.UUID, per int) ([]Neighbor, error) {
	var out []Neighbor
	for _, f := range froms {
		ns, ok := b.neighbors[f]
		if !ok || per != neighborsPer {
			return b.pg.Neighbors(ctx, froms, per)
		}
		out = append(out, ns...)
	}
	return out, nil
}

func (b *batchSource) Near(ctx context.Context, p Point, radiusM float64, maxRows int) ([]Merchant, error) {
	if ms, ok := b.near[p]; ok && radiusM == b.radiusM && maxRows == nearMax {
		return ms, nil
	}
	return b.pg.Near(ctx, p, radiusM, maxRows)
}

func (b *batchSource) TopInCategories(ctx context.Context, cats []string, per int) ([]Merchant, error) {
	var out []Merchant
	for _, c := range cats {
		ms, ok := b.byCat[c]
		if !ok || per != perCategory {
			return b.pg.TopInCategories(ctx, cats, per)
		}
		out = append(out, ms...)
	}
	return out, nil
}

func (b *batchSource) Popular(ctx context.Context, maxRows int) ([]Merchant, error) {
	if maxRows == popularMax {
		return b.popular, nil
	}
	return b.pg.Popular(ctx, maxRows)
}
