package marketing

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
)

// DemoMembers is how many synthetic members the demo has.
const DemoMembers = 3000

// Demo gives the growth pages something real: synthetic members (once), the
// growth team's example segment, and a coupon campaign with a half control group,
// sent. It is idempotent. p is the growth operator; referrer invited invitees, members
// loyalty made (consumer.DemoInvites), so that each referral opens a member 360.
func Demo(ctx context.Context, s *Service, p *identity.Principal, referrer uuid.UUID, invitees []uuid.UUID) error {
	var members int64
	if err := s.db.QueryRow(ctx, `SELECT count(*) FROM marketing.members`).Scan(&members); err != nil {
		return err
	}
	if members < DemoMembers {
		if _, err := s.SeedMembers(ctx, DemoMembers, 2026); err != nil {
			return err
		}
		if _, err := s.Rebuild(ctx); err != nil {
			return err
		}
		if _, err := s.Snapshot(ctx); err != nil {
			return err
		}
	}
	segs, err := s.ListSegments(ctx, p)
	if err != nil || len(segs) > 0 {
		return err
	}
	sg, err := s.SaveSegment(ctx, p, uuid.Nil, "上海 · 30 天内买过咖啡 · 7 天内未下单 · 银卡及以上", Rule{And: []Rule{
		{Field: "city", Values: []string{"上海"}},
		{Field: "category_within_days", Category: "coffee", Value: 30},
		{Not: &Rule{Field: "ordered_within_days", Value: 7}},
		{Field: "tier_at_least", Values: []string{"silver"}},
	}})
	if err != nil {
		return fmt.Errorf("demo segment: %w", err)
	}
	if _, err := s.SaveSegment(ctx, p, uuid.Nil, "流失召回 Win-back", WinBackRule()); err != nil {
		return fmt.Errorf("demo segment: %w", err)
	}
	if err := demoReferrals(ctx, s, referrer, invitees); err != nil {
		return fmt.Errorf("demo referrals: %w", err)
	}
	// The synthetic members are not loyalty's members: the demo's campaign is sent
	// through the log issuer, so its results show a real control group.
	s = New(domain.Deps{DB: s.db, Log: s.log, Clock: s.clock}, Ports{}, s.cfg)
	c, err := s.CreateCampaign(ctx, p, CampaignInput{Name: "满30减5 咖啡回访", SegmentID: sg.ID, Offer: OfferCoupon,
		CouponBatch: "MAN30JIAN5", UnitCostFen: 500, BudgetFen: 100000, HoldoutPct: 50, Schedule: ScheduleOnce})
	if err != nil {
		return fmt.Errorf("demo campaign: %w", err)
	}
	run, err := s.StartNow(ctx, c.ID)
	if err != nil {
		return err
	}
	return s.SendRun(ctx, run)
}

// demoReferrals has referrer invite invitees, who have not ordered yet: the referral
// programme's page shows them waiting for their first orders.
func demoReferrals(ctx context.Context, s *Service, referrer uuid.UUID, invitees []uuid.UUID) error {
	code, err := s.ReferralCode(ctx, referrer, "demo-device-referrer")
	if err != nil {
		return err
	}
	for i, id := range invitees {
		if err := s.AcceptInvite(ctx, id, code, fmt.Sprintf("demo-device-%d", i)); err != nil {
			return err
		}
	}
	return nil
}
