package matching_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// staffWorld is a world with identity's demo staff, for the steps that need a caller.
func staffWorld(t *testing.T) (*world, *identity.Service, func(login string) *identity.Principal) {
	t.Helper()
	db := pgtest.New(t, audit.Migrations, identity.Migrations, matching.Migrations)
	ctx := context.Background()
	ids := identity.NewService(db, redistest.New(t).Client(t), identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	demo, err := ids.SeedDemo(ctx, "Tandem-demo-2025")
	if err != nil {
		t.Fatal(err)
	}
	as := func(login string) *identity.Principal {
		p, err := ids.Principal(ctx, demo.Users[login])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	w := &world{t: t, ctx: ctx, db: db, svc: matching.New(domain.Deps{DB: db}, matching.Ports{}, matching.Config{}),
		subs: map[events.Topic][]outbox.Subscription{}, day: time.Now().Add(-time.Hour)}
	for _, s := range w.svc.Subscriptions() {
		w.subs[s.Topic] = append(w.subs[s.Topic], s)
	}
	return w, ids, as
}

func TestMergeAndUndoExactly(t *testing.T) {
	t.Parallel()
	w, _, as := staffWorld(t)
	ctx, db := w.ctx, w.db
	a, b := w.live("A", "restaurant", 31.23, 121.47), w.live("B", "restaurant", 31.231, 121.47)
	c, d := w.live("C", "cafe", 31.232, 121.47), w.live("D", "cafe", 31.233, 121.47)
	x, y := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	w.pay(x, a, 1000)
	w.pay(y, b, 2000)
	merchantsOf := func(who uuid.UUID) map[uuid.UUID]int {
		rows, err := db.Query(ctx, `SELECT merchant_id, orders FROM matching.consumer_merchants WHERE consumer_id = $1`, who)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[uuid.UUID]int{}
		for rows.Next() {
			var m uuid.UUID
			var n int
			if err := rows.Scan(&m, &n); err != nil {
				t.Fatal(err)
			}
			out[m] = n
		}
		return out
	}
	merged, queued, err := w.svc.Propose(ctx, []matching.Candidate{{A: x, B: y, Confidence: 0.99, Decision: matching.DecisionAuto,
		Evidence: []matching.Evidence{{Kind: matching.EvidenceUnionID, Value: "u", Weight: 0.99}}}})
	if err != nil || merged != 1 || queued != 0 {
		t.Fatalf("propose: %d %d %v", merged, queued, err)
	}
	if got := merchantsOf(x); len(got) != 2 || got[b] != 1 {
		t.Fatalf("survivor after the merge: %v", got)
	}
	// Proposed again (a second resolution run): nothing new.
	if m, q, err := w.svc.Propose(ctx, []matching.Candidate{{A: x, B: y, Confidence: 0.99, Decision: matching.DecisionAuto}}); err != nil || m+q != 0 {
		t.Fatalf("proposed twice: %d %d %v", m, q, err)
	}
	// The merged consumer is served the survivor's list.
	for _, r := range w.recs(y) {
		if r.MerchantID == a || r.MerchantID == b {
			t.Fatalf("merged consumer sees a merchant the person tried: %+v", r)
		}
	}
	// Later: y buys at C (as x while merged), x buys at D.
	w.pay(y, c, 3000)
	w.pay(x, d, 4000)
	list, err := w.svc.ListMerges(ctx, as("growth"), matching.MergeMerged, uuid.Nil, 10)
	if err != nil || len(list) != 1 || list[0].Evidence[0].Kind != matching.EvidenceUnionID || !list[0].Automatic {
		t.Fatalf("history: %+v %v", list, err)
	}
	if _, err := w.svc.Undo(ctx, as("sh1.rep"), list[0].ID); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a rep undoes: %v", err)
	}
	undone, err := w.svc.Undo(ctx, as("growth"), list[0].ID)
	if err != nil || undone.State != matching.MergeUndone || undone.UndoneBy != "growth" {
		t.Fatalf("undo: %+v %v", undone, err)
	}
	if got := merchantsOf(x); len(got) != 2 || got[a] != 1 || got[d] != 1 {
		t.Fatalf("survivor after the undo: %v (want A and D)", got)
	}
	if got := merchantsOf(y); len(got) != 2 || got[b] != 1 || got[c] != 1 {
		t.Fatalf("merged consumer after the undo: %v (want B and C)", got)
	}
	if _, err := w.svc.Undo(ctx, as("growth"), list[0].ID); !errs.Is(err, matching.CodeMergeState) {
		t.Fatalf("undone twice: %v", err)
	}
	if n := w.scalar(`SELECT count(*) FROM audit.entries WHERE action LIKE 'matching.consumer.merge%'`); n != 2 {
		t.Fatalf("%d audit entries, want merge and undo", n)
	}
	if n := w.scalar(`SELECT count(*) FROM platform.outbox WHERE topic LIKE 'matching.%'`); n != 2 {
		t.Fatalf("%d events", n)
	}

	// Conflicting hard facts wait for a reviewer, who may reject.
	_, queued, err = w.svc.Propose(ctx, []matching.Candidate{{A: x, B: y, Confidence: 0.99, Decision: matching.DecisionReview,
		Conflicts: []matching.Evidence{{Kind: matching.ConflictPhone, Value: "139****0001 ≠ 139****0002"}}}})
	if err != nil || queued != 1 {
		t.Fatalf("queued: %d %v", queued, err)
	}
	q, err := w.svc.ListMerges(ctx, as("growth"), matching.MergeReview, uuid.Nil, 10)
	if err != nil || len(q) != 1 || len(q[0].Conflicts) != 1 {
		t.Fatalf("queue: %+v %v", q, err)
	}
	if m, err := w.svc.Reject(ctx, as("growth"), q[0].ID); err != nil || m.State != matching.MergeRejected {
		t.Fatalf("reject: %+v %v", m, err)
	}
	if _, err := w.svc.Approve(ctx, as("growth"), q[0].ID); !errs.Is(err, matching.CodeMergeState) {
		t.Fatalf("approve a rejected pair: %v", err)
	}
}

// A sign-in whose claims name an identifier bound to another consumer: identity publishes
// it, and matching merges on a shared unionid. The same phone written another way is the
// same consumer to identity itself (shared/phone), so it is no pair to resolve.
func TestSharedIdentifiersFromSignIns(t *testing.T) {
	t.Parallel()
	w, ids, as := staffWorld(t)
	resolve := func(c identity.ConsumerClaims) uuid.UUID {
		id, _, err := ids.ResolveConsumer(w.ctx, c)
		w.must(err)
		return id
	}
	x := resolve(identity.ConsumerClaims{AppID: "wx1", OpenID: "o1", UnionID: "u1"})
	y := resolve(identity.ConsumerClaims{AppID: "wx2", OpenID: "o2"})
	z := resolve(identity.ConsumerClaims{AppID: "wx1", OpenID: "o3", Phone: "13700000000"})
	// y signs in again, now with the unionid x holds; a new consumer w with z's phone.
	if again := resolve(identity.ConsumerClaims{AppID: "wx2", OpenID: "o2", UnionID: "u1"}); again != y {
		t.Fatal("the openid no longer names its consumer")
	}
	if v := resolve(identity.ConsumerClaims{AppID: "wx3", OpenID: "o4", Phone: "137-0000-0000"}); v != z {
		t.Fatal("the same phone written another way is another consumer")
	}
	rows, err := w.db.Query(w.ctx, `SELECT id, topic, payload FROM platform.outbox WHERE topic = $1 ORDER BY id`, string(events.TopicConsumerIdentifierShared))
	w.must(err)
	var envs []events.Envelope
	for rows.Next() {
		var e events.Envelope
		var topic string
		w.must(rows.Scan(&e.ID, &topic, &e.Payload))
		e.Topic = events.Topic(topic)
		envs = append(envs, e, e) // delivered twice
	}
	rows.Close()
	if len(envs) != 2 {
		t.Fatalf("%d deliveries, want the shared unionid twice", len(envs))
	}
	for _, e := range envs {
		w.must(w.handle(e))
	}
	all, err := w.svc.ListMerges(w.ctx, as("growth"), "", uuid.Nil, 10)
	w.must(err)
	if len(all) != 1 {
		t.Fatalf("merges: %+v", all)
	}
	for _, m := range all {
		pair := map[uuid.UUID]bool{m.Survivor: true, m.Merged: true}
		switch {
		case pair[x] && pair[y]:
			if m.State != matching.MergeMerged || m.Evidence[0].Kind != matching.EvidenceUnionID {
				t.Fatalf("x–y: %+v", m)
			}
		default:
			t.Fatalf("unexpected pair: %+v", m)
		}
	}
}
