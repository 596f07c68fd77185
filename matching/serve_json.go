package matching

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// The served list's JSON, written without reflection, once per list: the serving cache
// (serve_cache.go) keeps each consumer's list as the bytes the API answers with, not as
// Recommendations. Profiled under 64 clients over loopback, encoding/json was a third of
// the API process's CPU per request for top 20; writing the same bytes by hand at each
// request still cost a tenth. And a cache of lists as Go values (strings, slices of
// reasons: a dozen pointers per recommendation) is what the collector has to mark at
// each cycle: with 22,000 lists, a quarter to half a second of one of the two cores,
// every few seconds, which is where the requests' tail was. Bytes hold no pointers, so
// the collector does not look inside them. This writes the same bytes as encoding/json
// (serve_json_test.go holds it to that, HTML escaping and float forms included).

// servedList is a consumer's list as served: each recommendation's JSON object as
// encoding/json writes it, comma separated, and where each one ends, so the first n are
// a prefix.
type servedList struct {
	items []byte
	ends  []int32 // ends[i]: where recommendation i's object ends in items
}

func newServedList(recs []Recommendation) *servedList {
	l := &servedList{ends: make([]int32, len(recs))}
	var b []byte
	for i := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRecommendation(b, &recs[i])
		l.ends[i] = int32(len(b))
	}
	l.items = slices.Clip(b)
	return l
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

func appendRecommendation(b []byte, r *Recommendation) []byte {
	b = append(b, `{"merchant_id":"`...)
	b = append(b, r.MerchantID.String()...)
	b = append(b, `","rank":`...)
	b = strconv.AppendInt(b, int64(r.Rank), 10)
	b = append(b, `,"name":`...)
	b = appendJSONString(b, r.Name)
	b = append(b, `,"category":`...)
	b = appendJSONString(b, r.Category)
	b = append(b, `,"distance_m":`...)
	b = appendJSONFloat(b, r.DistanceM)
	b = append(b, `,"score":`...)
	b = appendJSONFloat(b, r.Score)
	b = append(b, `,"reasons":`...)
	if r.Reasons == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, re := range r.Reasons {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"kind":`...)
			b = appendJSONString(b, re.Kind)
			if re.Detail != "" {
				b = append(b, `,"detail":`...)
				b = appendJSONString(b, re.Detail)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"cold_start":`...)
	b = strconv.AppendBool(b, r.ColdStart)
	b = append(b, `,"computed_at":"`...)
	b = r.ComputedAt.AppendFormat(b, time.RFC3339Nano)
	return append(b, `"}`...)
}

// appendJSONFloat writes f as encoding/json does (ES6 number form).
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s quoted as encoding/json does: HTML characters, control
// characters, U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
