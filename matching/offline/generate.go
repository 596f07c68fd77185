// Package offline measures matching's recommenders away from the live system: a
// generator of synthetic but structured purchases, and a held-out evaluation of each
// method against the popularity baseline (tandem bench matching prints both).
//
// The generator's world (Generate), chosen so that each recommender has something real
// to find and none has everything:
//
//   - A city of districts (one per 250 merchants) scattered over a 30 × 34 km box around
//     People's Square; merchants and consumers' homes lie around district centres
//     (Gaussian, σ 1.2 km).
//   - 12 categories. Merchants have a quality drawn from a Pareto law (α 1.2): a few
//     merchants take most orders (popularity skew).
//   - Taste clusters (default 8): each consumer belongs to one. A cluster prefers 3 of the
//     categories (weight 8 each, 1 for the rest) and has favourite merchants (4 % of them,
//     weight ×6): consumers of a cluster buy at the same shops beyond what category and
//     distance explain, which is what co-purchase similarity can learn.
//   - Distance decay: a merchant's weight falls as exp(-d / 2 km) from the consumer's home;
//     a consumer shops in their home district and the three nearest.
//   - Habit: 35 % of orders go back to a merchant the consumer already tried.
//   - Orders per consumer: 1 + a geometric draw around the mean, spread over 180 days.
//
// The order of merchant a consumer tries next is therefore predictable from their taste
// cluster (co-purchase), category (category affinity), home (distance) and the quality
// skew (popularity), each partly.
package offline

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
)

// Spec sizes the synthetic world.
type Spec struct {
	Consumers, Merchants int
	OrdersPerConsumer    float64 // mean; default 8
	Clusters             int     // taste clusters; default 8
	// BoxSide shrinks the city's box (a fraction of each side; default 1): a scaled-down
	// world at the full world's density of shops and homes has each consumer's
	// neighbourhood as crowded as at full size, so its costs scale linearly.
	BoxSide float64
	Seed    uint64
}

// Order is one synthetic paid order.
type Order struct {
	Consumer, Merchant uuid.UUID
	AmountFen          int64
	At                 time.Time
}

// Data is a purchase record: merchants and orders, oldest first.
type Data struct {
	Merchants []matching.ModelMerchant
	Orders    []Order
}

// Categories are the synthetic merchants' categories.
var Categories = []string{"restaurant", "cafe", "bakery", "hotpot", "noodles", "bbq", "tea", "dessert", "fastfood", "seafood", "vegetarian", "bar"}

const (
	centreLat, centreLng = 31.2304, 121.4737
	spreadDeg            = 0.0108 // σ ≈ 1.2 km
	decayM               = 2000
	habit                = 0.35
	favouriteShare       = 0.04
	favouriteBoost       = 6
	preferredWeight      = 8
	paretoAlpha          = 1.2
	neighbourDistricts   = 3
)

// uuidFrom makes a stable id from the generator's random stream.
func uuidFrom(r *rand.Rand) uuid.UUID {
	var u uuid.UUID
	for i := 0; i < 16; i += 8 {
		v := r.Uint64()
		for j := range 8 {
			u[i+j] = byte(v >> (8 * j))
		}
	}
	u[6] = (u[6] & 0x0f) | 0x40
	u[8] = (u[8] & 0x3f) | 0x80
	return u
}

// Generate makes a synthetic purchase record (see the package comment). The same Spec
// gives the same data.
func Generate(sp Spec) Data {
	if sp.OrdersPerConsumer <= 0 {
		sp.OrdersPerConsumer = 8
	}
	if sp.Clusters <= 0 {
		sp.Clusters = 8
	}
	if sp.BoxSide <= 0 || sp.BoxSide > 1 {
		sp.BoxSide = 1
	}
	r := rand.New(rand.NewPCG(sp.Seed, 0x7a6d))
	nd := max(4, sp.Merchants/250)
	type district struct{ lat, lng float64 }
	ds := make([]district, nd)
	for i := range ds {
		ds[i] = district{centreLat + (r.Float64()-0.5)*0.27*sp.BoxSide, centreLng + (r.Float64()-0.5)*0.36*sp.BoxSide}
	}
	// The nearest districts of each (itself first).
	near := make([][]int, nd)
	for i := range ds {
		idx := make([]int, nd)
		for j := range idx {
			idx[j] = j
		}
		d := func(j int) float64 { return math.Hypot(ds[i].lat-ds[j].lat, ds[i].lng-ds[j].lng) }
		sort.Slice(idx, func(a, b int) bool { return d(idx[a]) < d(idx[b]) })
		near[i] = idx[:min(nd, 1+neighbourDistricts)]
	}
	// Clusters: preferred categories and favourite merchants.
	catPref := make([][]float64, sp.Clusters)
	for c := range catPref {
		catPref[c] = make([]float64, len(Categories))
		for k := range catPref[c] {
			catPref[c][k] = 1
		}
		for _, k := range r.Perm(len(Categories))[:3] {
			catPref[c][k] = preferredWeight
		}
	}
	data := Data{Merchants: make([]matching.ModelMerchant, sp.Merchants)}
	quality := make([]float64, sp.Merchants)
	catOf := make([]int, sp.Merchants)
	favourite := make([][]bool, sp.Clusters)
	for c := range favourite {
		favourite[c] = make([]bool, sp.Merchants)
	}
	byDistrict := make([][]int, nd)
	for i := range data.Merchants {
		d := r.IntN(nd)
		catOf[i] = r.IntN(len(Categories))
		quality[i] = math.Pow(1-r.Float64(), -1/paretoAlpha) // Pareto, minimum 1
		data.Merchants[i] = matching.ModelMerchant{Live: true, Merchant: matching.Merchant{ID: uuidFrom(r),
			Name: Categories[catOf[i]] + "-" + uuidFrom(r).String()[:6], Category: Categories[catOf[i]],
			Lat: ds[d].lat + r.NormFloat64()*spreadDeg, Lng: ds[d].lng + r.NormFloat64()*spreadDeg*1.17}}
		byDistrict[d] = append(byDistrict[d], i)
		for c := range favourite {
			favourite[c][i] = r.Float64() < favouriteShare
		}
	}
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var cand []int
	var cum []float64
	for range sp.Consumers {
		id := uuidFrom(r)
		cluster := r.IntN(sp.Clusters)
		home := r.IntN(nd)
		lat, lng := ds[home].lat+r.NormFloat64()*spreadDeg, ds[home].lng+r.NormFloat64()*spreadDeg*1.17
		cand, cum = cand[:0], cum[:0]
		total := 0.0
		for _, d := range near[home] {
			for _, i := range byDistrict[d] {
				m := data.Merchants[i]
				dist := math.Hypot((m.Lat-lat)*111_000, (m.Lng-lng)*95_000)
				w := quality[i] * catPref[cluster][catOf[i]] * math.Exp(-dist/decayM)
				if favourite[cluster][i] {
					w *= favouriteBoost
				}
				total += w
				cand = append(cand, i)
				cum = append(cum, total)
			}
		}
		if total == 0 {
			continue
		}
		n := 1 + int(math.Floor(math.Log(1-r.Float64())/math.Log(1-1/sp.OrdersPerConsumer)))
		var tried []int
		for range n {
			var m int
			if len(tried) > 0 && r.Float64() < habit {
				m = tried[r.IntN(len(tried))]
			} else {
				m = cand[sort.SearchFloat64s(cum, r.Float64()*total)]
				if !slices.Contains(tried, m) {
					tried = append(tried, m)
				}
			}
			data.Orders = append(data.Orders, Order{Consumer: id, Merchant: data.Merchants[m].ID,
				AmountFen: 1000 + r.Int64N(20_000), At: start.Add(time.Duration(r.Int64N(int64(180 * 24 * time.Hour))))})
		}
	}
	slices.SortFunc(data.Orders, func(a, b Order) int { return a.At.Compare(b.At) })
	return data
}

// Pairs aggregates orders into what each consumer bought at each merchant.
func Pairs(orders []Order) []matching.Pair {
	type key struct{ c, m uuid.UUID }
	at := map[key]int{}
	var out []matching.Pair
	for _, o := range orders {
		k := key{o.Consumer, o.Merchant}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, matching.Pair{Consumer: o.Consumer, Merchant: o.Merchant, Orders: 1, LastAt: o.At})
			continue
		}
		out[i].Orders++
		if o.At.After(out[i].LastAt) {
			out[i].LastAt = o.At
		}
	}
	slices.SortFunc(out, func(a, b matching.Pair) int { return cmp.Compare(a.LastAt.UnixNano(), b.LastAt.UnixNano()) })
	return out
}

// PaidOrders are the orders as matching imports them, each with a fresh order id.
func (d Data) PaidOrders() []matching.PaidOrder {
	out := make([]matching.PaidOrder, len(d.Orders))
	for i, o := range d.Orders {
		out[i] = matching.PaidOrder{OrderID: uuid.Must(uuid.NewV7()), Consumer: o.Consumer, Merchant: o.Merchant, AmountFen: o.AmountFen, PaidAt: o.At}
	}
	return out
}

// FromRecord is the data of a record matching exported (Service.Export).
func FromRecord(merchants []matching.ModelMerchant, orders []matching.PaidOrder) Data {
	d := Data{Merchants: merchants, Orders: make([]Order, len(orders))}
	for i, o := range orders {
		d.Orders[i] = Order{Consumer: o.Consumer, Merchant: o.Merchant, AmountFen: o.AmountFen, At: o.PaidAt}
	}
	slices.SortStableFunc(d.Orders, func(a, b Order) int { return a.At.Compare(b.At) })
	return d
}
