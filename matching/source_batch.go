package matching

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// batchSource is the ranking's Source for a batch of consumers ranked at once (a batch
// of payments, or the one consumer a refresh ranks): it reads what the ranking of every
// consumer of the batch asks for with one statement per kind of input (five in all,
// however many consumers), then answers each consumer's ranking from memory. It is the
// one way the ranking reads the tables: a refresh is a batch of one, which costs the
// same five statements that reading per consumer did, so there is no second way to
// keep in step. A question it was not prepared for (none in rank today) is an error,
// which TestBatchRanksEachConsumerAsABatchOfOne would show.
type batchSource struct {
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
	b := &batchSource{tried: make(map[uuid.UUID][]Tried, len(consumers)),
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
	popular, err := q.PopularMerchants(ctx, popularMax)
	if err != nil {
		return nil, fmt.Errorf("matching: popular merchants: %w", pg.Classify(err))
	}
	b.popular = make([]Merchant, len(popular))
	for i, r := range popular {
		b.popular[i] = Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)}
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
		rows, err := q.Neighbors(ctx, matchingdb.NeighborsParams{Froms: froms, Per: neighborsPer})
		if err != nil {
			return nil, fmt.Errorf("matching: co-purchases: %w", pg.Classify(err))
		}
		for _, r := range rows {
			b.neighbors[r.FromID] = append(b.neighbors[r.FromID], Neighbor{From: r.FromID, Co: int(r.N),
				Merchant: Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)}})
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
		rows, err := q.TopInCategories(ctx, matchingdb.TopInCategoriesParams{Categories: cats, Per: perCategory})
		if err != nil {
			return nil, fmt.Errorf("matching: merchants by category: %w", pg.Classify(err))
		}
		for _, r := range rows {
			b.byCat[r.Category] = append(b.byCat[r.Category], Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category,
				Lat: r.Lat, Lng: r.Lng, Buyers: int(r.Buyers)})
		}
	}
	return b, nil
}

// errNotRead is a question the batch was not prepared for: a change to rank that
// newBatchSource does not follow yet.
func errNotRead(what string) error {
	return fmt.Errorf("matching: the batch did not read %s for the ranking", what)
}

func (b *batchSource) Tried(_ context.Context, consumerID uuid.UUID) ([]Tried, error) {
	if t, ok := b.tried[consumerID]; ok {
		return t, nil
	}
	return nil, errNotRead("what " + consumerID.String() + " tried")
}

func (b *batchSource) Neighbors(_ context.Context, froms []uuid.UUID, per int) ([]Neighbor, error) {
	var out []Neighbor
	for _, f := range froms {
		ns, ok := b.neighbors[f]
		if !ok || per != neighborsPer {
			return nil, errNotRead(fmt.Sprintf("the %d co-purchases of %s", per, f))
		}
		out = append(out, ns...)
	}
	return out, nil
}

func (b *batchSource) Near(_ context.Context, p Point, radiusM float64, maxRows int) ([]Merchant, error) {
	if ms, ok := b.near[p]; ok && radiusM == b.radiusM && maxRows == nearMax {
		return ms, nil
	}
	return nil, errNotRead(fmt.Sprintf("the %d merchants within %g m of %v", maxRows, radiusM, p))
}

func (b *batchSource) TopInCategories(_ context.Context, cats []string, per int) ([]Merchant, error) {
	var out []Merchant
	for _, c := range cats {
		ms, ok := b.byCat[c]
		if !ok || per != perCategory {
			return nil, errNotRead(fmt.Sprintf("the %d top merchants of %q", per, c))
		}
		out = append(out, ms...)
	}
	return out, nil
}

func (b *batchSource) Popular(_ context.Context, maxRows int) ([]Merchant, error) {
	if maxRows == popularMax {
		return b.popular, nil
	}
	return nil, errNotRead(fmt.Sprintf("the %d most popular merchants", maxRows))
}
