package matching

import (
	"cmp"
	"math"
	"slices"

	"github.com/tandemcrm/tandem/merchant"
)

// rankHybrid is rank(…, MethodHybrid, k) on a Model for the consumer of index c, for
// the rebuild: the same candidates, the same arithmetic in the same order and the same
// order of the result (TestModelRankHybridIsRank holds them equal), but on int32
// indexes with a worker's scratch arrays instead of maps keyed by uuid, and a top-k
// selection instead of sorting every candidate. That is what makes a rebuild of a
// million consumers minutes rather than an hour.
func (m *Model) rankHybrid(sc *rankScratch, cfg Config, c int32, k int) []Scored {
	sc.reset(m)
	tried := m.triedOf(c)
	cold := len(tried) == 0
	for _, t := range tried {
		sc.tried[t.m] = sc.gen
	}
	maxBuyers := 1
	if len(m.popular) > 0 {
		maxBuyers = max(1, m.merchants[m.popular[0]].Buyers)
	}
	logMax := math.Log1p(float64(maxBuyers))
	for _, i := range m.popular[:min(popularMax, len(m.popular))] {
		sc.add(i)
	}
	// position and affinity, as rank computes them.
	var pos Point
	n := 0
	for _, t := range tried {
		mm := &m.merchants[t.m]
		if mm.Live && (mm.Lat != 0 || mm.Lng != 0) {
			pos.Lat += mm.Lat
			pos.Lng += mm.Lng
			n++
		}
	}
	located := n > 0
	if located {
		pos = Point{pos.Lat / float64(n), pos.Lng / float64(n)}
	}
	best := 0.0
	for _, t := range tried {
		cat := m.catOf[t.m]
		if m.cats[cat] == "" {
			continue
		}
		if sc.affSet[cat] != sc.gen {
			sc.affSet[cat], sc.aff[cat] = sc.gen, 0
			sc.affCats = append(sc.affCats, cat)
		}
		sc.aff[cat] += float64(max(1, t.orders))
		best = max(best, sc.aff[cat])
	}
	for _, cat := range sc.affCats {
		sc.aff[cat] /= best
	}

	for _, t := range tried[:min(recentTried, len(tried))] {
		from := &m.merchants[t.m]
		got := 0
		for _, nb := range m.nbrs[t.m] {
			if got == neighborsPer {
				break
			}
			if !m.merchants[nb.m].Live {
				continue
			}
			got++
			if !sc.add(nb.m) {
				continue
			}
			sim := float64(nb.co) / math.Sqrt(float64(max(1, from.Buyers))*float64(max(1, m.merchants[nb.m].Buyers)))
			sc.co[nb.m] += sim
			if sim > sc.coBest[nb.m] {
				sc.coBest[nb.m], sc.coFrom[nb.m] = sim, t.m
			}
		}
	}
	if located {
		sc.hits = m.near(pos, cfg.RadiusM, nearMax, sc.hits)
		for _, h := range sc.hits {
			if sc.add(h.i) {
				sc.dist[h.i], sc.distSet[h.i] = h.d, sc.gen
			}
		}
	}
	if len(sc.affCats) > 0 {
		cats := slices.Clone(sc.affCats)
		slices.SortFunc(cats, func(a, b int32) int {
			return cmp.Or(cmp.Compare(sc.aff[b], sc.aff[a]), cmp.Compare(m.cats[a], m.cats[b]))
		})
		for _, cat := range cats[:min(topCategories, len(cats))] {
			ids := m.byCat[cat]
			for _, i := range ids[:min(len(ids), perCategory)] {
				sc.add(i)
			}
		}
	}

	maxCo := 0.0
	for _, i := range sc.cands {
		maxCo = max(maxCo, sc.co[i])
	}
	// The k best by (score desc, buyers desc, id asc), kept sorted as they come.
	top := sc.top[:0]
	better := func(a, b scoredIdx) bool {
		if a.score != b.score {
			return a.score > b.score
		}
		ba, bb := m.merchants[a.i].Buyers, m.merchants[b.i].Buyers
		if ba != bb {
			return ba > bb
		}
		return m.idOrder[a.i] < m.idOrder[b.i]
	}
	for _, i := range sc.cands {
		mm := &m.merchants[i]
		cd := candidate{co: sc.co[i]}
		cd.pop = m.logBuyers[i] / logMax
		if sc.affSet[m.catOf[i]] == sc.gen {
			cd.cat = sc.aff[m.catOf[i]]
		}
		if located {
			cd.distM = sc.dist[i]
			if sc.distSet[i] != sc.gen {
				cd.distM = merchant.DistanceM(pos.Lat, pos.Lng, mm.Lat, mm.Lng)
			}
			cd.dist = math.Exp(-cd.distM / cfg.DistanceScaleM)
		}
		if maxCo > 0 {
			cd.co /= maxCo
		}
		s := scoredIdx{i: i, score: cd.score(MethodHybrid, cfg.Weights, cold), c: cd}
		if len(top) == k && !better(s, top[k-1]) {
			continue
		}
		at, _ := slices.BinarySearchFunc(top, s, func(x, y scoredIdx) int {
			if better(x, y) {
				return -1
			}
			return 1
		})
		if len(top) < k {
			top = slices.Insert(top, at, s)
		} else {
			copy(top[at+1:], top[at:k-1])
			top[at] = s
		}
	}
	sc.top = top
	out := make([]Scored, len(top))
	for j, s := range top {
		cd := s.c
		cd.Merchant = m.merchants[s.i].Merchant
		if sc.coFrom[s.i] >= 0 {
			cd.coFrom = m.merchants[sc.coFrom[s.i]].Name
		}
		out[j] = Scored{Merchant: cd.Merchant, Score: s.score, DistanceM: cd.distM, Reasons: cd.reasons(MethodHybrid, cold)}
	}
	return out
}

type scoredIdx struct {
	i     int32
	score float64
	c     candidate
}

// rankScratch is one worker's scratch for rankHybrid, sized to the model's merchants;
// a generation stamp instead of clearing the arrays between consumers.
type rankScratch struct {
	gen          uint32
	tried, cand  []uint32 // merchant: tried, a candidate (at gen)
	distSet      []uint32 // merchant: dist holds its distance (at gen)
	dist         []float64
	co, coBest   []float64
	coFrom       []int32
	cands        []int32
	affSet       []uint32 // category: has an affinity (at gen)
	aff          []float64
	affCats      []int32
	hits         []hit
	top          []scoredIdx
	merchantsFor *Model
}

func (sc *rankScratch) reset(m *Model) {
	if sc.merchantsFor != m {
		nm := len(m.merchants)
		*sc = rankScratch{tried: make([]uint32, nm), cand: make([]uint32, nm), distSet: make([]uint32, nm), dist: make([]float64, nm),
			co: make([]float64, nm), coBest: make([]float64, nm),
			coFrom: make([]int32, nm), affSet: make([]uint32, len(m.cats)), aff: make([]float64, len(m.cats)), merchantsFor: m}
	}
	sc.gen++
	if sc.gen == 0 { // wrapped: forget every stamp
		clear(sc.tried)
		clear(sc.cand)
		clear(sc.distSet)
		clear(sc.affSet)
		sc.gen = 1
	}
	sc.cands, sc.affCats = sc.cands[:0], sc.affCats[:0]
}

// add makes merchant i a candidate unless tried; false when tried.
func (sc *rankScratch) add(i int32) bool {
	if sc.tried[i] == sc.gen {
		return false
	}
	if sc.cand[i] != sc.gen {
		sc.cand[i] = sc.gen
		sc.co[i], sc.coBest[i], sc.coFrom[i] = 0, 0, -1
		sc.cands = append(sc.cands, i)
	}
	return true
}
