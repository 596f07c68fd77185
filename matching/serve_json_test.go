package matching

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The served JSON is byte for byte what encoding/json writes of the same list, of each
// prefix of it (?limit=), and decodes to it: names in Chinese, with quotes, backslashes,
// HTML and control characters, invalid UTF-8, U+2028, floats large, small, negative and
// whole, no reasons and empty reasons, times with and without nanoseconds. A score that
// is not a number is refused rather than served as JSON no client can read.
func TestServedJSONIsEncodingJSONs(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 6, 19, 20, 0, 123456789, time.UTC)
	recs := []Recommendation{
		{MerchantID: uuid.New(), Rank: 1, Name: "南翔小笼 Nanxiang", Category: "restaurant", DistanceM: 1234.5678, Score: 0.8123456789,
			Reasons: []Reason{{Kind: ReasonPopular}, {Kind: "co_purchase", Detail: "小杨生煎 <b>&\"x\"\\"}}, ComputedAt: at},
		{MerchantID: uuid.New(), Rank: 2, Name: "a\nb\tc\rd\x01\x1f\b\f", Category: "bad \xff utf8 \u2028 \u2029 é", DistanceM: 0, Score: 1e-7,
			Reasons: nil, ColdStart: true, ComputedAt: at.Truncate(time.Second)},
		{MerchantID: uuid.New(), Rank: 3, Name: "", Category: "", DistanceM: 1e21, Score: -2.5e-12, Reasons: []Reason{}, ComputedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CST", 8*3600))},
		{MerchantID: uuid.Nil, Rank: 20, Name: "x", Category: "y", DistanceM: 123456789012, Score: math.SmallestNonzeroFloat64, ComputedAt: at},
	}
	type answer struct {
		Items []Recommendation `json:"items"`
	}
	l, err := newServedList(recs)
	if err != nil {
		t.Fatal(err)
	}
	if l.len() != len(recs) {
		t.Fatalf("the list holds %d, not %d", l.len(), len(recs))
	}
	for n := 0; n <= len(recs)+1; n++ {
		want, err := json.Marshal(answer{recs[:min(n, len(recs))]})
		if err != nil {
			t.Fatal(err)
		}
		if got := l.appendJSON([]byte("kept"), n); string(got) != "kept"+string(want) {
			t.Errorf("first %d:\n got %s\nwant %s", n, got, want)
		}
		// Decoded, the list is what encoding/json reads back from its own bytes.
		var back answer
		if err := json.Unmarshal(want, &back); err != nil {
			t.Fatal(err)
		}
		got, err := l.recommendations(n)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, back.Items) {
			t.Errorf("first %d decoded:\n got %+v\nwant %+v", n, got, back.Items)
		}
	}
}

// BenchmarkNewServedList is the cost of keeping a top-20 list as served JSON: paid once
// per list loaded into the serving cache (a miss, or after a change), never per request.
func BenchmarkNewServedList(b *testing.B) {
	at := time.Date(2026, 12, 6, 19, 20, 0, 123456789, time.UTC)
	recs := make([]Recommendation, 20)
	for i := range recs {
		recs[i] = Recommendation{MerchantID: uuid.New(), Rank: i + 1, Name: "南翔小笼包 第" + string(rune('A'+i)) + "分店", Category: "restaurant",
			DistanceM: 1234.5678 + float64(i), Score: 0.8123456789 / float64(i+1),
			Reasons: []Reason{{Kind: "co_purchase", Detail: "小杨生煎"}, {Kind: "category", Detail: "restaurant"}, {Kind: "distance"}}, ComputedAt: at}
	}
	b.ReportAllocs()
	for b.Loop() {
		if l, err := newServedList(recs); err != nil || l.len() != 20 {
			b.Fatal(err)
		}
	}
}

func TestServedListRefusesANaNScore(t *testing.T) {
	t.Parallel()
	recs := []Recommendation{{MerchantID: uuid.New(), Rank: 1, Name: "x", Score: 0.5}, {MerchantID: uuid.New(), Rank: 2, Name: "y", Score: math.NaN()}}
	if l, err := newServedList(recs); err == nil {
		t.Fatalf("a NaN score served as %s", l.appendJSON(nil, 2))
	}
}
