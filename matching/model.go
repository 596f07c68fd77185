package matching

import (
	"cmp"
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
// here and in the incremental update (AddConsumerMerchantWithOthers): a consumer's last 50 shops say
// enough about their taste, and the pairs stay linear in consumers.
const basketCap = 50

// maxNeighbors is how many co-purchase partners a Model (and a rebuild) keeps per merchant.
const maxNeighbors = 50

// Model is every input of the ranking in memory: the nightly rebuild ranks every consumer
// from one, and the offline evaluation trains one on the purchases before a cut. It is
// read-only once built, so goroutines share it.
//
// It is compact so that a rebuild of a million consumers fits and runs in minutes:
// merchants and consumers are int32 indexes, each consumer's merchants tried are a
// range of one array (most recent first), and co-purchase counts are made per merchant
// in a dense counter array over the consumers who bought there, not in maps.
type Model struct {
	merchants []ModelMerchant
	idx       map[uuid.UUID]int32
	idOrder   []int32   // each merchant's place in id order: the ranking's last tie-break
	logBuyers []float64 // log1p(buyers), for the popularity signal
	catOf     []int32   // each merchant's category, an index of cats
	cats      []string
	consumers []uuid.UUID // in id order
	cidx      map[uuid.UUID]int32
	triedAt   []int32    // consumer i's merchants tried are tried[triedAt[i]:triedAt[i+1]]
	tried     []triedRef // most recent first
	nbrs      [][]nbr    // strongest first
	byCat     [][]int32  // per category: live, most buyers first
	popular   []int32    // live, most buyers first
	grid      map[cell][]int32
}

type triedRef struct {
	m      int32
	orders int32
	last   int64 // unix nanoseconds
}

type nbr struct{ m, co int32 }

type cell struct{ lat, lng int32 }

// cellDeg is the side of a grid cell: about 280 m of latitude, so that the nearest
// shops of a crowded district are found in a few cells.
const cellDeg = 0.0025

func cellOf(lat, lng float64) cell {
	return cell{int32(math.Floor(lat / cellDeg)), int32(math.Floor(lng / cellDeg))}
}

// modelBuilder collects merchants and pairs (from a slice or streamed from PostgreSQL)
// into flat arrays, then builds the Model.
type modelBuilder struct {
	m        *Model
	pc, pm   []int32 // each pair's consumer and merchant
	orders   []int32
	last     []int64
	catIndex map[string]int32
}

func newModelBuilder(merchants []ModelMerchant, pairsHint int) *modelBuilder {
	m := &Model{idx: make(map[uuid.UUID]int32, len(merchants)), cidx: map[uuid.UUID]int32{}, grid: map[cell][]int32{}}
	b := &modelBuilder{m: m, catIndex: map[string]int32{}, pc: make([]int32, 0, pairsHint), pm: make([]int32, 0, pairsHint),
		orders: make([]int32, 0, pairsHint), last: make([]int64, 0, pairsHint)}
	for _, mm := range merchants {
		mm.Buyers = 0
		b.merchant(mm)
	}
	return b
}

func (b *modelBuilder) merchant(mm ModelMerchant) int32 {
	m := b.m
	i := int32(len(m.merchants))
	m.idx[mm.ID] = i
	m.merchants = append(m.merchants, mm)
	c, ok := b.catIndex[mm.Category]
	if !ok {
		c = int32(len(m.cats))
		b.catIndex[mm.Category] = c
		m.cats = append(m.cats, mm.Category)
	}
	m.catOf = append(m.catOf, c)
	return i
}

// pair adds what a consumer bought at a merchant; a merchant not listed becomes known
// but not live.
func (b *modelBuilder) pair(consumer, merchantID uuid.UUID, orders int32, last int64) {
	m := b.m
	i, ok := m.idx[merchantID]
	if !ok {
		i = b.merchant(ModelMerchant{Merchant: Merchant{ID: merchantID}})
	}
	c, ok := m.cidx[consumer]
	if !ok {
		c = int32(len(m.consumers))
		m.cidx[consumer] = c
		m.consumers = append(m.consumers, consumer)
	}
	b.pc, b.pm, b.orders, b.last = append(b.pc, c), append(b.pm, i), append(b.orders, orders), append(b.last, last)
}

// NewModel builds a model from merchants and what consumers bought. Buyers are counted
// from the pairs; a pair at a merchant not listed makes it known but not live.
func NewModel(merchants []ModelMerchant, pairs []Pair) *Model {
	b := newModelBuilder(merchants, len(pairs))
	for _, p := range pairs {
		b.pair(p.Consumer, p.Merchant, int32(p.Orders), p.LastAt.UnixNano())
	}
	return b.build()
}

func (b *modelBuilder) build() *Model {
	m := b.m
	nm, nc := len(m.merchants), len(m.consumers)
	// Consumers in id order (Consumers, and the rebuild's batches).
	order := make([]int32, nc)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(x, y int32) int { return slices.Compare(m.consumers[x][:], m.consumers[y][:]) })
	rank := make([]int32, nc)
	sorted := make([]uuid.UUID, nc)
	for r, c := range order {
		rank[c], sorted[r] = int32(r), m.consumers[c]
		m.cidx[m.consumers[c]] = int32(r)
	}
	m.consumers = sorted
	// Each consumer's merchants tried as a range of one array (a counting sort).
	m.triedAt = make([]int32, nc+1)
	for i := range b.pc {
		b.pc[i] = rank[b.pc[i]]
		m.triedAt[b.pc[i]+1]++
	}
	for c := range nc {
		m.triedAt[c+1] += m.triedAt[c]
	}
	fill := slices.Clone(m.triedAt[:nc])
	m.tried = make([]triedRef, len(b.pc))
	for i, c := range b.pc {
		m.tried[fill[c]] = triedRef{m: b.pm[i], orders: b.orders[i], last: b.last[i]}
		fill[c]++
		m.merchants[b.pm[i]].Buyers++
	}
	b.pc, b.pm, b.orders, b.last = nil, nil, nil, nil
	parallel(nc, func(c int) {
		ts := m.triedOf(int32(c))
		slices.SortFunc(ts, func(a, b triedRef) int { return cmp.Or(cmp.Compare(b.last, a.last), cmp.Compare(a.m, b.m)) })
	})
	// Who bought where, among each consumer's basket (their basketCap most recent).
	buyersAt := make([]int32, nm+1)
	for c := range nc {
		for _, t := range m.basket(int32(c)) {
			buyersAt[t.m+1]++
		}
	}
	for i := range nm {
		buyersAt[i+1] += buyersAt[i]
	}
	buyers := make([]int32, buyersAt[nm])
	fill = slices.Clone(buyersAt[:nm])
	for c := range nc {
		for _, t := range m.basket(int32(c)) {
			buyers[fill[t.m]] = int32(c)
			fill[t.m]++
		}
	}
	// Co-purchase counts, merchant by merchant in parallel: a dense counter per worker
	// over the baskets of the merchant's buyers, then its strongest maxNeighbors.
	m.nbrs = make([][]nbr, nm)
	counters := sync.Pool{New: func() any { c := make([]int32, nm); return &c }}
	parallel(nm, func(a int) {
		pc := counters.Get().(*[]int32)
		defer counters.Put(pc)
		cnt := *pc
		var touched []int32
		for _, c := range buyers[buyersAt[a]:buyersAt[a+1]] {
			for _, t := range m.basket(c) {
				if int(t.m) == a {
					continue
				}
				if cnt[t.m] == 0 {
					touched = append(touched, t.m)
				}
				cnt[t.m]++
			}
		}
		ns := make([]nbr, len(touched))
		for i, x := range touched {
			ns[i] = nbr{m: x, co: cnt[x]}
			cnt[x] = 0
		}
		slices.SortFunc(ns, func(x, y nbr) int { return cmp.Or(cmp.Compare(y.co, x.co), cmp.Compare(x.m, y.m)) })
		m.nbrs[a] = slices.Clip(ns[:min(len(ns), maxNeighbors)])
	})
	m.idOrder = make([]int32, nm)
	m.logBuyers = make([]float64, nm)
	byID := make([]int32, nm)
	for i := range byID {
		byID[i] = int32(i)
		m.logBuyers[i] = math.Log1p(float64(m.merchants[i].Buyers))
	}
	slices.SortFunc(byID, func(x, y int32) int { return slices.Compare(m.merchants[x].ID[:], m.merchants[y].ID[:]) })
	for r, i := range byID {
		m.idOrder[i] = int32(r)
	}
	m.byCat = make([][]int32, len(m.cats))
	for i, mm := range m.merchants {
		if !mm.Live {
			continue
		}
		m.popular = append(m.popular, int32(i))
		m.byCat[m.catOf[i]] = append(m.byCat[m.catOf[i]], int32(i))
		c := cellOf(mm.Lat, mm.Lng)
		m.grid[c] = append(m.grid[c], int32(i))
	}
	byBuyers := func(a, b int32) int {
		return cmp.Or(cmp.Compare(m.merchants[b].Buyers, m.merchants[a].Buyers), cmp.Compare(m.idOrder[a], m.idOrder[b]))
	}
	slices.SortFunc(m.popular, byBuyers)
	for _, ids := range m.byCat {
		slices.SortFunc(ids, byBuyers)
	}
	return m
}

// parallel calls fn(i) for i in [0, n) on every core, in chunks.
func parallel(n int, fn func(i int)) {
	const chunk = 256
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= n {
					return
				}
				for i := start; i < min(start+chunk, n); i++ {
					fn(i)
				}
			}
		}()
	}
	wg.Wait()
}

func (m *Model) triedOf(c int32) []triedRef { return m.tried[m.triedAt[c]:m.triedAt[c+1]] }

func (m *Model) basket(c int32) []triedRef {
	ts := m.triedOf(c)
	return ts[:min(len(ts), basketCap)]
}

// Consumers are the consumers who bought something, in id order.
func (m *Model) Consumers() []uuid.UUID { return slices.Clone(m.consumers) }

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
	c, ok := m.cidx[consumerID]
	if !ok {
		return nil, nil
	}
	ts := m.triedOf(c)
	out := make([]Tried, len(ts))
	for i, t := range ts {
		out[i] = Tried{Merchant: m.merchant(t.m), Live: m.merchants[t.m].Live, Orders: int(t.orders), LastAt: time.Unix(0, t.last).UTC()}
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

type hit struct {
	i int32
	d float64
}

// near is the maxRows live merchants nearest p within radiusM, nearest first (ties by
// index), appended to hits[:0]. It searches the grid in rings of cells around p and
// stops once maxRows merchants are nearer than anything outside the rings searched, so
// its cost follows how many shops are near, not how many lie within the radius.
func (m *Model) near(p Point, radiusM float64, maxRows int, hits []hit) []hit {
	hits = hits[:0]
	const earthRadiusM = 6_371_000
	rad := math.Pi / 180
	maxLat := int32(math.Ceil(radiusM / 111_000 / cellDeg))
	maxLng := int32(math.Ceil(radiusM / (111_000 * math.Max(0.1, math.Cos(p.Lat*rad))) / cellDeg))
	c := cellOf(p.Lat, p.Lng)
	scan := func(la, ln int32) {
		for _, i := range m.grid[cell{la, ln}] {
			mm := &m.merchants[i]
			if d := merchant.DistanceM(p.Lat, p.Lng, mm.Lat, mm.Lng); d <= radiusM {
				hits = append(hits, hit{i, d})
			}
		}
	}
	byDistance := func(a, b hit) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.i, b.i)) }
	for r := int32(0); ; r++ {
		// Ring r: the cells r away in latitude or longitude (those inside were searched
		// before), within the square the radius spans.
		rl, rn := min(r, maxLat), min(r, maxLng)
		if r == 0 {
			scan(c.lat, c.lng)
		}
		if r > 0 && r <= maxLat {
			for ln := c.lng - rn; ln <= c.lng+rn; ln++ {
				scan(c.lat-r, ln)
				scan(c.lat+r, ln)
			}
		}
		if r > 0 && r <= maxLng {
			from, to := c.lat-maxLat, c.lat+maxLat
			if r <= maxLat {
				from, to = c.lat-r+1, c.lat+r-1
			}
			for la := from; la <= to; la++ {
				scan(la, c.lng-r)
				scan(la, c.lng+r)
			}
		}
		if r >= maxLat && r >= maxLng {
			break
		}
		if len(hits) < maxRows {
			continue
		}
		// Everything outside the cells searched is at least covered metres away: by
		// latitude (outside the band), or by longitude at the band's widest latitude.
		// Past the full square nothing counts (a cell the whole search would not read).
		latIn := math.Min(p.Lat-float64(c.lat-rl)*cellDeg, float64(c.lat+rl+1)*cellDeg-p.Lat)
		lngIn := math.Min(p.Lng-float64(c.lng-rn)*cellDeg, float64(c.lng+rn+1)*cellDeg-p.Lng)
		band := math.Max(math.Abs(float64(c.lat-rl)*cellDeg), math.Abs(float64(c.lat+rl+1)*cellDeg))
		covered := math.Inf(1)
		if r < maxLat {
			covered = earthRadiusM * latIn * rad
		}
		if r < maxLng {
			covered = math.Min(covered, 2*earthRadiusM*math.Asin(math.Min(1, math.Cos(math.Min(89, band)*rad)*math.Sin(lngIn*rad/2))))
		}
		inside := 0
		for _, h := range hits {
			if h.d < covered*0.999 {
				inside++
			}
		}
		if inside >= maxRows {
			break
		}
	}
	slices.SortFunc(hits, byDistance)
	return hits[:min(len(hits), maxRows)]
}

// Near implements Source.
func (m *Model) Near(_ context.Context, p Point, radiusM float64, maxRows int) ([]Merchant, error) {
	hits := m.near(p, radiusM, maxRows, nil)
	out := make([]Merchant, 0, len(hits))
	for _, h := range hits {
		out = append(out, m.merchant(h.i))
	}
	return out, nil
}

// TopInCategories implements Source.
func (m *Model) TopInCategories(_ context.Context, cats []string, per int) ([]Merchant, error) {
	var out []Merchant
	for _, c := range cats {
		ci := slices.Index(m.cats, c)
		if ci < 0 {
			continue
		}
		ids := m.byCat[ci]
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
