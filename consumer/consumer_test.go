package consumer_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

const appID = "wxd678efh567hg6787"

type world struct {
	db  *pgxpool.Pool
	ids *identity.Service
	svc *consumer.Service
	ctx context.Context
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := pgtest.New(t, audit.Migrations, identity.Migrations, consumer.Migrations)
	ids := identity.NewService(db, redistest.New(t).Client(t), identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	return &world{db: db, ids: ids, svc: consumer.New(domain.Deps{DB: db}, consumer.Ports{Identities: ids}, consumer.Config{}), ctx: context.Background()}
}

func (w *world) join(t *testing.T, openid string) uuid.UUID {
	t.Helper()
	m, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: openid, Phone: "13912345678"})
	if err != nil {
		t.Fatal(err)
	}
	return m.ID
}

func (w *world) balance(t *testing.T, id uuid.UUID) int64 {
	t.Helper()
	b, err := w.svc.Balance(w.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJoinIsIdempotentAndReusesIdentity(t *testing.T) {
	w := newWorld(t)
	m1, created1, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: "o-1", Phone: "13912345678"})
	if err != nil || !created1 {
		t.Fatalf("first join: %v created=%v", err, created1)
	}
	m2, created2, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: "o-1"})
	if err != nil || created2 || m2.ID != m1.ID {
		t.Fatalf("second join: %v created=%v id %s vs %s", err, created2, m2.ID, m1.ID)
	}
	id, _, err := w.ids.ResolveConsumer(w.ctx, identity.ConsumerClaims{AppID: appID, OpenID: "o-1"})
	if err != nil || id != m1.ID {
		t.Fatalf("the member is identity's consumer: %s vs %s (%v)", id, m1.ID, err)
	}
	if openid, err := w.svc.OpenID(w.ctx, m1.ID, appID); err != nil || openid != "o-1" {
		t.Fatalf("openid %q, %v", openid, err)
	}
	if _, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID}); errs.KindOf(err) != errs.KindInvalid {
		t.Fatalf("join without openid: %v", err)
	}
}

func TestCreditOnceUnderConcurrentDeliveries(t *testing.T) {
	w := newWorld(t)
	id := w.join(t, "o-c")
	order := uuid.New()
	pay := consumer.Payment{OrderID: order, ConsumerID: id, AmountFen: 12_899} // 128.99 yuan: 128 points
	var wg sync.WaitGroup
	start := make(chan struct{})
	credited := make([]int64, 5)
	errsOut := make([]error, 5)
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			credited[i], errsOut[i] = w.svc.CreditForPayment(w.ctx, pay)
		}()
	}
	close(start)
	wg.Wait()
	var total int64
	for i := range 5 {
		if errsOut[i] != nil {
			t.Fatal(errsOut[i])
		}
		total += credited[i]
	}
	if total != 128 {
		t.Fatalf("credited %d in total, want 128 once", total)
	}
	for range 3 { // and in sequence
		if n, err := w.svc.CreditForPayment(w.ctx, pay); err != nil || n != 0 {
			t.Fatalf("repeat credited %d, %v", n, err)
		}
	}
	if b := w.balance(t, id); b != 128 {
		t.Fatalf("balance %d, want 128", b)
	}
	es, err := w.svc.MyLedger(w.ctx, id, uuid.Nil, 10)
	if err != nil || len(es) != 1 || es[0].SourceKey != consumer.EarnKey(order) {
		t.Fatalf("ledger %+v, %v", es, err)
	}
}

func TestReverseTakesBackWhatTheRefundEarnedOnce(t *testing.T) {
	w := newWorld(t)
	id := w.join(t, "o-r")
	order := uuid.New()
	r1 := consumer.Refund{RefundID: uuid.New(), OrderID: order, ConsumerID: id, OrderAmountFen: 15_000, RefundedTotalFen: 5_050}
	if _, err := w.svc.ReverseForRefund(w.ctx, r1); !errs.Is(err, consumer.CodeEarnPending) {
		t.Fatalf("a refund before its earn: %v, want %s", err, consumer.CodeEarnPending)
	}
	if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: order, ConsumerID: id, AmountFen: 15_000}); err != nil {
		t.Fatal(err)
	}
	// 150.00 earned 150; 50.50 refunded leaves 99.50, which earns 99: 51 reversed.
	for range 3 {
		if _, err := w.svc.ReverseForRefund(w.ctx, r1); err != nil {
			t.Fatal(err)
		}
	}
	if b := w.balance(t, id); b != 99 {
		t.Fatalf("balance after a partial refund, repeated: %d, want 99", b)
	}
	// The rest refunded: nothing remains.
	r2 := consumer.Refund{RefundID: uuid.New(), OrderID: order, ConsumerID: id, OrderAmountFen: 15_000, RefundedTotalFen: 15_000}
	if n, err := w.svc.ReverseForRefund(w.ctx, r2); err != nil || n != 99 {
		t.Fatalf("second refund reversed %d, %v", n, err)
	}
	if b := w.balance(t, id); b != 0 {
		t.Fatalf("balance %d, want 0", b)
	}
}

func TestEntriesAreAppendOnly(t *testing.T) {
	w := newWorld(t)
	id := w.join(t, "o-a")
	if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: uuid.New(), ConsumerID: id, AmountFen: 1000}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.Exec(w.ctx, "UPDATE consumer.points_entries SET delta = 1000"); err == nil {
		t.Fatal("an entry was updated")
	}
	if _, err := w.db.Exec(w.ctx, "DELETE FROM consumer.points_entries"); err == nil {
		t.Fatal("an entry was deleted")
	}
}

func TestStaffAccess(t *testing.T) {
	w := newWorld(t)
	demo, err := w.ids.SeedDemo(w.ctx, "Tandem-demo-2025")
	if err != nil {
		t.Fatal(err)
	}
	id := w.join(t, "o-s")
	as := func(login string) *identity.Principal {
		p, err := w.ids.Principal(w.ctx, demo.Users[login])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	m, err := w.svc.GetMember(w.ctx, as("growth"), id)
	if err != nil || m.Phone != "139****5678" {
		t.Fatalf("growth sees %+v, %v (phone masked)", m, err)
	}
	if _, err := w.svc.Ledger(w.ctx, as("sh1.rep"), id, uuid.Nil, 10); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a rep reads a member's points: %v", err)
	}
	if _, err := w.svc.Ledger(w.ctx, as("growth"), id, uuid.Nil, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Adjust(w.ctx, as("growth"), id, -5, "k1", "goodwill"); errs.CodeOf(err) != "consumer.points_insufficient" {
		t.Fatalf("adjust below zero: %v", err)
	}
	if _, err := w.svc.Adjust(w.ctx, as("growth"), id, 20, "k2", "goodwill"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Adjust(w.ctx, as("growth"), id, 20, "k2", "goodwill"); err != nil { // same key: once
		t.Fatal(err)
	}
	if b := w.balance(t, id); b != 20 {
		t.Fatalf("balance %d, want 20", b)
	}
}
