package matching

import (
	"cmp"
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
)

// The rebuild's ranking on int32 indexes (rankHybrid) is the served and evaluated
// ranking (rank over the Model as a Source), consumer by consumer: the same merchants,
// scores, distances and reasons in the same order, for consumers who bought much, little
// or nothing, with merchants not live and without categories among them.
func TestModelRankHybridIsRank(t *testing.T) {
	t.Parallel()
	m := syntheticModel(t)
	cfg := Config{}.withDefaults()
	ctx := context.Background()
	var sc rankScratch
	for c, id := range m.consumers {
		want, _, err := rank(ctx, m, cfg, id, MethodHybrid, 20)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.rankHybrid(&sc, cfg, int32(c), 20); !reflect.DeepEqual(got, want) {
			t.Fatalf("consumer %d:\n got %+v\nwant %+v", c, got, want)
		}
	}
	// Someone the model does not know gets the popular list either way.
	want, _, _ := rank(ctx, m, cfg, uuid.New(), MethodHybrid, 20)
	if len(want) != 20 || want[0].Reasons[0].Kind != ReasonPopular {
		t.Fatalf("cold start: %+v", want)
	}
}

// syntheticModel is a small world with what the ranking must get right: dense and
// sparse places, merchants not live or without a category, consumers with more than
// basketCap merchants tried, and equal purchase times (ties).
func syntheticModel(t *testing.T) *Model {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	cats := []string{"cafe", "bbq", "tea", "", "noodles"}
	merchants := make([]ModelMerchant, 1500) // 500 a place: the nearest 200 are found before the radius
	for i := range merchants {
		centre := [][2]float64{{31.23, 121.47}, {31.30, 121.50}, {31.10, 121.30}}[r.IntN(3)]
		merchants[i] = ModelMerchant{Live: r.IntN(10) > 0, Merchant: Merchant{ID: uuid.New(), Name: fmt.Sprintf("m%d", i),
			Category: cats[r.IntN(len(cats))], Lat: centre[0] + r.NormFloat64()*0.01, Lng: centre[1] + r.NormFloat64()*0.01}}
	}
	merchants[0].Lat, merchants[0].Lng = 0, 0 // no place told
	base := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	var pairs []Pair
	for c := range 1500 {
		id := uuid.New()
		n := 1 + r.IntN(12)
		if c%50 == 0 {
			n = 70 // past the basket's cap
		}
		for _, i := range r.Perm(len(merchants))[:n] {
			pairs = append(pairs, Pair{Consumer: id, Merchant: merchants[i].ID, Orders: r.IntN(4),
				LastAt: base.Add(time.Duration(r.IntN(30)) * 24 * time.Hour)})
		}
	}
	pairs = append(pairs, Pair{Consumer: uuid.New(), Merchant: uuid.New(), Orders: 1, LastAt: base}) // a merchant not listed
	return NewModel(merchants, pairs)
}

// The grid's ring search finds the nearest live shops as reading every shop would:
// in crowded places (it stops early), sparse ones and with a radius smaller than a cell.
func TestModelNearIsTheNearest(t *testing.T) {
	t.Parallel()
	m := syntheticModel(t)
	r := rand.New(rand.NewPCG(3, 3))
	stoppedEarly := 0
	for range 300 {
		p := Point{31.10 + r.Float64()*0.25, 121.25 + r.Float64()*0.3} // anywhere, or near a crowded place
		if r.IntN(2) == 0 {
			p = Point{31.23 + r.NormFloat64()*0.01, 121.47 + r.NormFloat64()*0.01}
		}
		for _, radius := range []float64{5000, 1500, 150} {
			var want []hit
			for i, mm := range m.merchants {
				if d := merchant.DistanceM(p.Lat, p.Lng, mm.Lat, mm.Lng); mm.Live && d <= radius {
					want = append(want, hit{int32(i), d})
				}
			}
			slices.SortFunc(want, func(a, b hit) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.i, b.i)) })
			want = want[:min(len(want), 200)]
			got := m.near(p, radius, 200, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("near %v within %.0f m: got %d, want %d", p, radius, len(got), len(want))
			}
			if len(want) == 200 && want[199].d < radius/2 {
				stoppedEarly++
			}
		}
	}
	if stoppedEarly < 30 {
		t.Fatalf("only %d searches in crowded places", stoppedEarly)
	}
}
