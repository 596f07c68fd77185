package matching

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
)

// Pair is what a consumer bought at a merchant, as a Model learns it.
type Pair struct {
	Consumer, Merchant uuid.UUID
	Orders             int
	LastAt             time.Time
}

// ModelMerchant is a merchant a Model knows; only live ones are recommended.
type ModelMerchant struct {
	Merchant
	Live bool
}

// basketCap is how many of a consumer's most recent merchants make co-purchase pairs,
// here and in the incremental update (OtherMerchantsOf): a consumer's last 50 shops say
// enough about their taste, and the pairs stay linear in consumers.
const basketCap = 50

// maxNeighbors is how many co-purchase partners a Model (and a rebuild) keeps per merchant.
const maxNeighbors = 50

// Model is every input of the ranking in memory: the nightly rebuild ranks every consumer
// from one, and the offline evaluation trains one on the purchases before a cut. It is
// read-only once built, so goroutines share it.
type Model struct {
	merchants []ModelMerchant
	idx       map[uuid.UUID]int32
	tried     map[uuid.UUID][]triedRef // most recent first
	nbrs      [][]nbr                  // strongest first
	byCat     map[string][]int32       // live, most buyers first
	popular   []int32                  // live, most buyers first
	grid      map[cell][]int32         // live merchants by cell
}

type triedRef struct {
	m      int32
	orders int32
	last   time.Time
}

type nbr struct{ m, co int32 }

type cell struct{ lat, lng int32 }

// cellDeg is the side of a grid cell: about 1.1 km of latitude.
const cellDeg = 0.01

func cellOf(lat, lng float64) cell {
	return cell{int32(math.Floor(lat / cellDeg)), int32(math.Floor(lng / cellDeg))}
}

// NewModel builds a model from merchants and what consumers bought. Buyers are counted
// from the pairs; a pair at a merchant not listed makes it known but not live.
func NewModel(merchants []ModelMerchant, pairs []Pair) *Model {
	m := &Model{idx: make(map[uuid.UUID]int32, len(merchants)), tried: map[uuid.UUID][]triedRef{},
		byCat: map[string][]int32{}, grid: map[cell][]int32{}}
	for _, mm := range merchants {
		mm.Buyers = 0
		m.idx[mm.ID] = int32(len(m.merchants))
		m.merchants = append(m.merchants, mm)
	}
	for _, p := range pairs {
		i, ok := m.idx[p.Merchant]
		if !ok {
			i = int32(len(m.merchants))
			m.idx[p.Merchant] = i
			m.merchants = append(m.merchants, ModelMerchant{Merchant: Merchant{ID: p.Merchant}})
		}
		m.merchants[i].Buyers++
		m.tried[p.Consumer] = append(m.tried[p.Consumer], triedRef{m: i, orders: int32(p.Orders), last: p.LastAt})
	}
	baskets := make([][]triedRef, 0, len(m.tried))
	for c, ts := range m.tried {
		slices.SortFunc(ts, func(a, b triedRef) int { return cmp.Or(b.last.Compare(a.last), cmp.Compare(a.m, b.m)) })
		m.tried[c] = ts
		baskets = append(baskets, ts[:min(len(ts), basketCap)])
	}
	// Co-purchase counts, one goroutine per core: each counts the rows of the merchants
	// it owns (a % workers), so no two write the same map.
	co := make([]map[int32]int32, len(m.merchants))
	workers := max(1, min(runtime.GOMAXPROCS(0), 8))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, basket := range baskets {
				for _, a := range basket {
					if int(a.m)%workers != w {
						continue
					}
					if co[a.m] == nil {
						co[a.m] = map[int32]int32{}
					}
					for _, b := range basket {
						if b.m != a.m {
							co[a.m][b.m]++
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	m.nbrs = make([][]nbr, len(m.merchants))
	for a, row := range co {
		ns := make([]nbr, 0, len(row))
		for b, n := range row {
			ns = append(ns, nbr{m: b, co: n})
		}
		slices.SortFunc(ns, func(x, y nbr) int { return cmp.Or(cmp.Compare(y.co, x.co), cmp.Compare(x.m, y.m)) })
		m.nbrs[a] = ns[:min(len(ns), maxNeighbors)]
	}
	for i, mm := range m.merchants {
		if !mm.Live {
			continue
		}
		m.popular = append(m.popular, int32(i))
		m.byCat[mm.Category] = append(m.byCat[mm.Category], int32(i))
		c := cellOf(mm.Lat, mm.Lng)
		m.grid[c] = append(m.grid[c], int32(i))
	}
	byBuyers := func(a, b int32) int {
		return cmp.Or(cmp.Compare(m.merchants[b].Buyers, m.merchants[a].Buyers), slices.Compare(m.merchants[a].ID[:], m.merchants[b].ID[:]))
	}
	slices.SortFunc(m.popular, byBuyers)
	for _, ids := range m.byCat {
		slices.SortFunc(ids, byBuyers)
	}
	return m
}

// Consumers are the consumers who bought something.
func (m *Model) Consumers() []uuid.UUID {
	out := make([]uuid.UUID, 0, len(m.tried))
	for c := range m.tried {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return out
}

// CoPurchases calls fn with each merchant's strongest co-purchase partners.
func (m *Model) CoPurchases(fn func(a, b uuid.UUID, n int) error) error {
	for a, ns := range m.nbrs {
		for _, n := range ns {
			if err := fn(m.merchants[a].ID, m.merchants[n.m].ID, int(n.co)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Rank ranks merchants for a consumer by a method (cfg's zero values take the defaults).
func (m *Model) Rank(ctx context.Context, cfg Config, consumerID uuid.UUID, method Method, k int) ([]Scored, error) {
	out, _, err := rank(ctx, m, cfg.withDefaults(), consumerID, method, k)
	return out, err
}

func (m *Model) merchant(i int32) Merchant { return m.merchants[i].Merchant }

// Tried implements Source.
func (m *Model) Tried(_ context.Context, consumerID uuid.UUID) ([]Tried, error) {
	ts := m.tried[consumerID]
	out := make([]Tried, len(ts))
	for i, t := range ts {
		out[i] = Tried{Merchant: m.merchant(t.m), Live: m.merchants[t.m].Live, Orders: int(t.orders), LastAt: t.last}
	}
	return out, nil
}

// Neighbors implements Source.
func (m *Model) Neighbors(_ context.Context, froms []uuid.UUID, per int) ([]Neighbor, error) {
	var out []Neighbor
	for _, f := range froms {
		i, ok := m.idx[f]
		if !ok {
			continue
		}
		n := 0
		for _, nb := range m.nbrs[i] {
			if n == per {
				break
			}
			if m.merchants[nb.m].Live {
				out = append(out, Neighbor{From: f, Merchant: m.merchant(nb.m), Co: int(nb.co)})
				n++
			}
		}
	}
	return out, nil
}

// Near implements Source.
func (m *Model) Near(_ context.Context, p Point, radiusM float64, maxRows int) ([]Merchant, error) {
	type hit struct {
		i int32
		d float64
	}
	var hits []hit
	dLat := int32(math.Ceil(radiusM / 111_000 / cellDeg))
	dLng := int32(math.Ceil(radiusM / (111_000 * math.Max(0.1, math.Cos(p.Lat*math.Pi/180))) / cellDeg))
	c := cellOf(p.Lat, p.Lng)
	for la := c.lat - dLat; la <= c.lat+dLat; la++ {
		for ln := c.lng - dLng; ln <= c.lng+dLng; ln++ {
			for _, i := range m.grid[cell{la, ln}] {
				mm := m.merchants[i]
				if d := merchant.DistanceM(p.Lat, p.Lng, mm.Lat, mm.Lng); d <= radiusM {
					hits = append(hits, hit{i, d})
				}
			}
		}
	}
	slices.SortFunc(hits, func(a, b hit) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.i, b.i)) })
	out := make([]Merchant, 0, min(len(hits), maxRows))
	for _, h := range hits[:min(len(hits), maxRows)] {
		out = append(out, m.merchant(h.i))
	}
	return out, nil
}

// TopInCategories implements Source.
func (m *Model) TopInCategories(_ context.Context, cats []string, per int) ([]Merchant, error) {
	var out []Merchant
	for _, c := range cats {
		ids := m.byCat[c]
		for _, i := range ids[:min(len(ids), per)] {
			out = append(out, m.merchant(i))
		}
	}
	return out, nil
}

// Popular implements Source.
func (m *Model) Popular(_ context.Context, maxRows int) ([]Merchant, error) {
	out := make([]Merchant, 0, min(maxRows, len(m.popular)))
	for _, i := range m.popular[:min(maxRows, len(m.popular))] {
		out = append(out, m.merchant(i))
	}
	return out, nil
}
