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

// The operators' settings replace the defaults: out-of-bounds values are refused
// naming the field and change nothing; a shorter window rewards sooner, and a side
// set to 0 points gets nothing.
func TestReferralSettingsSetTheRewardsAndTheWindow(t *testing.T) {
	t.Parallel()
	offers := newFakeOffers(0)
	svc, clk, ctx, _ := newService(t, marketing.Ports{Offers: offers})
	sys := identity.System()
	prog, err := svc.GetReferralProgramme(ctx, sys)
	if err != nil || prog.Settings != (marketing.ReferralSettings{ReferrerPoints: 200, InviteePoints: 100, WindowDays: 7}) {
		t.Fatalf("defaults: %+v, %v", prog.Settings, err)
	}
	for _, bad := range []struct {
		in    marketing.ReferralSettings
		field string
	}{
		{marketing.ReferralSettings{ReferrerPoints: -1, InviteePoints: 10, WindowDays: 7}, "referrer_points"},
		{marketing.ReferralSettings{ReferrerPoints: 10, InviteePoints: 100_001, WindowDays: 7}, "invitee_points"},
		{marketing.ReferralSettings{ReferrerPoints: 10, InviteePoints: 10, WindowDays: 0}, "window_days"},
		{marketing.ReferralSettings{ReferrerPoints: 10, InviteePoints: 10, WindowDays: 91}, "window_days"},
	} {
		_, err := svc.SetReferralSettings(ctx, sys, bad.in)
		if e := errs.As(err); e == nil || e.Code != marketing.CodeReferralSettingsInvalid || e.Field != bad.field {
			t.Errorf("%+v: %v, want %s naming %s", bad.in, err, marketing.CodeReferralSettingsInvalid, bad.field)
		}
	}
	if prog, _ := svc.GetReferralProgramme(ctx, sys); prog.Settings.UpdatedAt != nil {
		t.Fatalf("a refused change was saved: %+v", prog.Settings)
	}
	if _, err := svc.SetReferralSettings(ctx, sys, marketing.ReferralSettings{ReferrerPoints: 300, InviteePoints: 0, WindowDays: 2}); err != nil {
		t.Fatal(err)
	}

	referrer, invitee := uuid.New(), uuid.New()
	for _, id := range []uuid.UUID{referrer, invitee} {
		deliverTo(t, svc, envelope(t, events.TopicMemberJoined, events.MemberJoined{ConsumerID: id, JoinedAt: testNow}))
	}
	code, err := svc.ReferralCode(ctx, referrer, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.AcceptInvite(ctx, invitee, code, ""); err != nil {
		t.Fatal(err)
	}
	deliverTo(t, svc, envelope(t, events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.New(), ConsumerID: invitee,
		MerchantID: uuid.New(), AmountFen: 5000, PaidAt: clk.Now()}))
	clk.Freeze(testNow.Add(2*24*time.Hour + time.Minute)) // past the 2 days set, inside the default 7
	if n, err := svc.SettleReferrals(ctx); err != nil || n != 1 {
		t.Fatalf("settled %d, %v: want the referral rewarded after 2 days", n, err)
	}
	if got := offers.members(); len(got) != 1 || got[referrer] != 1 {
		t.Fatalf("rewards %v: want the referrer only (the invitee's reward is 0)", got)
	}
	prog, err = svc.GetReferralProgramme(ctx, sys)
	if err != nil || prog.Figures.Rewarded != 1 || len(prog.Latest) != 1 || prog.Settings.ReferrerPoints != 300 {
		t.Fatalf("programme %+v, %v", prog, err)
	}
}
