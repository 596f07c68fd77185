package httpx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

func do(e http.Handler, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	return w
}

func errorOf(t *testing.T, w *httptest.ResponseRecorder) httpx.ErrorObject {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q, body %s", ct, w.Body)
	}
	var b httpx.ErrorBody
	if err := json.Unmarshal(w.Body.Bytes(), &b); err != nil {
		t.Fatalf("not the error object: %s", w.Body)
	}
	if b.Error.RequestID == "" || b.Error.RequestID != w.Header().Get(httpx.RequestIDHeader) {
		t.Fatalf("request id %q vs header %q", b.Error.RequestID, w.Header().Get(httpx.RequestIDHeader))
	}
	return b.Error
}

type createReq struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func (r createReq) Validate() error {
	if r.Name == "" {
		return errs.Invalidf("name", "name is required")
	}
	return nil
}

func engine(t *testing.T, logs *bytes.Buffer) *gin.Engine {
	log := slog.New(slog.NewJSONHandler(logs, nil))
	e := httpx.New(httpx.Options{Log: log, BodyLimit: 64})
	e.GET("/panic", func(*gin.Context) { panic("secret detail in panic") })
	e.GET("/fail", httpx.Handler(func(*gin.Context) error {
		return fmt.Errorf("loading: %w", errors.New("password=hunter2 connection refused"))
	}))
	e.POST("/things", httpx.Handler(func(c *gin.Context) error {
		var r createReq
		if err := httpx.BindJSON(c, &r); err != nil {
			return err
		}
		c.JSON(201, r)
		return nil
	}))
	return e
}

func TestErrorsAreAlwaysTheErrorObject(t *testing.T) {
	var logs bytes.Buffer
	e := engine(t, &logs)
	cases := []struct {
		name, method, path, body string
		status                   int
		code, field              string
	}{
		{"unknown route", "GET", "/nope", "", 404, "route_not_found", ""},
		{"wrong method", "DELETE", "/things", "", 405, "method_not_allowed", ""},
		{"panic", "GET", "/panic", "", 500, "internal", ""},
		{"internal error", "GET", "/fail", "", 500, "internal", ""},
		{"too large", "POST", "/things", `{"name":"` + strings.Repeat("x", 100) + `"}`, 413, "body_too_large", ""},
		{"malformed", "POST", "/things", `{"name":`, 400, "invalid_json", ""},
		{"wrong type", "POST", "/things", `{"name":"a","count":"many"}`, 400, "invalid_input", "count"},
		{"unknown field", "POST", "/things", `{"name":"a","colour":1}`, 400, "unknown_field", "colour"},
		{"rule", "POST", "/things", `{"count":1}`, 400, "invalid_input", "name"},
		{"empty", "POST", "/things", ``, 400, "invalid_body", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := do(e, c.method, c.path, c.body)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			got := errorOf(t, w)
			if got.Code != c.code || got.Field != c.field {
				t.Fatalf("got %+v, want code %s field %q", got, c.code, c.field)
			}
			if strings.Contains(w.Body.String(), "secret") || strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "goroutine") {
				t.Fatalf("internal detail leaked: %s", w.Body)
			}
		})
	}
	if !strings.Contains(logs.String(), "secret detail in panic") || !strings.Contains(logs.String(), "hunter2") {
		t.Errorf("the causes must be in the log: %s", logs.String())
	}
	w := do(e, "POST", "/things", `{"name":"a","count":2}`)
	if w.Code != 201 {
		t.Fatalf("valid request: %d %s", w.Code, w.Body)
	}
}

func TestRequestIDIsKeptOrMade(t *testing.T) {
	var logs bytes.Buffer
	e := engine(t, &logs)
	w := do(e, "GET", "/nope", "", httpx.RequestIDHeader, "abc-12345678")
	if got := w.Header().Get(httpx.RequestIDHeader); got != "abc-12345678" {
		t.Fatalf("kept id: %q", got)
	}
	w = do(e, "GET", "/nope", "", httpx.RequestIDHeader, "bad\nid forged log line")
	if got := w.Header().Get(httpx.RequestIDHeader); len(got) != 36 {
		t.Fatalf("a malformed id must be replaced: %q", got)
	}
}

func TestReadyzNamesWhatIsDown(t *testing.T) {
	var redisUp atomic.Bool
	e := httpx.New(httpx.Options{})
	httpx.Health(e,
		httpx.Check{Name: "postgres", Probe: func(context.Context) error { return nil }},
		httpx.Check{Name: "redis", Probe: func(context.Context) error {
			if redisUp.Load() {
				return nil
			}
			return errors.New("connection refused")
		}})
	w := do(e, "GET", "/readyz", "")
	if w.Code != 503 || !strings.Contains(errorOf(t, w).Message, "redis") || strings.Contains(errorOf(t, w).Message, "postgres") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	redisUp.Store(true)
	if w := do(e, "GET", "/readyz", ""); w.Code != 200 {
		t.Fatalf("recovered: %d %s", w.Code, w.Body)
	}
	if w := do(e, "GET", "/healthz", ""); w.Code != 200 {
		t.Fatalf("healthz: %d", w.Code)
	}
}

func TestIdempotencyKey(t *testing.T) {
	db := pgtest.New(t)
	var runs atomic.Int32
	release := make(chan struct{})
	e := httpx.New(httpx.Options{})
	idem := &httpx.Idempotency{DB: db, Caller: func(c *gin.Context) string { return c.GetHeader("X-Caller") }}
	e.POST("/pay", idem.Middleware(), httpx.Handler(func(c *gin.Context) error {
		n := runs.Add(1)
		if c.Query("slow") != "" {
			<-release
		}
		if c.Query("fail") != "" {
			return errs.E(errs.KindUnavailable, "down", "down")
		}
		c.JSON(201, gin.H{"run": n})
		return nil
	}))
	key := func(k string) []string { return []string{httpx.IdempotencyHeader, k, "X-Caller", "alice"} }

	first := do(e, "POST", "/pay", `{"amount":"1.00"}`, key("k1")...)
	again := do(e, "POST", "/pay", `{"amount":"1.00"}`, key("k1")...)
	if first.Code != 201 || again.Code != 201 || first.Body.String() != again.Body.String() || runs.Load() != 1 {
		t.Fatalf("replay: %d %s / %d %s, runs %d", first.Code, first.Body, again.Code, again.Body, runs.Load())
	}
	if again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay not marked")
	}
	other := do(e, "POST", "/pay", `{"amount":"2.00"}`, key("k1")...)
	if other.Code != 422 || errorOf(t, other).Code != "idempotency.key_reused" || runs.Load() != 1 {
		t.Fatalf("different body: %d %s", other.Code, other.Body)
	}
	// The same key from another caller is another key.
	bob := do(e, "POST", "/pay", `{"amount":"2.00"}`, httpx.IdempotencyHeader, "k1", "X-Caller", "bob")
	if bob.Code != 201 || runs.Load() != 2 {
		t.Fatalf("other caller: %d", bob.Code)
	}
	// A failed (5xx) answer is not kept: the retry runs again.
	if w := do(e, "POST", "/pay?fail=1", `{}`, key("k2")...); w.Code != 503 {
		t.Fatalf("fail: %d", w.Code)
	}
	if w := do(e, "POST", "/pay?fail=1", `{}`, key("k2")...); w.Code != 503 || runs.Load() != 4 {
		t.Fatalf("retry after 5xx must run again: %d runs %d", w.Code, runs.Load())
	}
	// Ten concurrent requests with one key: one runs, the others get 409 while it runs.
	var wg sync.WaitGroup
	codes := make(chan int, 10)
	go func() {
		codes <- do(e, "POST", "/pay?slow=1", `{"x":1}`, key("k3")...).Code
	}()
	time.Sleep(100 * time.Millisecond)
	for range 9 {
		wg.Add(1)
		go func() { defer wg.Done(); codes <- do(e, "POST", "/pay?slow=1", `{"x":1}`, key("k3")...).Code }()
	}
	wg.Wait()
	close(release)
	counts := map[int]int{}
	for range 10 {
		counts[<-codes]++
	}
	if counts[201] != 1 || counts[409] != 9 {
		t.Fatalf("concurrent: %v", counts)
	}
	if w := do(e, "POST", "/pay?slow=1", `{"x":1}`, key("k3")...); w.Code != 201 || w.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("after the first finished: %d", w.Code)
	}
	if w := do(e, "POST", "/pay", `{}`, httpx.IdempotencyHeader, strings.Repeat("x", 300)); w.Code != 400 || errorOf(t, w).Field != httpx.IdempotencyHeader {
		t.Fatalf("long key: %d %s", w.Code, w.Body)
	}
}
