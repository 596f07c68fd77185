package marketing

import (
	"maps"
	"slices"
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
	// from here. Emptied whenever a change is applied.
	leaves leafCache
}

// leafCache is the index's cache of condition results.
type leafCache struct {
	mu sync.Mutex
	m  map[string]*roaring.Bitmap
}

// maxCachedLeaves bounds the cache; it is emptied when full.
const maxCachedLeaves = 512

func (c *leafCache) get(key string) *roaring.Bitmap {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[key]
}

func (c *leafCache) put(key string, b *roaring.Bitmap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedLeaves {
		c.m = map[string]*roaring.Bitmap{}
	}
	c.m[key] = b
}

func (c *leafCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
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

// add sets a member's bits; the member must have none (a fresh index, or after remove).
func (x *Index) add(m *memberFacts) {
	if m.deleted {
		return
	}
	c := m.Seq
	x.all.Add(c)
	x.eqBitmap(keyCity + m.City).Add(c)
	x.eqBitmap(keyGender + m.Gender).Add(c)
	x.eqBitmap(keyTier + m.Tier).Add(c)
	for _, t := range m.Tags {
		x.eqBitmap(keyTag + t).Add(c)
	}
	if m.Cell != "" {
		x.eqBitmap(keyCell + m.Cell).Add(c)
	}
	for _, b := range m.CouponsHeld {
		x.eqBitmap(keyCouponHeld + b).Add(c)
	}
	for _, b := range m.CouponsUnused {
		x.eqBitmap(keyCouponUnused + b).Add(c)
	}
	if m.RFM[0] > 0 {
		x.eqBitmap(keyRFMR + string(rune('0'+m.RFM[0]))).Add(c)
		x.eqBitmap(keyRFMF + string(rune('0'+m.RFM[1]))).Add(c)
		x.eqBitmap(keyRFMM + string(rune('0'+m.RFM[2]))).Add(c)
	}
	x.numIndex(numJoinedDay).setFresh(c, dayOf(m.JoinedAt))
	x.numIndex(numPoints).setFresh(c, uint64(max(m.Points, 0)))
	x.numIndex(numOrders).setFresh(c, uint64(max(m.Orders, 0)))
	x.numIndex(numSpendYuan).setFresh(c, uint64(max(m.SpendFen, 0)/100))
	if m.LastOrderAt != nil {
		x.numIndex(numLastOrderDay).setFresh(c, dayOf(*m.LastOrderAt))
	}
	for cat, at := range m.Categories {
		x.numIndex(numCategory+cat).setFresh(c, dayOf(at))
	}
}

// remove clears every bit of a member.
func (x *Index) remove(seq uint32) {
	if !x.all.Contains(seq) {
		return
	}
	x.all.Remove(seq)
	for _, b := range x.eq {
		b.Remove(seq)
	}
	for _, s := range x.num {
		if s.exists.Contains(seq) {
			s.clear(seq)
		}
	}
}

// apply replaces what the index knows of the given members.
func (x *Index) apply(ms []*memberFacts, change int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(ms) > 0 {
		x.leaves.reset()
	}
	for _, m := range ms {
		x.remove(m.Seq)
		x.add(m)
	}
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
