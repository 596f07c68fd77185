package wxsim

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Fault kinds the control API accepts.
const (
	// Notification faults, applied to the next notification(s).
	FaultDrop      = "drop"      // never delivered: the merchant must query
	FaultDelay     = "delay"     // first delivery waits Delay
	FaultDuplicate = "duplicate" // delivered Times more after it succeeded
	FaultReorder   = "reorder"   // held until the next notification went out
	FaultSignTest  = "signtest"  // a SIGNTEST probe (bad signature) is sent first
	FaultFail      = "fail"      // the first Times delivery attempts are not sent (timeouts)

	// API faults, applied to the next request(s) under Path.
	FaultAPIError         = "api_error"         // answer Status/Code instead
	FaultAPIDelay         = "api_delay"         // answer after Delay
	FaultResponseSignTest = "response_signtest" // answer signed with a SIGNTEST probe
)

// Fault is one injected fault.
type Fault struct {
	Kind       string   `json:"kind"`
	Count      int      `json:"count,omitempty"`        // how many notifications or requests [1]
	Times      int      `json:"times,omitempty"`        // duplicate: extra deliveries; fail: failed attempts [1]
	Delay      Duration `json:"delay,omitempty"`        // delay, api_delay
	OutTradeNo string   `json:"out_trade_no,omitempty"` // notifications of this order only
	Path       string   `json:"path,omitempty"`         // API faults: path prefix ["/v3/"]
	Status     int      `json:"status,omitempty"`       // api_error [500]
	Code       string   `json:"code,omitempty"`         // api_error [SYSTEM_ERROR]
	Message    string   `json:"message,omitempty"`      // api_error [系统错误]
}

func (f *Fault) normalize() error {
	if f.Count <= 0 {
		f.Count = 1
	}
	if f.Times <= 0 {
		f.Times = 1
	}
	switch f.Kind {
	case FaultDrop, FaultDelay, FaultDuplicate, FaultReorder, FaultSignTest, FaultFail:
	case FaultAPIError:
		if f.Status == 0 {
			f.Status = 500
		}
		if f.Code == "" {
			f.Code = "SYSTEM_ERROR"
		}
		if f.Message == "" {
			f.Message = "系统错误"
		}
	case FaultAPIDelay, FaultResponseSignTest:
	default:
		return fmt.Errorf("unknown fault kind %q", f.Kind)
	}
	if f.Path == "" {
		f.Path = "/v3/"
	}
	return nil
}

func (f *Fault) isAPI() bool {
	return f.Kind == FaultAPIError || f.Kind == FaultAPIDelay || f.Kind == FaultResponseSignTest
}

// faults is the queue of pending faults, consumed in the order they were added.
type faults struct {
	mu   sync.Mutex
	list []*Fault
}

func (q *faults) add(f Fault) error {
	if err := f.normalize(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = append(q.list, &f)
	return nil
}

func (q *faults) clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.list = nil
}

func (q *faults) pending() []Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Fault, len(q.list))
	for i, f := range q.list {
		out[i] = *f
	}
	return out
}

// take consumes one use of every matching fault (of each kind, the first).
func (q *faults) take(match func(*Fault) bool) []Fault {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Fault
	seen := map[string]bool{}
	kept := q.list[:0]
	for _, f := range q.list {
		if !seen[f.Kind] && match(f) {
			seen[f.Kind] = true
			out = append(out, *f)
			f.Count--
		}
		if f.Count > 0 {
			kept = append(kept, f)
		}
	}
	q.list = kept
	return out
}

func (q *faults) takeNotify(outTradeNo string) []Fault {
	return q.take(func(f *Fault) bool {
		return !f.isAPI() && (f.OutTradeNo == "" || f.OutTradeNo == outTradeNo)
	})
}

// takeAPI returns the first API fault for path, if any.
func (q *faults) takeAPI(path string) *Fault {
	var got *Fault
	q.take(func(f *Fault) bool {
		if got == nil && f.isAPI() && strings.HasPrefix(path, f.Path) {
			c := *f
			got = &c
			return true
		}
		return false
	})
	return got
}

// Duration is a time.Duration written as "1.5s" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}
