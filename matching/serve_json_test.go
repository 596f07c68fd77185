package matching

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The served JSON is byte for byte what encoding/json writes of the same list: names
// in Chinese, HTML and control characters, invalid UTF-8, U+2028, floats large, small,
// negative and whole, no reasons and empty reasons, times with and without nanoseconds.
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
	for n := 0; n <= len(recs); n++ {
		want, err := json.Marshal(struct {
			Items []Recommendation `json:"items"`
		}{recs[:n]})
		if err != nil {
			t.Fatal(err)
		}
		got, release := recommendationsJSON(recs[:n])
		if string(got) != string(want) {
			t.Errorf("%d items:\n got %s\nwant %s", n, got, want)
		}
		release()
	}
}
