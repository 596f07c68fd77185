package httpx_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// /readyz runs a costly detail (a backlog query on the real PostgreSQL here) at most
// once per TTL, however many probes come at once; after the TTL it runs again, and a
// failed run is not kept.
func TestReadyzRunsACachedDetailOncePerTTL(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	var runs atomic.Int32
	var fail atomic.Bool
	detail := func(ctx context.Context) (any, error) {
		runs.Add(1)
		if fail.Load() {
			return nil, errors.New("backlog query failed")
		}
		var n int
		err := db.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity").Scan(&n)
		return map[string]int{"run": int(runs.Load())}, err
	}
	e := httpx.New(httpx.Options{})
	httpx.Health(e, httpx.Check{Name: "outbox", Detail: httpx.CachedDetail(5*time.Second, clock, detail)})
	probe := func() int {
		w := do(e, "GET", "/readyz", "")
		if w.Code != 200 {
			t.Errorf("readyz %d %s", w.Code, w.Body)
			return 0
		}
		var body struct {
			Detail struct {
				Outbox struct{ Run int } `json:"outbox"`
			} `json:"detail"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
			t.Error(err)
		}
		return body.Detail.Outbox.Run
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { probe() })
	}
	wg.Wait()
	if n := runs.Load(); n != 1 {
		t.Fatalf("50 probes at once ran the detail %d times, want 1", n)
	}
	advance(4 * time.Second)
	if got := probe(); got != 1 || runs.Load() != 1 {
		t.Fatalf("within the TTL: answer of run %d, %d runs", got, runs.Load())
	}
	advance(2 * time.Second)
	if got := probe(); got != 2 {
		t.Fatalf("after the TTL: answer of run %d, want 2", got)
	}
	advance(6 * time.Second)
	fail.Store(true)
	if w := do(e, "GET", "/readyz", ""); w.Code != 200 { // reported as unavailable, not kept
		t.Fatalf("a failed detail fails readiness: %d", w.Code)
	}
	fail.Store(false)
	if got := probe(); got != 4 {
		t.Fatalf("after a failed run: answer of run %d, want 4 (the failure is not cached)", got)
	}
}
