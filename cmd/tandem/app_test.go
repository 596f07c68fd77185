package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"gopkg.in/yaml.v3"

	"github.com/tandemcrm/tandem/shared/config"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// testApp is the whole application on its own database and Redis database.
func testApp(t testing.TB) *app {
	t.Helper()
	url, _ := pgtest.NewDatabase(t, migrationSets()...)
	r := redistest.New(t)
	cfg, err := config.Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DatabaseURL, cfg.RedisURL = url, r.URL()
	a, err := openApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if err := pg.Migrate(context.Background(), a.db, migrationSets()...); err != nil {
		t.Fatal(err)
	}
	// A WeChat Pay account of the simulator's kind, made for this test; no simulator
	// runs unless a test starts one, so calls to WeChat fail as unreachable.
	keys := t.TempDir()
	if _, _, err := wxsim.LoadOrCreateKeys(keys, wxsim.DevMchID); err != nil {
		t.Fatal(err)
	}
	a.cfg.WxpayKeys = keys
	if err := a.openPayments(context.Background()); err != nil {
		t.Fatal(err)
	}
	return a
}

func get(t *testing.T, h http.Handler, path string) (*http.Response, string) {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
	res := w.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestPlatformEndpoints(t *testing.T) {
	a := testApp(t)
	h := a.router()
	if res, body := get(t, h, "/healthz"); res.StatusCode != 200 {
		t.Fatalf("healthz %d %s", res.StatusCode, body)
	}
	if res, body := get(t, h, "/readyz"); res.StatusCode != 200 || !strings.Contains(body, `"postgres":"ok"`) || !strings.Contains(body, `"redis":"ok"`) ||
		!strings.Contains(body, `"outbox":{"undelivered":0,"oldest_undelivered_seconds":0}`) {
		t.Fatalf("readyz %d %s", res.StatusCode, body)
	}
	// A task on a queue, so the asynq collector has a queue to report.
	c := asynq.NewClient(a.queue)
	if _, err := c.Enqueue(asynq.NewTask("probe", nil)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	res, body := get(t, h, "/metrics")
	for _, m := range []string{"tandem_http_request_duration_seconds", "tandem_pgx_pool_acquired_conns", "tandem_outbox_backlog", "tandem_outbox_lag_seconds", "asynq_queue_size{queue=\"default\"} 1"} {
		if res.StatusCode != 200 || !strings.Contains(body, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if res, body := get(t, h, "/api/openapi.yaml"); res.StatusCode != 200 || !strings.HasPrefix(body, "openapi: 3") {
		t.Fatalf("openapi %d", res.StatusCode)
	}
	res, body = get(t, h, "/api/v1/no-such-thing")
	var e struct {
		Error struct {
			Code      string `json:"code"`
			RequestID string `json:"request_id"`
		} `json:"error"`
	}
	if res.StatusCode != 404 || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != "route_not_found" || e.Error.RequestID == "" {
		t.Fatalf("unknown route: %d %s", res.StatusCode, body)
	}
}

// With Redis gone, /readyz answers 503 and names Redis (not PostgreSQL).
func TestReadyzNamesRedisWhenDown(t *testing.T) {
	a := testApp(t)
	a.redis.Close()
	a.redis = redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	res, body := get(t, a.router(), "/readyz")
	if res.StatusCode != 503 || !strings.Contains(body, "redis") || strings.Contains(body, "postgres unavailable") {
		t.Fatalf("readyz with Redis down: %d %s", res.StatusCode, body)
	}
}

// The OpenAPI document lists exactly the routes the router serves.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	a := testApp(t)
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	param := regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)
	served := map[string]bool{}
	for _, r := range a.router().Routes() {
		if strings.HasPrefix(r.Path, "/admin/queues") || strings.HasPrefix(r.Path, "/assets") || !isAPIRoute(r.Path) {
			continue
		}
		served[r.Method+" "+param.ReplaceAllString(r.Path, "{$1}")] = true
	}
	var missing, extra []string
	for k := range served {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !served[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Fatalf("OpenAPI out of date:\n served but not documented: %v\n documented but not served: %v", missing, extra)
	}
}

// isAPIRoute: the document covers the API and the platform endpoints, not console pages.
func isAPIRoute(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// The README's configuration table is the one `tandem config --markdown` prints.
func TestReadmeListsEverySetting(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), settingsTable()) {
		t.Fatal("README.md's configuration table is stale: paste the output of 'tandem config --markdown'")
	}
}

// demoStaff seeds identity's demo organisation in a and returns it with a look-up of its
// staff's principals by login ("sh1.rep").
func demoStaff(t testing.TB, a *app) (identity.Demo, func(login string) *identity.Principal) {
	t.Helper()
	ctx := context.Background()
	demo, err := a.identity.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	return demo, func(login string) *identity.Principal {
		t.Helper()
		p, err := a.identity.Principal(ctx, demo.Users[login])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}
