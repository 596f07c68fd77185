package approval_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

const kind = "test.discount"

type world struct {
	ctx     context.Context
	db      *pgxpool.Pool
	ids     *identity.Service
	demo    identity.Demo
	svc     *approval.Service
	decided chan approval.Request
	fail    atomic.Bool
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := pgtest.New(t, audit.Migrations, identity.Migrations, approval.Migrations)
	ids := identity.NewService(db, redistest.New(t).Client(t), identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	ctx := context.Background()
	demo, err := ids.SeedDemo(ctx, "Tandem-demo-2025")
	if err != nil {
		t.Fatal(err)
	}
	w := &world{ctx: ctx, db: db, ids: ids, demo: demo, svc: approval.New(domain.Deps{DB: db}), decided: make(chan approval.Request, 10)}
	w.svc.OnDecided(kind, func(ctx context.Context, tx pgx.Tx, r approval.Request) error {
		if w.fail.Load() {
			return errors.New("handler refused")
		}
		// The handler's writes share the decision's transaction.
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS seen (id uuid)"); err != nil {
			return err
		}
		w.decided <- r
		return nil
	})
	return w
}

func (w *world) p(t *testing.T, login string) *identity.Principal {
	t.Helper()
	p, err := w.ids.Principal(w.ctx, w.demo.Users[login])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// request asks, as login, for an approval about a subject of the given org unit.
func (w *world) request(t *testing.T, login, unit string) approval.Request {
	t.Helper()
	var r approval.Request
	err := pg.InTx(w.ctx, w.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		r, err = w.svc.Request(w.ctx, tx, w.p(t, login), approval.NewRequest{Kind: kind,
			Subject: approval.Subject{Type: "test.contract", ID: uuid.NewString()}, Title: "3.5 % below the floor of 5 %",
			Approver: identity.PermContractApprove, Scope: identity.Row{OrgUnit: w.demo.Units[unit]},
			Payload: map[string]string{"rate": "0.035"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantCode(t *testing.T, err error, code string, kind errs.Kind) {
	t.Helper()
	if errs.CodeOf(err) != code || errs.KindOf(err) != kind {
		t.Fatalf("want %s (%v), got %v", code, kind, err)
	}
}

func todoIDs(t *testing.T, w *world, login string) []uuid.UUID {
	t.Helper()
	page, err := w.svc.List(w.ctx, w.p(t, login), approval.Filter{Box: approval.BoxTodo})
	if err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, r := range page.Requests {
		ids = append(ids, r.ID)
	}
	return ids
}

func contains(ids []uuid.UUID, id uuid.UUID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// A rep's request is a to-do of every approver in scope and of nobody else; one of
// them approves it with a comment, the handler and the audit log see it, and it leaves
// every to-do list.
func TestApproveInScope(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.request(t, "sh1.rep", identity.DemoSHTeam1)
	if r.State != approval.StatePending {
		t.Fatalf("new request is %s", r.State)
	}
	for login, want := range map[string]bool{"sh.manager": true, "admin": true, "sh1.rep": false, "sh1.lead": false, "reviewer": false, "hz.lead": false} {
		if got := contains(todoIDs(t, w, login), r.ID); got != want {
			t.Errorf("%s has the to-do: %v, want %v", login, got, want)
		}
	}
	mine, err := w.svc.List(w.ctx, w.p(t, "sh1.rep"), approval.Filter{Box: approval.BoxMine})
	if err != nil || len(mine.Requests) != 1 || mine.Requests[0].ID != r.ID {
		t.Fatalf("requester's box: %+v %v", mine, err)
	}
	got, err := w.svc.Decide(w.ctx, w.p(t, "sh.manager"), r.ID, approval.Decision{Approve: true, Comment: "new district, fine"})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != approval.StateApproved || got.DecidedByLogin != "sh.manager" || got.Comment != "new district, fine" {
		t.Fatalf("decided: %+v", got)
	}
	if h := <-w.decided; h.ID != r.ID || h.State != approval.StateApproved {
		t.Fatalf("handler told %+v", h)
	}
	if contains(todoIDs(t, w, "admin"), r.ID) {
		t.Fatal("a decided request is still a to-do")
	}
	_, err = w.svc.Decide(w.ctx, w.p(t, "admin"), r.ID, approval.Decision{Approve: false, Comment: "too late"})
	wantCode(t, err, approval.CodeAlreadyDecided, errs.KindConflict)
	var actions []string
	rows, err := w.db.Query(w.ctx, "SELECT action FROM audit.entries WHERE object_id = $1 ORDER BY id", r.ID.String())
	if err != nil {
		t.Fatal(err)
	}
	actions, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(actions) != 2 || actions[0] != "approval.request" || actions[1] != "approval.approve" {
		t.Fatalf("audit: %v %v", actions, err)
	}
	var events int
	if err := w.db.QueryRow(w.ctx, "SELECT count(*) FROM platform.outbox WHERE topic = 'approval.decided' AND aggregate_key = $1", r.ID.String()).Scan(&events); err != nil || events != 1 {
		t.Fatalf("outbox events %d %v", events, err)
	}
}

// Outside the approvers' scope, without the permission, or the requester: 403 and
// nothing changes. A rejection needs a comment.
func TestRefusals(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	hz := w.request(t, "hz1.rep", identity.DemoHZTeam1)
	for login, code := range map[string]string{"sh.manager": approval.CodeNotApprover, "reviewer": approval.CodeNotApprover,
		"hz1.rep": approval.CodeOwnRequest, "sh1.lead": approval.CodeNotApprover} {
		_, err := w.svc.Decide(w.ctx, w.p(t, login), hz.ID, approval.Decision{Approve: true})
		wantCode(t, err, code, errs.KindForbidden)
	}
	_, err := w.svc.Decide(w.ctx, w.p(t, "admin"), hz.ID, approval.Decision{Approve: false, Comment: "  "})
	wantCode(t, err, approval.CodeCommentRequired, errs.KindInvalid)
	if e := errs.As(err); e.Field != "comment" {
		t.Fatalf("field %q", e.Field)
	}
	// A failing handler rolls the decision back.
	w.fail.Store(true)
	if _, err := w.svc.Decide(w.ctx, w.p(t, "admin"), hz.ID, approval.Decision{Approve: true}); err == nil {
		t.Fatal("a failing handler's decision was kept")
	}
	got, err := w.svc.Get(w.ctx, w.p(t, "admin"), hz.ID)
	if err != nil || got.State != approval.StatePending {
		t.Fatalf("after refusals: %+v %v", got, err)
	}
	// Not visible to those who could not decide it: 404, so ids cannot be probed.
	_, err = w.svc.Get(w.ctx, w.p(t, "sh.manager"), hz.ID)
	wantCode(t, err, approval.CodeNotFound, errs.KindNotFound)
	var n int
	if err := w.db.QueryRow(w.ctx, "SELECT count(*) FROM audit.entries WHERE object_id = $1", hz.ID.String()).Scan(&n); err != nil || n != 1 {
		t.Fatalf("audit entries %d %v", n, err)
	}
	// A second pending request for the same subject is refused.
	err = pg.InTx(w.ctx, w.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		_, err := w.svc.Request(w.ctx, tx, w.p(t, "hz1.rep"), approval.NewRequest{Kind: kind, Subject: hz.Subject, Title: "again",
			Approver: identity.PermContractApprove, Scope: identity.Row{OrgUnit: w.demo.Units[identity.DemoHZTeam1]}})
		return err
	})
	wantCode(t, err, approval.CodeAlreadyPending, errs.KindConflict)
	// Withdrawn in the subject's transaction, it leaves the to-do lists undecided.
	err = pg.InTx(w.ctx, w.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		n, err := w.svc.Withdraw(w.ctx, tx, w.p(t, "hz1.rep"), hz.Subject, "contract cancelled")
		if n != 1 {
			t.Errorf("withdrew %d", n)
		}
		return err
	})
	if err != nil || contains(todoIDs(t, w, "admin"), hz.ID) {
		t.Fatalf("withdraw: %v", err)
	}
}

// Two approvers deciding at once: one wins, the other is told it was decided; the
// handler runs once.
func TestConcurrentDecisions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.request(t, "sh1.rep", identity.DemoSHTeam1)
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, login := range []string{"sh.manager", "admin"} {
		p := w.p(t, login)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = w.svc.Decide(w.ctx, p, r.ID, approval.Decision{Approve: i == 0, Comment: "x"})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if errs.CodeOf(err) != approval.CodeAlreadyDecided {
			t.Fatal(err)
		}
	}
	if ok != 1 || len(w.decided) != 1 {
		t.Fatalf("%d decisions won, handler ran %d times", ok, len(w.decided))
	}
}
