package marketing_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
)

// fakeAudiences is matching: one merchant with an audience, counting its calls.
type fakeAudiences struct {
	merchant uuid.UUID
	members  []uuid.UUID
	calls    int
}

func (f *fakeAudiences) AudienceFor(_ context.Context, merchantID uuid.UUID, _ int) ([]uuid.UUID, error) {
	f.calls++
	if merchantID != f.merchant {
		return nil, errs.NotFound("matching.merchant")
	}
	return f.members, nil
}

// Matching's audience for a merchant is a condition like any other: combined with
// the others, saved as a campaign's segment; a bad merchant is refused naming the rule.
func TestMatchingAudienceIsASegmentCondition(t *testing.T) {
	t.Parallel()
	aud := &fakeAudiences{merchant: uuid.Must(uuid.NewV7())}
	svc, _, ctx, _ := newService(t, marketing.Ports{Audiences: aud, Offers: newFakeOffers(100)})
	sys := identity.System()
	var ms []uuid.UUID
	for range 4 {
		id := uuid.Must(uuid.NewV7())
		deliverTo(t, svc, envelope(t, events.TopicMemberJoined, events.MemberJoined{ConsumerID: id, JoinedAt: testNow}))
		ms = append(ms, id)
	}
	deliverTo(t, svc, envelope(t, events.TopicTagsChanged, events.TagsChanged{ConsumerID: ms[1], Tags: []string{"已流失"}}))
	aud.members = []uuid.UUID{ms[0], ms[1], ms[2], uuid.Must(uuid.NewV7())} // one matching knows and marketing does not
	rule := marketing.Rule{And: []marketing.Rule{{Field: "matching_audience", Merchant: aud.merchant.String()},
		{Not: &marketing.Rule{Field: "tag", Values: []string{"已流失"}}}}}
	c, err := svc.CountRule(ctx, sys, rule)
	if err != nil || c.Members != 2 {
		t.Fatalf("audience without the lapsed tag: %+v, %v", c, err)
	}
	sg, err := svc.SaveSegment(ctx, sys, uuid.Nil, "shop audience", rule)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false, true, false} {
		if in, err := svc.IsMember(ctx, sys, sg.ID, ms[i]); err != nil || in != want {
			t.Errorf("member %d: in %v (%v), want %v", i, in, err, want)
		}
	}
	if aud.calls != 1 {
		t.Errorf("matching asked %d times; a fresh audience is reused", aud.calls)
	}
	if _, err := svc.CreateCampaign(ctx, sys, marketing.CampaignInput{Name: "shop", SegmentID: sg.ID, Offer: marketing.OfferCoupon,
		CouponBatch: "B", UnitCostFen: 500, BudgetFen: 5000, Schedule: marketing.ScheduleOnce}); err != nil {
		t.Fatalf("a campaign to matching's audience: %v", err)
	}
	for merchant, path := range map[string]string{"shop-7": "rule.or[1](matching_audience)", uuid.Must(uuid.NewV7()).String(): "rule.or[1](matching_audience)"} {
		bad := marketing.Rule{Or: []marketing.Rule{{Field: "tag", Values: []string{"已流失"}}, {Field: "matching_audience", Merchant: merchant}}}
		_, err := svc.CountRule(ctx, sys, bad)
		if e := errs.As(err); e == nil || e.Code != marketing.CodeRuleInvalid || e.Field != path {
			t.Errorf("merchant %q: %v", merchant, err)
		}
	}
}
