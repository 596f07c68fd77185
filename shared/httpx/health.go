package httpx

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Check is one dependency /readyz probes, or (Detail) one state it reports without
// judging it, such as the outbox's undelivered count.
type Check struct {
	Name   string
	Probe  func(ctx context.Context) error        // nil: nothing to probe
	Detail func(ctx context.Context) (any, error) // nil: nothing to report; never fails readiness
}

// Health mounts GET /healthz (the process answers) and GET /readyz (every check passes
// within 2 s; otherwise 503 naming the ones that failed). Checks run at every request
// and hold no state, so readiness recovers by itself when a dependency returns.
func Health(r gin.IRoutes, checks ...Check) {
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
		defer cancel()
		results := make(map[string]string, len(checks))
		details := map[string]any{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, ch := range checks {
			wg.Go(func() {
				if ch.Probe != nil {
					status := "ok"
					if err := ch.Probe(ctx); err != nil {
						status = "down: " + err.Error()
					}
					mu.Lock()
					results[ch.Name] = status
					mu.Unlock()
				}
				if ch.Detail != nil {
					d, err := ch.Detail(ctx)
					if err != nil {
						d = "unavailable: " + err.Error()
					}
					mu.Lock()
					details[ch.Name] = d
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		var down []string
		for name, s := range results {
			if s != "ok" {
				down = append(down, name)
			}
		}
		if len(down) == 0 {
			body := gin.H{"status": "ok", "checks": results}
			if len(details) > 0 {
				body["detail"] = details
			}
			c.JSON(http.StatusOK, body)
			return
		}
		sort.Strings(down)
		Render(c, errs.E(errs.KindUnavailable, "not_ready", "not ready: "+strings.Join(down, ", ")+" unavailable"))
	})
}

// CachedDetail wraps a Detail that costs a query (the outbox backlog) so that /readyz
// runs it at most once per ttl however often it is probed: a probe within ttl of the
// last run gets that run's answer, and concurrent probes after it share one new run.
// A failed run is not kept, so the next probe tries again.
func CachedDetail(ttl time.Duration, now func() time.Time, detail func(ctx context.Context) (any, error)) func(ctx context.Context) (any, error) {
	var mu sync.Mutex
	var value any
	var at time.Time
	return func(ctx context.Context) (any, error) {
		mu.Lock()
		defer mu.Unlock()
		if !at.IsZero() && now().Sub(at) < ttl {
			return value, nil
		}
		v, err := detail(ctx)
		if err != nil {
			return nil, err
		}
		value, at = v, now()
		return v, nil
	}
}
