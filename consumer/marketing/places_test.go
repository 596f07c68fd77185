package marketing_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
)

// near_merchant counts the members who buy within a radius of a merchant (where
// their latest order was), live and after a rebuild from the tables; a bad radius or
// merchant is refused naming the rule.
func TestNearMerchantCountsMembersWhoBuyNearby(t *testing.T) {
	t.Parallel()
	svc, _, ctx, _ := newService(t, marketing.Ports{})
	sys := identity.System()
	shop := func(lat, lng float64) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		deliverTo(t, svc, envelope(t, events.TopicMerchantLive, events.MerchantLive{MerchantID: id, Name: "店", Category: "coffee", City: "上海", Lat: lat, Lng: lng}))
		return id
	}
	square := shop(31.2304, 121.4737)  // People's Square
	jingan := shop(31.2235, 121.4480)  // Jing'an Temple, about 2.6 km west
	beijing := shop(39.9042, 116.4074) // Beijing
	buyer := func(at ...uuid.UUID) uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		deliverTo(t, svc, envelope(t, events.TopicMemberJoined, events.MemberJoined{ConsumerID: id, JoinedAt: testNow.AddDate(0, -1, 0)}))
		for i, m := range at {
			deliverTo(t, svc, envelope(t, events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), ConsumerID: id,
				MerchantID: m, AmountFen: 2500, PaidAt: testNow.Add(time.Duration(i-10) * time.Hour)}))
		}
		return id
	}
	buyer(square)
	buyer(beijing, square) // moved: the latest order places them
	buyer(jingan)
	buyer(square, beijing)
	buyer() // never bought: nowhere
	count := func(radius int64) uint64 {
		t.Helper()
		c, err := svc.CountRule(ctx, sys, marketing.Rule{Field: "near_merchant", Merchant: square.String(), Value: radius})
		if err != nil {
			t.Fatal(err)
		}
		return c.Members
	}
	if n := count(1000); n != 2 {
		t.Errorf("within 1 km of the square: %d, want 2", n)
	}
	if n := count(5000); n != 3 {
		t.Errorf("within 5 km of the square: %d, want 3", n)
	}
	if _, err := svc.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if n := count(5000); n != 3 {
		t.Errorf("after a rebuild, within 5 km: %d, want 3", n)
	}
	for _, bad := range []marketing.Rule{
		{Field: "near_merchant", Merchant: square.String(), Value: 10},
		{Field: "near_merchant", Merchant: uuid.Must(uuid.NewV7()).String(), Value: 1000},
		{Field: "near_merchant", Merchant: "the square", Value: 1000},
	} {
		_, err := svc.CountRule(ctx, sys, marketing.Rule{And: []marketing.Rule{{Field: "city", Values: []string{"上海"}}, bad}})
		if e := errs.As(err); e == nil || e.Code != marketing.CodeRuleInvalid || e.Field != "rule.and[1](near_merchant)" {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}
