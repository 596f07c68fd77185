package merchant_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

const demoPassword = "Tandem-demo-2025"

// fakeOwners records the owner accounts asked for: a port, not our database.
type fakeOwners struct {
	mu    sync.Mutex
	calls []uuid.UUID
	fail  error
}

func (f *fakeOwners) CreateMerchantOwner(_ context.Context, merchantID uuid.UUID, _, _ string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, merchantID)
	if f.fail != nil {
		return "", "", f.fail
	}
	return merchant.OwnerLogin(merchantID), "/invite/tdi_fake", nil
}

type world struct {
	ctx    context.Context
	db     *pgxpool.Pool
	ids    *identity.Service
	demo   identity.Demo
	svc    *merchant.Service
	owners *fakeOwners
}

func newWorld(t *testing.T, cfg merchant.Config) *world {
	t.Helper()
	db := pgtest.New(t, audit.Migrations, identity.Migrations, approval.Migrations, merchant.Migrations)
	ids := identity.NewService(db, redistest.New(t).Client(t), identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	ctx := context.Background()
	demo, err := ids.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	owners := &fakeOwners{}
	return &world{ctx: ctx, db: db, ids: ids, demo: demo, svc: merchant.New(domain.Deps{DB: db}, merchant.Ports{Owners: owners}, cfg), owners: owners}
}

func (w *world) p(t *testing.T, login string) *identity.Principal {
	t.Helper()
	p, err := w.ids.Principal(w.ctx, w.demo.Users[login])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func wantCode(t *testing.T, err error, code string) *errs.Error {
	t.Helper()
	if errs.CodeOf(err) != code {
		t.Fatalf("want error %s, got %v", code, err)
	}
	return errs.As(err)
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// shop is a valid lead north of People's Square, Shanghai, with a distinct phone;
// shops whose phones differ in the last four digits stand ~280 m apart per step, so
// that the same name is no duplicate (dedup's radius is 200 m).
func shop(phone string) merchant.NewLead {
	step := 0
	if n := len(phone); n >= 4 {
		step, _ = strconv.Atoi(phone[n-4:])
	}
	return merchant.NewLead{Name: "测试店 Test shop", Category: "restaurant", Address: "人民广场",
		Lat: 31.2304 + float64(step)*0.0025, Lng: 121.4737, Phone: phone, City: "上海"}
}

// auditCount counts the audit entries of an action.
func auditCount(t *testing.T, w *world, action string) int {
	t.Helper()
	var n int
	if err := w.db.QueryRow(w.ctx, "SELECT count(*) FROM audit.entries WHERE action = $1", action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
