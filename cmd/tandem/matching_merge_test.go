package main

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// mergeWorld is two members of the consumer domain with points, a coupon, a tag and an
// order each, and the app whose domains follow matching's merges.
type mergeWorld struct {
	t   *testing.T
	ctx context.Context
	a   *app
}

func (w *mergeWorld) member(openid, phone string) uuid.UUID {
	w.t.Helper()
	m, _, err := w.a.consumer.Join(w.ctx, consumer.JoinRequest{AppID: "wx-merge", OpenID: openid, Phone: phone})
	if err != nil {
		w.t.Fatal(err)
	}
	return m.ID
}

// order is a paid order of the consumer in billing (written as billing stores one: the
// payment path itself is tested in billing), with its points earned.
func (w *mergeWorld) order(consumerID uuid.UUID, fen int64) uuid.UUID {
	w.t.Helper()
	id := uuid.Must(uuid.NewV7())
	if _, err := w.a.db.Exec(w.ctx, `INSERT INTO billing.orders (id, order_no, consumer_id, merchant_id, description, amount_fen,
		commission_rate, state, mchid, appid, created_at, paid_at) VALUES ($1, $2, $3, $4, 'merge test', $5, 0.006, 'paid', 'm', 'wx-merge', now(), now())`,
		id, "T"+strings.ReplaceAll(id.String(), "-", ""), consumerID, uuid.Must(uuid.NewV7()), fen); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.a.consumer.CreditForPayment(w.ctx, consumer.Payment{OrderID: id, ConsumerID: consumerID, AmountFen: fen}); err != nil {
		w.t.Fatal(err)
	}
	return id
}

// deliver hands every event of topic about the merge to every domain's subscriber of
// it, twice (delivery is at least once).
// twoCoupons issues two coupons of a new batch (10.00 off, two a member) to c, with
// source keys prefix1 and prefix2, and returns the batch.
func (w *mergeWorld) twoCoupons(c uuid.UUID, prefix string) consumer.CouponBatch {
	w.t.Helper()
	sys := identity.System()
	tpl, err := w.a.consumer.CreateCouponTemplate(w.ctx, sys, consumer.CouponTemplate{Name: "10 off", Kind: consumer.CouponAmount, AmountFen: 1000, ValidDays: 30})
	if err != nil {
		w.t.Fatal(err)
	}
	batch, err := w.a.consumer.CreateCouponBatch(w.ctx, sys, consumer.CouponBatch{TemplateID: tpl.ID, Name: "b", Stock: 10, PerMember: 2})
	if err != nil {
		w.t.Fatal(err)
	}
	for _, k := range []string{prefix + "1", prefix + "2"} {
		if _, err := w.a.consumer.IssueCoupon(w.ctx, consumer.IssueRequest{BatchID: batch.ID, ConsumerID: c, Source: consumer.IssueManual, SourceKey: k}); err != nil {
			w.t.Fatal(err)
		}
	}
	return batch
}

func (w *mergeWorld) deliver(topic events.Topic, mergeID uuid.UUID) {
	w.t.Helper()
	var payload json.RawMessage
	var id uuid.UUID
	if err := w.a.db.QueryRow(w.ctx, `SELECT id, payload FROM platform.outbox WHERE topic = $1 AND aggregate_key = $2`,
		string(topic), mergeID.String()).Scan(&id, &payload); err != nil {
		w.t.Fatalf("the %s event of %s: %v", topic, mergeID, err)
	}
	e := events.Envelope{ID: id, Topic: topic, Key: mergeID.String(), OccurredAt: time.Now(), Payload: payload}
	n := 0
	for _, s := range w.a.subscriptions() {
		if s.Topic != topic {
			continue
		}
		n++
		for range 2 {
			if err := outbox.Deliver(w.ctx, w.a.db, s, e); err != nil {
				w.t.Fatalf("%s: %v", s.Subscriber, err)
			}
		}
	}
	if n < 2 {
		w.t.Fatalf("%s has %d subscribers, want consumer's and billing's", topic, n)
	}
}

// holdings is what hangs on a consumer in the other domains.
type holdings struct {
	Points, Lots, Coupons int64
	Tags                  []string
	Orders                []uuid.UUID
}

func (w *mergeWorld) holdings(c uuid.UUID) holdings {
	w.t.Helper()
	var h holdings
	q := func(sql string, v any) {
		w.t.Helper()
		if err := w.a.db.QueryRow(w.ctx, sql, c).Scan(v); err != nil {
			w.t.Fatalf("%s: %v", sql, err)
		}
	}
	q(`SELECT COALESCE((SELECT balance + pending FROM consumer.points_balances WHERE consumer_id = $1), 0)`, &h.Points)
	q(`SELECT count(*) FROM consumer.points_lots WHERE consumer_id = $1`, &h.Lots)
	q(`SELECT count(*) FROM consumer.coupons WHERE consumer_id = $1`, &h.Coupons)
	q(`SELECT COALESCE(array_agg(tag ORDER BY tag), '{}') FROM consumer.member_tags WHERE consumer_id = $1`, &h.Tags)
	q(`SELECT COALESCE(array_agg(id ORDER BY id), '{}') FROM billing.orders WHERE consumer_id = $1`, &h.Orders)
	// The ledger and the lots agree with the balance, whatever moved.
	var entries, lots int64
	q(`SELECT COALESCE(sum(delta), 0) FROM consumer.points_entries WHERE consumer_id = $1`, &entries)
	q(`SELECT COALESCE(sum(remaining), 0) FROM consumer.points_lots WHERE consumer_id = $1`, &lots)
	if entries != h.Points || lots != h.Points {
		w.t.Errorf("%s: entries %d, lots %d, balance %d", c, entries, lots, h.Points)
	}
	return h
}

// A merge moves the merged member's points, coupons, tags and orders to the survivor in
// every domain, exactly once however often the event comes; the undo gives each back
// their own, and what happened in between stays with whom it happened to.
func TestMergeMovesEverythingAndUndoGivesItBack(t *testing.T) {
	t.Parallel()
	w := &mergeWorld{t: t, ctx: context.Background(), a: testApp(t)}
	ctx, a := w.ctx, w.a
	sys := identity.System()
	survivor, merged := w.member("o-merge-1", "13900000001"), w.member("o-merge-2", "13900000002")
	oldOrder, mergedOrder := w.order(survivor, 10_000), w.order(merged, 25_000)
	if _, err := a.consumer.Adjust(ctx, sys, merged, 40, "merge-test-adjust", "welcome"); err != nil {
		t.Fatal(err)
	}
	w.twoCoupons(merged, "k")
	for c, tags := range map[uuid.UUID][]string{survivor: {"vip"}, merged: {"vip", "night-owl"}} {
		for _, tag := range tags {
			if err := a.consumer.AddTag(ctx, sys, c, tag); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := map[uuid.UUID]holdings{survivor: w.holdings(survivor), merged: w.holdings(merged)}
	if before[merged].Points != 250+40 || before[merged].Coupons != 2 {
		t.Fatalf("set-up: %+v", before[merged])
	}

	// Matching merges them (automatic evidence), and the domains follow.
	n, _, err := a.matching.Propose(ctx, []matching.Candidate{{A: survivor, B: merged, Confidence: 1, Decision: matching.DecisionAuto,
		Evidence: []matching.Evidence{{Kind: matching.EvidenceUnionID, Value: "u-1", Weight: 0.99}}}})
	if err != nil || n != 1 {
		t.Fatalf("merge: %d %v", n, err)
	}
	merges, err := a.matching.ListMerges(ctx, sys, matching.MergeMerged, uuid.Nil, 10)
	if err != nil || len(merges) != 1 {
		t.Fatalf("merges: %v %v", merges, err)
	}
	m := merges[0]
	w.deliver(events.TopicConsumersMerged, m.ID)
	got := w.holdings(survivor)
	if got.Points != before[survivor].Points+before[merged].Points || got.Coupons != 2 || got.Lots != 3 ||
		!slices.Equal(got.Tags, []string{"night-owl", "vip"}) || len(got.Orders) != 2 {
		t.Fatalf("survivor after the merge: %+v", got)
	}
	if gone := w.holdings(merged); gone.Points != 0 || gone.Coupons != 0 || gone.Lots != 0 || len(gone.Orders) != 0 ||
		!slices.Equal(gone.Tags, []string{"vip"}) { // a tag both carry stays where it is
		t.Fatalf("merged after the merge: %+v", gone)
	}

	// In between: the survivor spends 30 points (from the oldest lot, which may be a
	// moved one) and orders again; the merged consumer orders under its own id.
	if _, err := a.consumer.Redeem(ctx, survivor, consumer.RedeemRequest{Points: 30, Key: "merge-test-redeem"}); err != nil {
		t.Fatal(err)
	}
	laterSurvivor, laterMerged := w.order(survivor, 5_000), w.order(merged, 7_000)

	// Undo, delivered twice and also the merge event again: each gets its own back.
	if _, err := a.matching.Undo(ctx, sys, m.ID); err != nil {
		t.Fatal(err)
	}
	w.deliver(events.TopicConsumerMergeUndone, m.ID)
	w.deliver(events.TopicConsumersMerged, m.ID) // a late redelivery moves nothing again
	s, g := w.holdings(survivor), w.holdings(merged)
	if !slices.Contains(s.Orders, oldOrder) || !slices.Contains(s.Orders, laterSurvivor) || len(s.Orders) != 2 {
		t.Errorf("survivor's orders after the undo: %v", s.Orders)
	}
	if !slices.Contains(g.Orders, mergedOrder) || !slices.Contains(g.Orders, laterMerged) || len(g.Orders) != 2 {
		t.Errorf("merged's orders after the undo: %v", g.Orders)
	}
	if g.Coupons != 2 || s.Coupons != 0 || !slices.Equal(g.Tags, []string{"night-owl", "vip"}) || !slices.Equal(s.Tags, []string{"vip"}) {
		t.Errorf("coupons and tags after the undo: survivor %+v, merged %+v", s, g)
	}
	// Points: every point is somewhere once; the 30 spent are gone from whoever's lot
	// they came from, and each later order's points stay with its buyer.
	total := before[survivor].Points + before[merged].Points + 50 + 70 - 30
	if s.Points+g.Points != total || s.Lots != 2 || g.Lots != 3 {
		t.Errorf("points after the undo: survivor %d (%d lots), merged %d (%d lots), want %d in all", s.Points, s.Lots, g.Points, g.Lots, total)
	}
	if g.Points < 70 || s.Points < 50 {
		t.Errorf("later points moved: survivor %d, merged %d", s.Points, g.Points)
	}
}

// An undo that reaches a domain before its merge (events are unordered) leaves the
// late merge with nothing to do: nothing moves, and nothing is left to undo.
func TestMergeUndoBeforeMergeMovesNothing(t *testing.T) {
	t.Parallel()
	w := &mergeWorld{t: t, ctx: context.Background(), a: testApp(t)}
	ctx, a := w.ctx, w.a
	survivor, merged := w.member("o-early-1", "13900000011"), w.member("o-early-2", "13900000012")
	w.order(merged, 12_000)
	n, _, err := a.matching.Propose(ctx, []matching.Candidate{{A: survivor, B: merged, Confidence: 1, Decision: matching.DecisionAuto}})
	if err != nil || n != 1 {
		t.Fatalf("merge: %d %v", n, err)
	}
	merges, err := a.matching.ListMerges(ctx, identity.System(), matching.MergeMerged, uuid.Nil, 10)
	if err != nil || len(merges) != 1 {
		t.Fatal(merges, err)
	}
	if _, err := a.matching.Undo(ctx, identity.System(), merges[0].ID); err != nil {
		t.Fatal(err)
	}
	w.deliver(events.TopicConsumerMergeUndone, merges[0].ID)
	w.deliver(events.TopicConsumersMerged, merges[0].ID)
	if g := w.holdings(merged); g.Points != 120 || len(g.Orders) != 1 {
		t.Fatalf("merged after undo-then-merge: %+v", g)
	}
	if s := w.holdings(survivor); s.Points != 0 || len(s.Orders) != 0 {
		t.Fatalf("survivor after undo-then-merge: %+v", s)
	}
}

// A merge tells marketing what moved (the same tag and points events a change of them
// publishes), so a segment over a moved tag or the moved points counts the survivor; the
// undo tells it back.
func TestMergeTellsMarketingOfMovedTagsAndPoints(t *testing.T) {
	t.Parallel()
	w := &mergeWorld{t: t, ctx: context.Background(), a: testApp(t)}
	ctx, a := w.ctx, w.a
	sys := identity.System()
	mkt := marketing.New(domain.Deps{DB: a.db, Log: a.log, Clock: a.clock}, marketing.Ports{}, marketing.Config{TailEvery: time.Nanosecond})
	tell := func() { w.tellMarketing(mkt) }
	count := func(r marketing.Rule) uint64 {
		t.Helper()
		c, err := mkt.CountRule(ctx, sys, r)
		if err != nil {
			t.Fatal(err)
		}
		return c.Members
	}
	survivor, merged := w.member("o-mkt-1", "13900000021"), w.member("o-mkt-2", "13900000022")
	if err := a.consumer.AddTag(ctx, sys, survivor, "vip"); err != nil {
		t.Fatal(err)
	}
	if err := a.consumer.AddTag(ctx, sys, merged, "night-owl"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.consumer.Adjust(ctx, sys, merged, 40, "mkt-merge-adjust", "welcome"); err != nil {
		t.Fatal(err)
	}
	vip := marketing.Rule{Field: "tag", Values: []string{"vip"}}
	movedTag := marketing.Rule{And: []marketing.Rule{vip, {Field: "tag", Values: []string{"night-owl"}}}}
	movedPoints := marketing.Rule{And: []marketing.Rule{vip, {Field: "points_balance", Op: "gte", Value: 40}}}
	tell()
	if n, m, p := count(marketing.Rule{Field: "tag", Values: []string{"night-owl"}}), count(movedTag), count(movedPoints); n != 1 || m != 0 || p != 0 {
		t.Fatalf("before the merge: night-owl %d, vip and night-owl %d, vip with 40 points %d", n, m, p)
	}

	if _, _, err := a.matching.Propose(ctx, []matching.Candidate{{A: survivor, B: merged, Confidence: 1, Decision: matching.DecisionAuto}}); err != nil {
		t.Fatal(err)
	}
	merges, err := a.matching.ListMerges(ctx, sys, matching.MergeMerged, uuid.Nil, 10)
	if err != nil || len(merges) != 1 {
		t.Fatal(merges, err)
	}
	w.deliver(events.TopicConsumersMerged, merges[0].ID)
	tell()
	if m, p := count(movedTag), count(movedPoints); m != 1 || p != 1 {
		t.Fatalf("after the merge the survivor is not counted: vip and night-owl %d, vip with 40 points %d", m, p)
	}
	if n := count(marketing.Rule{Field: "points_balance", Op: "gte", Value: 1}); n != 1 {
		t.Errorf("%d members with points after the merge, want the survivor alone", n)
	}

	if _, err := a.matching.Undo(ctx, sys, merges[0].ID); err != nil {
		t.Fatal(err)
	}
	w.deliver(events.TopicConsumerMergeUndone, merges[0].ID)
	tell()
	if n, m, p := count(marketing.Rule{Field: "tag", Values: []string{"night-owl"}}), count(movedTag), count(movedPoints); n != 1 || m != 0 || p != 0 {
		t.Fatalf("after the undo: night-owl %d, vip and night-owl %d, vip with 40 points %d", n, m, p)
	}
}

// tellMarketing hands every event so far to marketing's subscribers (it applies each
// once, so events told before are skipped).
func (w *mergeWorld) tellMarketing(mkt *marketing.Service) {
	w.t.Helper()
	rows, err := w.a.db.Query(w.ctx, `SELECT id, topic, aggregate_key, payload, created_at FROM platform.outbox ORDER BY id`)
	if err != nil {
		w.t.Fatal(err)
	}
	envs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (events.Envelope, error) {
		var e events.Envelope
		return e, r.Scan(&e.ID, &e.Topic, &e.Key, &e.Payload, &e.OccurredAt)
	})
	if err != nil {
		w.t.Fatal(err)
	}
	subs := domain.Collect(mkt).Subscriptions()
	for _, e := range envs {
		for _, s := range subs {
			if s.Topic == e.Topic {
				if err := outbox.Run(w.ctx, w.a.db, s, e); err != nil {
					w.t.Fatalf("%s: %v", e.Topic, err)
				}
			}
		}
	}
}

// A merge tells marketing of the coupons it moved, so a segment over a coupon batch
// (held, unused) counts the survivor and no longer the merged member; the undo tells
// them back. Told twice, nothing counts twice.
func TestMergeTellsMarketingOfMovedCoupons(t *testing.T) {
	t.Parallel()
	w := &mergeWorld{t: t, ctx: context.Background(), a: testApp(t)}
	ctx, a := w.ctx, w.a
	sys := identity.System()
	mkt := marketing.New(domain.Deps{DB: a.db, Log: a.log, Clock: a.clock}, marketing.Ports{}, marketing.Config{TailEvery: time.Nanosecond})
	survivor, merged := w.member("o-cpn-1", "13900000031"), w.member("o-cpn-2", "13900000032")
	if err := a.consumer.AddTag(ctx, sys, survivor, "vip"); err != nil {
		t.Fatal(err)
	}
	batch := w.twoCoupons(merged, "c")
	vip := marketing.Rule{Field: "tag", Values: []string{"vip"}}
	held := marketing.Rule{Field: "coupon_held", Batch: batch.ID.String()}
	unused := marketing.Rule{Field: "coupon_unused", Batch: batch.ID.String()}
	count := func(r marketing.Rule) uint64 {
		t.Helper()
		c, err := mkt.CountRule(ctx, sys, r)
		if err != nil {
			t.Fatal(err)
		}
		return c.Members
	}
	// counts: members holding the batch, with an unused one, and of them the survivor.
	counts := func() [4]uint64 {
		return [4]uint64{count(held), count(unused), count(marketing.Rule{And: []marketing.Rule{vip, held}}), count(marketing.Rule{And: []marketing.Rule{vip, unused}})}
	}
	w.tellMarketing(mkt)
	if c := counts(); c != [4]uint64{1, 1, 0, 0} {
		t.Fatalf("before the merge (held, unused, the survivor held, unused): %v", c)
	}

	if _, _, err := a.matching.Propose(ctx, []matching.Candidate{{A: survivor, B: merged, Confidence: 1, Decision: matching.DecisionAuto}}); err != nil {
		t.Fatal(err)
	}
	merges, err := a.matching.ListMerges(ctx, sys, matching.MergeMerged, uuid.Nil, 10)
	if err != nil || len(merges) != 1 {
		t.Fatal(merges, err)
	}
	w.deliver(events.TopicConsumersMerged, merges[0].ID)
	w.tellMarketing(mkt)
	w.tellMarketing(mkt) // told again: applied once
	if c := counts(); c != [4]uint64{1, 1, 1, 1} {
		t.Fatalf("after the merge the coupon holder is not the survivor alone: %v", c)
	}
	var h, u int
	if err := a.db.QueryRow(ctx, `SELECT held, unused FROM marketing.member_coupons WHERE consumer_id = $1 AND batch_id = $2`,
		survivor, batch.ID.String()).Scan(&h, &u); err != nil || h != 2 || u != 2 {
		t.Fatalf("marketing's count of the survivor's coupons: held %d, unused %d (%v), want 2 and 2", h, u, err)
	}

	if _, err := a.matching.Undo(ctx, sys, merges[0].ID); err != nil {
		t.Fatal(err)
	}
	w.deliver(events.TopicConsumerMergeUndone, merges[0].ID)
	w.tellMarketing(mkt)
	if c := counts(); c != [4]uint64{1, 1, 0, 0} {
		t.Fatalf("after the undo the merged member does not hold the coupons again: %v", c)
	}
}
