package identity_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

const demoPassword = "Tandem-demo-2025"

// clock is a settable time for expiry and lockout tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type world struct {
	svc   *identity.Service
	clock *clock
	demo  identity.Demo
	ctx   context.Context
}

func newWorld(t *testing.T, tweak ...func(*identity.Config)) *world {
	t.Helper()
	db := pgtest.New(t, audit.Migrations, identity.Migrations)
	rdb := redistest.New(t).Client(t)
	clk := &clock{now: time.Now()}
	cfg := identity.Config{Now: clk.Now}
	for _, f := range tweak {
		f(&cfg)
	}
	svc := identity.NewService(db, rdb, cfg)
	ctx := context.Background()
	demo, err := svc.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	return &world{svc: svc, clock: clk, demo: demo, ctx: ctx}
}

func (w *world) p(t *testing.T, login string) *identity.Principal {
	t.Helper()
	p, err := w.svc.Principal(w.ctx, w.demo.Users[login])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("want error %s, got %v", code, err)
	}
}

func auditActions(t *testing.T, w *world, f audit.Filter) []string {
	t.Helper()
	var out []string
	err := w.svc.ExportAudit(w.ctx, w.p(t, "admin"), f, func(e audit.Entry) error { out = append(out, e.Action); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ids(users []identity.User) map[uuid.UUID]string {
	m := map[uuid.UUID]string{}
	for _, u := range users {
		m[u.ID] = u.Login
	}
	return m
}
