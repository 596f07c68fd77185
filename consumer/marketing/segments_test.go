package marketing_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

var testNow = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func newService(t *testing.T, ports marketing.Ports) (*marketing.Service, *clock.Settable, context.Context, *pgxpoolT) {
	t.Helper()
	db := pgtest.New(t, marketing.Migrations)
	c := clock.NewSettable()
	c.Freeze(testNow)
	svc := marketing.New(domain.Deps{DB: db, Clock: c}, ports, marketing.Config{TailEvery: time.Nanosecond, SendBatch: 300})
	return svc, c, context.Background(), db
}

// sqlCount counts members with a SQL predicate over marketing.members m: the ground
// truth the bitmaps must agree with.
func sqlCount(t *testing.T, db *pgxpoolT, where string, args ...any) uint64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM marketing.members m WHERE `+where, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return uint64(n)
}

// The bitmap counts of seeded members agree with SQL over the same tables, for each
// kind of condition and their combinations.
func TestSegmentCountsAgreeWithTables(t *testing.T) {
	t.Parallel()
	svc, _, ctx, db := newService(t, marketing.Ports{})
	if _, err := svc.SeedMembers(ctx, 3000, 7); err != nil {
		t.Fatal(err)
	}
	sys := identity.System()
	shanghaiToday := "date_trunc('day', $1::timestamptz AT TIME ZONE 'Asia/Shanghai')"
	cases := []struct {
		name  string
		rule  marketing.Rule
		where string
		args  []any
	}{
		{"city", marketing.Rule{Field: "city", Values: []string{"上海", "北京"}}, `city IN ('上海', '北京')`, nil},
		{"tier at least silver", marketing.Rule{Field: "tier_at_least", Values: []string{"silver"}}, `tier IN ('silver', 'gold', 'platinum')`, nil},
		{"tag", marketing.Rule{Field: "tag", Values: []string{"咖啡爱好者"}}, `'咖啡爱好者' = ANY(tags)`, nil},
		{"ordered in 30 days", marketing.Rule{Field: "ordered_within_days", Value: 30},
			`(last_order_at AT TIME ZONE 'Asia/Shanghai') >= ` + shanghaiToday + ` - interval '29 days'`, []any{testNow}},
		{"lapsed 90 days", marketing.Rule{Field: "lapsed_days", Value: 90},
			`(last_order_at AT TIME ZONE 'Asia/Shanghai') < ` + shanghaiToday + ` - interval '89 days'`, []any{testNow}},
		{"points", marketing.Rule{Field: "points_balance", Op: "gte", Value: 500}, `points_balance >= 500`, nil},
		{"rfm", marketing.Rule{Field: "rfm_r", Op: "gte", Value: 4}, `rfm_r >= 4`, nil},
		{"coupon unused", marketing.Rule{Field: "coupon_unused", Batch: "WELCOME5"},
			`EXISTS (SELECT 1 FROM marketing.member_coupons c WHERE c.seq = m.seq AND c.batch_id = 'WELCOME5' AND c.unused > 0)`, nil},
		{"coffee in 30 but not in 7, silver or above, Shanghai, not price-sensitive", marketing.Rule{And: []marketing.Rule{
			{Field: "city", Values: []string{"上海"}},
			{Field: "category_within_days", Category: "coffee", Value: 30},
			{Not: &marketing.Rule{Field: "category_within_days", Category: "coffee", Value: 7}},
			{Field: "tier_at_least", Values: []string{"silver"}},
			{Not: &marketing.Rule{Field: "tag", Values: []string{"价格敏感"}}},
		}}, `city = '上海' AND tier <> 'member' AND NOT ('价格敏感' = ANY(tags)) AND EXISTS (SELECT 1 FROM marketing.member_categories c
			WHERE c.seq = m.seq AND c.category = 'coffee' AND (c.last_order_at AT TIME ZONE 'Asia/Shanghai') >= ` + shanghaiToday + ` - interval '29 days'
			AND (c.last_order_at AT TIME ZONE 'Asia/Shanghai') < ` + shanghaiToday + ` - interval '6 days')`, []any{testNow}},
		{"or", marketing.Rule{Or: []marketing.Rule{{Field: "gender", Values: []string{"f"}}, {Field: "orders_count", Op: "gte", Value: 10}}},
			`gender = 'f' OR orders_count >= 10`, nil},
		{"joined after", marketing.Rule{Field: "joined_after", Date: "2025-06-01"},
			`(joined_at AT TIME ZONE 'Asia/Shanghai') >= '2025-06-01'`, nil},
	}
	for _, c := range cases {
		got, err := svc.CountRule(ctx, sys, c.rule)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want := sqlCount(t, db, c.where, c.args...)
		if got.Members != want || got.Of != 3000 {
			t.Errorf("%s: bitmaps count %d of %d, SQL %d", c.name, got.Members, got.Of, want)
		}
		if want == 0 {
			t.Errorf("%s: the case selects nobody, so it proves nothing", c.name)
		}
	}
}

// Bad rules are refused naming the rule, and nothing is saved.
func TestBadRulesAreRefusedNamingTheRule(t *testing.T) {
	t.Parallel()
	svc, _, ctx, _ := newService(t, marketing.Ports{})
	if _, err := svc.SeedMembers(ctx, 100, 1); err != nil {
		t.Fatal(err)
	}
	sys := identity.System()
	cases := []struct {
		rule  marketing.Rule
		field string
	}{
		{marketing.Rule{And: []marketing.Rule{{Field: "city", Values: []string{"上海"}}, {Field: "tag", Values: []string{"no such tag"}}}}, "rule.and[1](tag)"},
		{marketing.Rule{Or: []marketing.Rule{{Not: &marketing.Rule{Field: "joined_after", Date: "2026-13-01"}}}}, "rule.or[0].not(joined_after)"},
		{marketing.Rule{Field: "tier", Values: []string{"diamond"}}, "rule(tier)"},
		{marketing.Rule{Field: "ordered_within_days", Value: 0}, "rule(ordered_within_days)"},
		{marketing.Rule{Field: "height"}, "rule(height)"},
		{marketing.Rule{}, "rule"},
	}
	for _, c := range cases {
		_, err := svc.SaveSegment(ctx, sys, uuid.Nil, "bad", c.rule)
		if e := errs.As(err); e == nil || e.Code != marketing.CodeRuleInvalid || e.Field != c.field {
			t.Errorf("rule %+v: %v, want %s naming %s", c.rule, err, marketing.CodeRuleInvalid, c.field)
		}
	}
	list, err := svc.ListSegments(ctx, sys)
	if err != nil || len(list) != 0 {
		t.Fatalf("segments after refusals: %v, %v", list, err)
	}
}

// A saved segment stays current: events applied by the worker (another Service on
// the same database: another process) show in this process's counts, export and
// membership lookup; a redelivered event changes nothing.
func TestSavedSegmentFollowsEvents(t *testing.T) {
	t.Parallel()
	svc, _, ctx, db := newService(t, marketing.Ports{})
	worker := marketing.New(domain.Deps{DB: db, Clock: clock.Func(func() time.Time { return testNow })}, marketing.Ports{}, marketing.Config{})
	sys := identity.System()
	deliver := func(topic events.Topic, payload any) events.Envelope {
		t.Helper()
		e := envelope(t, topic, payload)
		deliverTo(t, worker, e)
		return e
	}
	a, b := uuid.New(), uuid.New()
	merchant := uuid.New()
	deliver(events.TopicMerchantLive, events.MerchantLive{MerchantID: merchant, Category: "coffee", City: "上海"})
	for _, id := range []uuid.UUID{a, b} {
		deliver(events.TopicMemberJoined, events.MemberJoined{ConsumerID: id, JoinedAt: testNow.Add(-100 * 24 * time.Hour)})
		deliver(events.TopicProfileChanged, events.ProfileChanged{ConsumerID: id, City: "上海", Gender: "f"})
	}
	deliver(events.TopicTagsChanged, events.TagsChanged{ConsumerID: a, Tags: []string{"咖啡爱好者"}})
	sg, err := svc.SaveSegment(ctx, sys, uuid.Nil, "上海咖啡 30 天", marketing.Rule{And: []marketing.Rule{
		{Field: "city", Values: []string{"上海"}},
		{Field: "category_within_days", Category: "coffee", Value: 30},
		{Field: "tag", Values: []string{"咖啡爱好者"}},
	}})
	if err == nil {
		t.Fatalf("a rule on a category nobody ordered in was saved: %+v", sg)
	}
	pay := deliver(events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.New(), ConsumerID: a, MerchantID: merchant,
		AmountFen: 3200, PaidAt: testNow.Add(-3 * 24 * time.Hour)})
	deliverTo(t, worker, pay) // redelivered
	sg, err = svc.SaveSegment(ctx, sys, uuid.Nil, "上海咖啡 30 天", marketing.Rule{And: []marketing.Rule{
		{Field: "city", Values: []string{"上海"}},
		{Field: "category_within_days", Category: "coffee", Value: 30},
		{Field: "tag", Values: []string{"咖啡爱好者"}},
	}})
	if err != nil || sg.Members != 1 {
		t.Fatalf("save: %+v, %v (want 1 member)", sg, err)
	}
	// b orders coffee and gets the tag: the saved segment has both.
	deliver(events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.New(), ConsumerID: b, MerchantID: merchant,
		AmountFen: 1800, PaidAt: testNow.Add(-time.Hour)})
	deliver(events.TopicTagsChanged, events.TagsChanged{ConsumerID: b, Tags: []string{"咖啡爱好者", "白领"}})
	got, err := svc.GetSegment(ctx, sys, sg.ID)
	if err != nil || got.Members != 2 {
		t.Fatalf("segment after events: %+v, %v (want 2)", got, err)
	}
	// a loses the tag: gone from the segment.
	deliver(events.TopicTagsChanged, events.TagsChanged{ConsumerID: a, Tags: nil})
	var exported []uuid.UUID
	if err := svc.ExportSegment(ctx, sys, sg.ID, func(id uuid.UUID) error { exported = append(exported, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(exported) != 1 || exported[0] != b {
		t.Fatalf("export %v, want only %s", exported, b)
	}
	for id, want := range map[uuid.UUID]bool{a: false, b: true} {
		if in, err := svc.IsMember(ctx, sys, sg.ID, id); err != nil || in != want {
			t.Fatalf("member %s in segment: %v, %v (want %v)", id, in, err, want)
		}
	}
	// Spend counted once despite the redelivery.
	if n := sqlCount(t, db, `consumer_id = $1 AND spend_fen = 3200 AND orders_count = 1`, a); n != 1 {
		t.Fatal("the redelivered payment was counted twice")
	}
	// A fresh process starts from the snapshot plus the change log and agrees.
	if _, err := svc.Snapshot(ctx); err != nil {
		t.Fatal(err)
	}
	deliver(events.TopicTierChanged, events.TierChanged{ConsumerID: b, From: "", To: "gold"})
	fresh := marketing.New(domain.Deps{DB: db, Clock: clock.Func(func() time.Time { return testNow })}, marketing.Ports{}, marketing.Config{})
	c, err := fresh.CountRule(ctx, sys, marketing.Rule{And: []marketing.Rule{{Field: "tier", Values: []string{"gold"}}, {Field: "tag", Values: []string{"白领"}}}})
	if err != nil || c.Members != 1 {
		t.Fatalf("fresh process: %+v, %v", c, err)
	}
}

// Counts from many requests at once while events arrive: no race, and every count
// is one the members could have had.
func TestConcurrentCountsWhileEventsArrive(t *testing.T) {
	t.Parallel()
	svc, _, ctx, _ := newService(t, marketing.Ports{})
	if _, err := svc.SeedMembers(ctx, 500, 11); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	sys := identity.System()
	rule := marketing.Rule{Field: "tag", Values: []string{"白领"}}
	before, err := svc.CountRule(ctx, sys, rule)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	added := 20
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range added {
			id := uuid.New()
			deliverTo(t, svc, envelope(t, events.TopicTagsChanged, events.TagsChanged{ConsumerID: id, Tags: []string{"白领"}}))
		}
	}()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				c, err := svc.CountRule(ctx, sys, rule)
				if err != nil || c.Members < before.Members || c.Members > before.Members+uint64(added) {
					t.Errorf("count %d (%v), between %d and %d", c.Members, err, before.Members, before.Members+uint64(added))
					return
				}
			}
		}()
	}
	wg.Wait()
	after, err := svc.CountRule(ctx, sys, rule)
	if err != nil || after.Members != before.Members+uint64(added) {
		t.Fatalf("after: %d, want %d (%v)", after.Members, before.Members+uint64(added), err)
	}
}
