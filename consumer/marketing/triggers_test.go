package marketing_test

import (
	"maps"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Triggered campaigns send each member once per occurrence: a birthday once a year,
// a first order once, a lapse once per last order, a tier change once per change;
// ticking again (or the worker sending twice) sends nothing more.
func TestTriggeredCampaignsFireOncePerOccurrence(t *testing.T) {
	t.Parallel()
	offers := newFakeOffers(1 << 30)
	svc, clk, ctx, db := newService(t, marketing.Ports{Offers: offers})
	sys := identity.System()
	join := func() uuid.UUID {
		id := uuid.Must(uuid.NewV7())
		deliverTo(t, svc, envelope(t, events.TopicMemberJoined, events.MemberJoined{ConsumerID: id, JoinedAt: testNow.AddDate(-1, 0, 0)}))
		return id
	}
	pay := func(id uuid.UUID, at time.Time) {
		deliverTo(t, svc, envelope(t, events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), ConsumerID: id,
			MerchantID: uuid.Must(uuid.NewV7()), AmountFen: 3000, PaidAt: at}))
	}
	// testNow is 2026-12-06 18:00 in Shanghai.
	bday, other, buyer, lapser, vip := join(), join(), join(), join(), join()
	deliverTo(t, svc, envelope(t, events.TopicProfileChanged, events.ProfileChanged{ConsumerID: bday, Birthday: "1990-12-06"}))
	deliverTo(t, svc, envelope(t, events.TopicProfileChanged, events.ProfileChanged{ConsumerID: other, Birthday: "1990-12-07"}))
	pay(lapser, testNow.AddDate(0, 0, -29))
	everyone := saveAll(t, svc, "everyone", marketing.Rule{Field: "joined_after", Date: "2000-01-01"})
	campaign := func(name, trigger string, days int) marketing.Campaign {
		c, err := svc.CreateCampaign(ctx, sys, marketing.CampaignInput{Name: name, SegmentID: everyone.ID, Offer: marketing.OfferPoints,
			Points: 10, UnitCostFen: 10, BudgetFen: 1_000_000, Schedule: marketing.ScheduleTriggered, Trigger: trigger, TriggerDays: days})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cBday := campaign("birthday", marketing.TriggerBirthday, 0)
	cFirst := campaign("first order", marketing.TriggerFirstOrder, 0)
	cLapse := campaign("lapsed 30", marketing.TriggerLapsed, 30)
	cTier := campaign("tier", marketing.TriggerTierChanged, 0)
	tick := func() {
		t.Helper()
		if _, err := svc.FireTriggers(ctx); err != nil {
			t.Fatal(err)
		}
		if err := svc.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := func(c marketing.Campaign, member uuid.UUID) int {
		t.Helper()
		n := 0
		for k, m := range offers.snapshot() {
			if m == member && campaignOf(t, db, k) == c.ID {
				n++
			}
		}
		return n
	}
	tick()
	if got(cBday, bday) != 1 || got(cBday, other) != 0 {
		t.Fatalf("birthday: %d for the birthday, %d for another day", got(cBday, bday), got(cBday, other))
	}
	// After the campaign started: a first order, a tier change; a day later the lapse.
	clk.Freeze(testNow.Add(time.Hour))
	pay(buyer, testNow.Add(time.Hour))
	deliverTo(t, svc, envelope(t, events.TopicTierChanged, events.TierChanged{ConsumerID: vip, From: "0", To: "2", ChangedAt: testNow.Add(time.Hour)}))
	tick()
	tick()
	if got(cFirst, buyer) != 1 || got(cTier, vip) != 1 || got(cLapse, lapser) != 0 {
		t.Fatalf("first order %d, tier %d, lapse before 30 days %d", got(cFirst, buyer), got(cTier, vip), got(cLapse, lapser))
	}
	clk.Freeze(testNow.AddDate(0, 0, 1).Add(time.Hour))
	pay(buyer, testNow.AddDate(0, 0, 1)) // a second order is no first order
	tick()
	tick()
	if got(cLapse, lapser) != 1 || got(cFirst, buyer) != 1 || got(cBday, bday) != 1 {
		t.Fatalf("lapse %d, first order %d, birthday %d", got(cLapse, lapser), got(cFirst, buyer), got(cBday, bday))
	}
	// Another tier change is another occurrence.
	deliverTo(t, svc, envelope(t, events.TopicTierChanged, events.TierChanged{ConsumerID: vip, From: "2", To: "1", ChangedAt: testNow.AddDate(0, 0, 1)}))
	tick()
	if got(cTier, vip) != 2 {
		t.Fatalf("second tier change: %d", got(cTier, vip))
	}
	// A triggered campaign is not started by hand, and needs a known trigger.
	if err := svc.StartCampaignNow(ctx, sys, cTier.ID); errs.CodeOf(err) != marketing.CodeCampaignState {
		t.Fatalf("start a triggered campaign by hand: %v", err)
	}
	for field, in := range map[string]marketing.CampaignInput{
		"trigger":      {Trigger: "anniversary"},
		"trigger_days": {Trigger: marketing.TriggerLapsed},
	} {
		in.Name, in.SegmentID, in.Offer, in.Points, in.UnitCostFen, in.BudgetFen, in.Schedule = "bad", everyone.ID, marketing.OfferPoints, 1, 1, 100, marketing.ScheduleTriggered
		if _, err := svc.CreateCampaign(ctx, sys, in); errs.As(err) == nil || errs.As(err).Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
}

// campaignOf is the campaign of a grant key "<run>:<member>".
func campaignOf(t *testing.T, db *pgxpoolT, key string) uuid.UUID {
	t.Helper()
	var c uuid.UUID
	if err := db.QueryRow(t.Context(), `SELECT campaign_id FROM marketing.campaign_runs WHERE id = $1`, key[:36]).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeOffers) snapshot() map[string]uuid.UUID {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.issued)
}
