package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// dyingOffers is loyalty with a worker that dies once: the nth call reaches loyalty
// (its coupons are committed) and the sender never hears back.
type dyingOffers struct {
	marketing.Offers
	mu    sync.Mutex
	calls int
	dieAt int
}

func (d *dyingOffers) died() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	return d.calls == d.dieAt
}

func (d *dyingOffers) IssueCoupons(ctx context.Context, batchID string, grants []marketing.Grant) (marketing.Issued, error) {
	res, err := d.Offers.IssueCoupons(ctx, batchID, grants)
	if err == nil && d.died() {
		return marketing.Issued{}, errors.New("worker killed after loyalty committed")
	}
	return res, err
}

func (d *dyingOffers) CreditPoints(ctx context.Context, points int64, reason string, grants []marketing.Grant) (marketing.Issued, error) {
	res, err := d.Offers.CreditPoints(ctx, points, reason, grants)
	if err == nil && d.died() {
		return marketing.Issued{}, errors.New("worker killed after loyalty committed")
	}
	return res, err
}

// offersWorld is loyalty and marketing on one database, marketing sending in
// batches of ten through the real loyalty adapter.
type offersWorld struct {
	t       *testing.T
	ctx     context.Context
	a       *app
	mkt     *marketing.Service
	offers  *dyingOffers
	members []uuid.UUID
}

func newOffersWorld(t *testing.T, members, dieAt int) *offersWorld {
	t.Helper()
	a := testApp(t)
	a.clock.Freeze(time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC))
	w := &offersWorld{t: t, ctx: context.Background(), a: a, offers: &dyingOffers{Offers: loyaltyOffers{a.consumer}, dieAt: dieAt}}
	w.mkt = marketing.New(domain.Deps{DB: a.db, Log: a.log, Clock: a.clock}, marketing.Ports{Offers: w.offers},
		marketing.Config{SendBatch: 10, TailEvery: time.Nanosecond})
	for i := range members {
		m, _, err := a.consumer.Join(w.ctx, consumer.JoinRequest{AppID: "wxd678efh567hg6787", OpenID: fmt.Sprintf("o-offers-%d", i),
			Phone: fmt.Sprintf("1370000%04d", i)})
		if err != nil {
			t.Fatal(err)
		}
		w.members = append(w.members, m.ID)
	}
	w.deliver()
	return w
}

// deliver hands every event in the outbox to marketing's subscriptions, as the
// relay would (marketing applies each event once, so delivering twice is harmless).
func (w *offersWorld) deliver() {
	w.t.Helper()
	rows, err := w.a.db.Query(w.ctx, `SELECT id, topic, aggregate_key, payload, created_at FROM platform.outbox ORDER BY id`)
	if err != nil {
		w.t.Fatal(err)
	}
	var envs []events.Envelope
	for rows.Next() {
		var e events.Envelope
		if err := rows.Scan(&e.ID, &e.Topic, &e.Key, &e.Payload, &e.OccurredAt); err != nil {
			w.t.Fatal(err)
		}
		envs = append(envs, e)
	}
	if err := rows.Err(); err != nil {
		w.t.Fatal(err)
	}
	for _, e := range envs {
		for _, s := range w.mkt.Subscriptions() {
			if s.Topic == e.Topic {
				if err := outbox.Run(w.ctx, w.a.db, s, e); err != nil {
					w.t.Fatalf("%s: %v", e.Topic, err)
				}
			}
		}
	}
}

func (w *offersWorld) scalar(sql string, args ...any) int64 {
	w.t.Helper()
	var n int64
	if err := w.a.db.QueryRow(w.ctx, sql, args...).Scan(&n); err != nil {
		w.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (w *offersWorld) batch(stock int) consumer.CouponBatch {
	w.t.Helper()
	sys := identity.System()
	tpl, err := w.a.consumer.CreateCouponTemplate(w.ctx, sys, consumer.CouponTemplate{Name: "满30减5", Kind: consumer.CouponAmount,
		AmountFen: 500, ThresholdFen: 3000, ValidDays: 14})
	if err != nil {
		w.t.Fatal(err)
	}
	b, err := w.a.consumer.CreateCouponBatch(w.ctx, sys, consumer.CouponBatch{TemplateID: tpl.ID, Name: "campaign", Stock: stock, PerMember: 3})
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// send runs the campaign's run to its end: the first sender dies where the offers
// say; after its lease runs out the next tick takes over.
func (w *offersWorld) send(in marketing.CampaignInput) marketing.Campaign {
	w.t.Helper()
	sys := identity.System()
	sg, err := w.mkt.SaveSegment(w.ctx, sys, uuid.Nil, "everyone "+in.Name, marketing.Rule{Field: "joined_after", Date: "2000-01-01"})
	if err != nil {
		w.t.Fatal(err)
	}
	in.SegmentID, in.Schedule = sg.ID, marketing.ScheduleOnce
	c, err := w.mkt.CreateCampaign(w.ctx, sys, in)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := w.mkt.RunDue(w.ctx); err == nil {
		w.t.Fatal("the sender was to die")
	}
	w.a.clock.Advance(2 * time.Minute)
	if err := w.mkt.RunDue(w.ctx); err != nil {
		w.t.Fatal(err)
	}
	if c, err = w.mkt.GetCampaign(w.ctx, sys, c.ID); err != nil {
		w.t.Fatal(err)
	}
	return c
}

// A coupon campaign through loyalty: each member gets one coupon though the worker
// died after loyalty committed a batch, and the batch's stock stops the run.
func TestCampaignCouponsThroughLoyaltyExactlyOnceUntilStockRunsOut(t *testing.T) {
	t.Parallel()
	w := newOffersWorld(t, 40, 2)
	b := w.batch(25)
	c := w.send(marketing.CampaignInput{Name: "stock", Offer: marketing.OfferCoupon, CouponBatch: b.ID.String(),
		UnitCostFen: 500, BudgetFen: 1_000_000})
	if n := w.scalar(`SELECT count(*) FROM consumer.coupons WHERE batch_id = $1`, b.ID); n != 25 {
		t.Errorf("%d coupons issued, want the stock of 25", n)
	}
	if n := w.scalar(`SELECT count(*) FROM (SELECT consumer_id FROM consumer.coupons WHERE batch_id = $1 GROUP BY 1 HAVING count(*) > 1) x`, b.ID); n != 0 {
		t.Errorf("%d members got two coupons", n)
	}
	if n := w.scalar(`SELECT issued FROM consumer.coupon_batches WHERE id = $1`, b.ID); n != 25 {
		t.Errorf("the batch counts %d issued", n)
	}
	if n := w.scalar(`SELECT count(*) FROM marketing.sends WHERE campaign_id = $1 AND arm = 'treatment'`, c.ID); n != 25 {
		t.Errorf("%d members in the treatment, want the 25 who got a coupon", n)
	}
	if c.State != marketing.StateDone || c.SpentFen != 25*500 {
		t.Errorf("campaign %s, spent %d: want done at 12500", c.State, c.SpentFen)
	}
	// Marketing hears of the coupons: members holding the batch are a segment.
	w.deliver()
	got, err := w.mkt.CountRule(w.ctx, identity.System(), marketing.Rule{Field: "coupon_held", Batch: b.ID.String()})
	if err != nil {
		t.Fatal(err)
	}
	if got.Members != 25 {
		t.Errorf("%d members hold the coupon in marketing's eyes, want 25", got.Members)
	}
}

// The budget cap stops issuing: 12 coupons' worth of budget issues 12.
func TestCampaignBudgetCapStopsIssuingInLoyalty(t *testing.T) {
	t.Parallel()
	w := newOffersWorld(t, 30, 1)
	b := w.batch(1000)
	c := w.send(marketing.CampaignInput{Name: "budget", Offer: marketing.OfferCoupon, CouponBatch: b.ID.String(),
		UnitCostFen: 500, BudgetFen: 12 * 500})
	if n := w.scalar(`SELECT count(*) FROM consumer.coupons WHERE batch_id = $1`, b.ID); n != 12 {
		t.Errorf("%d coupons issued, want 12", n)
	}
	if c.State != marketing.StateDone || c.SpentFen != 12*500 {
		t.Errorf("campaign %s, spent %d", c.State, c.SpentFen)
	}
}

// A points campaign credits each member once across a dead worker.
func TestCampaignPointsThroughLoyaltyExactlyOnce(t *testing.T) {
	t.Parallel()
	w := newOffersWorld(t, 25, 2)
	w.send(marketing.CampaignInput{Name: "points", Offer: marketing.OfferPoints, Points: 88, UnitCostFen: 88, BudgetFen: 1_000_000})
	for _, m := range w.members {
		if b, err := w.a.consumer.Balance(w.ctx, m); err != nil || b != 88 {
			t.Fatalf("member %s has %d points (%v), want 88", m, b, err)
		}
	}
}

// What loyalty changes reaches marketing's segments through the membership events:
// points, tiers, tags, profiles and coupons.
func TestSegmentsFollowLoyaltyChanges(t *testing.T) {
	t.Parallel()
	w := newOffersWorld(t, 4, 0)
	sys := identity.System()
	m0, m1, m2, m3 := w.members[0], w.members[1], w.members[2], w.members[3]
	if _, err := w.a.consumer.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: m0, Points: 700, SourceKey: "t:1", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if err := w.a.consumer.AddTag(w.ctx, sys, m1, "咖啡爱好者"); err != nil {
		t.Fatal(err)
	}
	if err := w.a.consumer.SetProfile(w.ctx, sys, m2, consumer.Profile{Gender: consumer.GenderFemale, City: "上海", Birthday: "1990-12-02"}); err != nil {
		t.Fatal(err)
	}
	if err := w.a.consumer.SetTierFloor(w.ctx, sys, m3, 2, w.a.clock.Now().AddDate(0, 1, 0), "VIP"); err != nil {
		t.Fatal(err)
	}
	b := w.batch(10)
	if _, err := w.a.consumer.IssueCoupon(w.ctx, consumer.IssueRequest{BatchID: b.ID, ConsumerID: m3, Source: consumer.IssueManual, SourceKey: "t:c"}); err != nil {
		t.Fatal(err)
	}
	w.deliver()
	for _, c := range []struct {
		rule marketing.Rule
		want uuid.UUID
	}{
		{marketing.Rule{Field: "points_balance", Op: "gte", Value: 700}, m0},
		{marketing.Rule{Field: "tag", Values: []string{"咖啡爱好者"}}, m1},
		{marketing.Rule{And: []marketing.Rule{{Field: "city", Values: []string{"上海"}}, {Field: "gender", Values: []string{"f"}}}}, m2},
		{marketing.Rule{Field: "tier_at_least", Values: []string{"gold"}}, m3},
		{marketing.Rule{Field: "coupon_held", Batch: b.ID.String()}, m3},
	} {
		sg, err := w.mkt.SaveSegment(w.ctx, sys, uuid.Nil, "follow "+c.rule.Field+c.want.String()[:8], c.rule)
		if err != nil {
			t.Fatal(err)
		}
		if sg.Members != 1 {
			t.Errorf("%+v: %d members, want 1", c.rule, sg.Members)
			continue
		}
		if in, err := w.mkt.IsMember(w.ctx, sys, sg.ID, c.want); err != nil || !in {
			t.Errorf("%+v: member %s not in (%v)", c.rule, c.want, err)
		}
	}
	// Taking the tag off takes the member out.
	if err := w.a.consumer.RemoveTag(w.ctx, sys, m1, "咖啡爱好者"); err != nil {
		t.Fatal(err)
	}
	w.deliver()
	if got, err := w.mkt.CountRule(w.ctx, sys, marketing.Rule{Field: "tag", Values: []string{"咖啡爱好者"}}); err != nil || got.Members != 0 {
		t.Errorf("after untagging: %d members (%v)", got.Members, err)
	}
}

// Campaign batches issued side by side never pass the coupon batch's stock: four
// concurrent batches of ten members share a stock of 25, the rest are refused
// out_of_stock, and the batch counts exactly what exists.
func TestConcurrentCampaignBatchesShareTheStockExactly(t *testing.T) {
	t.Parallel()
	w := newOffersWorld(t, 40, 0)
	b := w.batch(25)
	var mu sync.Mutex
	issued, outOfStock := 0, 0
	var wg sync.WaitGroup
	for part := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			grants := make([]consumer.CampaignGrant, 0, 10)
			for _, m := range w.members[part*10 : part*10+10] {
				grants = append(grants, consumer.CampaignGrant{ConsumerID: m, Key: "run:" + m.String()})
			}
			res, err := w.a.consumer.IssueCampaignCoupons(w.ctx, b.ID, grants)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			issued += res.Issued
			for _, reason := range res.Refused {
				if reason == consumer.RefusedOutOfStock {
					outOfStock++
				}
			}
		}()
	}
	wg.Wait()
	if issued != 25 || outOfStock != 15 {
		t.Errorf("issued %d and refused %d out of stock, want 25 and 15", issued, outOfStock)
	}
	if n := w.scalar(`SELECT count(*) FROM consumer.coupons WHERE batch_id = $1`, b.ID); n != 25 {
		t.Errorf("%d coupons exist, want 25", n)
	}
	if n := w.scalar(`SELECT issued FROM consumer.coupon_batches WHERE id = $1`, b.ID); n != 25 {
		t.Errorf("the batch counts %d issued, want 25", n)
	}
}

// A coupon template naming a merchant that does not exist is refused naming
// merchant_ids, and nothing is written; one naming a real merchant is kept.
func TestCouponTemplateRefusesUnknownMerchants(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	d, err := a.seedDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := identity.System()
	before, err := a.consumer.CouponTemplates(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	made := uuid.MustParse("00000000-0000-4000-8000-00000000beef")
	_, err = a.consumer.CreateCouponTemplate(ctx, p, consumer.CouponTemplate{Name: "满30减5", Kind: consumer.CouponAmount, AmountFen: 500,
		ThresholdFen: 3000, ValidDays: 7, MerchantIDs: []uuid.UUID{d.merchantID, made}})
	var e *errs.Error
	if !errors.As(err, &e) || e.Kind != errs.KindInvalid || e.Code != consumer.CodeCouponInvalid || e.Field != "merchant_ids" {
		t.Fatalf("a made-up merchant: %v, want %s naming merchant_ids", err, consumer.CodeCouponInvalid)
	}
	after, err := a.consumer.CouponTemplates(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("a refused template was written: %d templates, had %d", len(after), len(before))
	}
	tpl, err := a.consumer.CreateCouponTemplate(ctx, p, consumer.CouponTemplate{Name: "满30减5", Kind: consumer.CouponAmount, AmountFen: 500,
		ThresholdFen: 3000, ValidDays: 7, MerchantIDs: []uuid.UUID{d.merchantID}})
	if err != nil || len(tpl.MerchantIDs) != 1 || tpl.MerchantIDs[0] != d.merchantID {
		t.Fatalf("a real merchant: %+v, %v", tpl, err)
	}
}
