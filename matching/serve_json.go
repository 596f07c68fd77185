package matching

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
)

// The served list's JSON, written once per list: the serving cache (serve_cache.go)
// keeps each consumer's list as the bytes the API answers with, not as Recommendations.
// Profiled under 64 clients over loopback, encoding/json at each request was a third of
// the API process's CPU per request for top 20, and a cache of lists as Go values
// (strings, slices of reasons: a dozen pointers per recommendation) is what the
// collector has to mark at each cycle: with 22,000 lists, a quarter to half a second of
// one of the two cores, every few seconds, which is where the requests' tail was. Bytes
// hold no pointers, so the collector does not look inside them, and a request only
// copies a prefix of them. The bytes themselves are encoding/json's, written when a
// list is loaded (a miss, or after a change), never per request: by hand they took
// about 40 µs of CPU per top-20 list against encoding/json's 70 µs
// (BenchmarkNewServedList), too little beside the PostgreSQL read of a miss to be
// worth a second JSON encoder to keep right.

// servedList is a consumer's list as served: each recommendation's JSON object as
// encoding/json writes it, comma separated, and where each one ends, so the first n are
// a prefix.
type servedList struct {
	items []byte
	ends  []int32 // ends[i]: where recommendation i's object ends in items
}

func newServedList(recs []Recommendation) (*servedList, error) {
	l := &servedList{ends: make([]int32, len(recs))}
	var b bytes.Buffer
	enc := json.NewEncoder(&b) // escapes HTML as json.Marshal does
	for i := range recs {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := enc.Encode(&recs[i]); err != nil { // a NaN or infinite score or distance
			return nil, fmt.Errorf("matching: recommendation %d of a served list: %w", i+1, err)
		}
		b.Truncate(b.Len() - 1) // the Encoder's newline
		l.ends[i] = int32(b.Len())
	}
	l.items = slices.Clip(b.Bytes())
	return l, nil
}

// len is how many recommendations the list holds.
func (l *servedList) len() int { return len(l.ends) }

// appendJSON appends {"items": the first n recommendations} as encoding/json writes it.
func (l *servedList) appendJSON(b []byte, n int) []byte {
	b = append(b, `{"items":[`...)
	if n = min(n, len(l.ends)); n > 0 {
		b = append(b, l.items[:l.ends[n-1]]...)
	}
	return append(b, "]}"...)
}

// recommendations decodes the first n recommendations (the console's and other
// callers' form; the API writes the bytes as they are).
func (l *servedList) recommendations(n int) ([]Recommendation, error) {
	b := l.appendJSON(make([]byte, 0, 16+len(l.items)), n)
	var out struct {
		Items []Recommendation `json:"items"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("matching: a served list: %w", err)
	}
	return out.Items, nil
}

var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}
