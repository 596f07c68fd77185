package marketing

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// epoch is day 0 of the day-valued attributes (days since, in Asia/Shanghai).
var epoch = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)

// dayBits holds days since epoch up to 2059.
const dayBits = 14

// dayOf is t's business day as a number of days since epoch.
func dayOf(t time.Time) uint64 {
	y, m, d := t.In(shanghai).Date()
	days := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Sub(epoch).Hours() / 24
	if days < 0 {
		return 0
	}
	return uint64(days)
}

// Attribute names of the index: equality bitmaps are "<kind>:<value>", sliced ones
// are named by the constants below (category ones "cat:<category>").
const (
	keyCity         = "city:"
	keyGender       = "gender:"
	keyTier         = "tier:"
	keyTag          = "tag:"
	keyCouponHeld   = "coupon_held:"
	keyCouponUnused = "coupon_unused:"
	keyRFMR         = "rfm_r:"
	keyRFMF         = "rfm_f:"
	keyRFMM         = "rfm_m:"
	keyCell         = "cell:" // where the member buys (places.go)

	numJoinedDay    = "joined_day"
	numLastOrderDay = "last_order_day"
	numPoints       = "points"
	numOrders       = "orders"
	numSpendYuan    = "spend_yuan"
	numCategory     = "cat:" // last order day in a category
)

var numBits = map[string]int{numJoinedDay: dayBits, numLastOrderDay: dayBits, numPoints: 24, numOrders: 16, numSpendYuan: 24}

// memberFacts is what the index knows of one member: their row of marketing.members
// with their categories and coupons.
type memberFacts struct {
	Seq           uint32
	JoinedAt      time.Time
	Gender, City  string
	Tier          string
	Tags          []string
	Points        int64
	Orders        int64
	SpendFen      int64
	LastOrderAt   *time.Time
	RFM           [3]int16
	Categories    map[string]time.Time // category → last order
	CouponsHeld   []string             // batch ids
	CouponsUnused []string
	Cell          string // the grid cell where the member buys; "" unknown
	deleted       bool
}

// Index is the segment index of one process: a bitmap of member seqs per attribute
// value, and bit-sliced integer attributes. Readers share it; apply and swaps take
// the write lock.
type Index struct {
	mu     sync.RWMutex
	all    *roaring.Bitmap
	eq     map[string]*roaring.Bitmap
	num    map[string]*sliced
	change int64 // the last member_changes id applied
	// leaves caches the results of single conditions for the current contents: an
	// operator editing a rule changes one condition at a time, so the others come
	// from here. A change drops only the results that read an attribute it moved.
	leaves leafCache
}

// leafCache is the index's cache of condition results.
type leafCache struct {
	mu sync.Mutex
	m  map[string]cachedLeaf
}

// cachedLeaf is a condition's result and the attribute keys it was computed from
// (a key ending in ':' stands for every value of that attribute).
type cachedLeaf struct {
	b    *roaring.Bitmap
	deps []string
}

// maxCachedLeaves bounds the cache; it is emptied when full.
const maxCachedLeaves = 512

func (c *leafCache) get(key string) *roaring.Bitmap {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key].b
}

func (c *leafCache) put(key string, b *roaring.Bitmap, deps []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedLeaves {
		c.m = map[string]cachedLeaf{}
	}
	c.m[key] = cachedLeaf{b, deps}
}

// invalidate drops the results that read any of the touched attribute keys.
func (c *leafCache) invalidate(touched map[string]bool) {
	if len(touched) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, l := range c.m {
		for _, d := range l.deps {
			if dependsOn(d, touched) {
				delete(c.m, key)
				break
			}
		}
	}
}

func dependsOn(dep string, touched map[string]bool) bool {
	if dep == "" {
		return true
	}
	if !strings.HasSuffix(dep, ":") {
		return touched[dep]
	}
	for k := range touched {
		if strings.HasPrefix(k, dep) {
			return true
		}
	}
	return false
}

// size is how many results are cached (tests).
func (c *leafCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

func newIndex() *Index {
	return &Index{all: roaring.New(), eq: map[string]*roaring.Bitmap{}, num: map[string]*sliced{}}
}

func (x *Index) eqBitmap(key string) *roaring.Bitmap {
	b, ok := x.eq[key]
	if !ok {
		b = roaring.New()
		x.eq[key] = b
	}
	return b
}

func (x *Index) numIndex(key string) *sliced {
	s, ok := x.num[key]
	if !ok {
		bits, known := numBits[key]
		if !known {
			bits = dayBits // category days
		}
		s = newSliced(bits)
		x.num[key] = s
	}
	return s
}

// footprint is where one member's bits are: the equality keys holding them and the
// values of the sliced attributes.
type footprint struct {
	eq  []string
	num map[string]uint64
}

// footprintOf is where a member's facts put their bits.
func footprintOf(m *memberFacts) footprint {
	f := footprint{eq: []string{keyCity + m.City, keyGender + m.Gender, keyTier + m.Tier}, num: map[string]uint64{
		numJoinedDay: dayOf(m.JoinedAt), numPoints: uint64(max(m.Points, 0)), numOrders: uint64(max(m.Orders, 0)),
		numSpendYuan: uint64(max(m.SpendFen, 0) / 100),
	}}
	for _, t := range m.Tags {
		f.eq = append(f.eq, keyTag+t)
	}
	if m.Cell != "" {
		f.eq = append(f.eq, keyCell+m.Cell)
	}
	for _, b := range m.CouponsHeld {
		f.eq = append(f.eq, keyCouponHeld+b)
	}
	for _, b := range m.CouponsUnused {
		f.eq = append(f.eq, keyCouponUnused+b)
	}
	if m.RFM[0] > 0 {
		f.eq = append(f.eq, keyRFMR+string(rune('0'+m.RFM[0])), keyRFMF+string(rune('0'+m.RFM[1])), keyRFMM+string(rune('0'+m.RFM[2])))
	}
	if m.LastOrderAt != nil {
		f.num[numLastOrderDay] = dayOf(*m.LastOrderAt)
	}
	for cat, at := range m.Categories {
		f.num[numCategory+cat] = dayOf(at)
	}
	return f
}

// add sets a member's bits and returns where; the member must have none (a fresh
// index, or after remove).
func (x *Index) add(m *memberFacts) footprint {
	if m.deleted {
		return footprint{}
	}
	f := footprintOf(m)
	x.all.Add(m.Seq)
	for _, k := range f.eq {
		x.eqBitmap(k).Add(m.Seq)
	}
	for k, v := range f.num {
		x.numIndex(k).setFresh(m.Seq, v)
	}
	return f
}

// remove clears every bit of a member and returns where they were.
func (x *Index) remove(seq uint32) footprint {
	var f footprint
	if !x.all.Contains(seq) {
		return f
	}
	x.all.Remove(seq)
	for k, b := range x.eq {
		if b.CheckedRemove(seq) {
			f.eq = append(f.eq, k)
		}
	}
	f.num = map[string]uint64{}
	for k, s := range x.num {
		if s.exists.Contains(seq) {
			f.num[k] = s.value(seq)
			s.clear(seq)
		}
	}
	return f
}

// moved adds to touched the attribute keys where before and after differ.
func moved(before, after footprint, touched map[string]bool) {
	for _, k := range before.eq {
		if !slices.Contains(after.eq, k) {
			touched[k] = true
		}
	}
	for _, k := range after.eq {
		if !slices.Contains(before.eq, k) {
			touched[k] = true
		}
	}
	for k, v := range before.num {
		if w, ok := after.num[k]; !ok || w != v {
			touched[k] = true
		}
	}
	for k := range after.num {
		if _, ok := before.num[k]; !ok {
			touched[k] = true
		}
	}
}

// apply replaces what the index knows of the given members, and drops the cached
// conditions that read an attribute they moved in.
func (x *Index) apply(ms []*memberFacts, change int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	touched := map[string]bool{}
	for _, m := range ms {
		before := x.remove(m.Seq)
		after := x.add(m)
		moved(before, after, touched)
	}
	x.leaves.invalidate(touched)
	if change > x.change {
		x.change = change
	}
}

// Stats are the figures of an index.
type Stats struct {
	Members       uint64 `json:"members"`
	Bitmaps       int    `json:"bitmaps"`
	Bytes         uint64 `json:"bytes"`
	ChangeID      int64  `json:"change_id"`
	SnapshotBytes int64  `json:"snapshot_bytes,omitempty"`
}

func (x *Index) stats() Stats {
	x.mu.RLock()
	defer x.mu.RUnlock()
	st := Stats{Members: x.all.GetCardinality(), Bitmaps: 1 + len(x.eq), Bytes: x.all.GetSizeInBytes(), ChangeID: x.change}
	for _, b := range x.eq {
		st.Bytes += b.GetSizeInBytes()
	}
	for _, s := range x.num {
		st.Bitmaps += len(s.planes) + 1
		st.Bytes += s.sizeBytes()
	}
	return st
}

// values lists the known values of an equality attribute ("tag:" → its tags).
func (x *Index) values(prefix string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	var out []string
	for k := range maps.Keys(x.eq) {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			out = append(out, k[len(prefix):])
		}
	}
	slices.Sort(out)
	return out
}
