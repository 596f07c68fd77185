package consumer

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/pg"
)

// DemoOpenID and DemoPhone name the demo member.
const (
	DemoOpenID = "o-demo-consumer-0001"
	DemoPhone  = "13800138000"
)

// demoSpace names the demo's orders, so that loading the demo twice changes nothing.
var demoSpace = uuid.MustParse("6f1c7a52-43a0-4c61-9a0e-2b1d3e0c8d11")

type demoMember struct {
	openid, phone, name, gender, birthday, city string
	paidFen                                     int64    // paid eleven months ago: lots about to expire
	recentFen                                   int64    // paid last week: still pending
	tags                                        []string // by hand
}

var demoMembers = []demoMember{
	{DemoOpenID, DemoPhone, "王小明", GenderMale, "1992-05-20", "上海", 128_50, 0, []string{"VIP"}},
	{"o-demo-member-gold", "13800138001", "李娜", GenderFemale, "1988-11-02", "上海", 620_000, 35_000, []string{"VIP", "高价值"}},
	{"o-demo-member-silver", "13800138002", "张伟", GenderMale, "1999-03-15", "杭州", 150_000, 8_800, []string{"夜宵常客"}},
	{"o-demo-member-new", "13800138003", "陈静", GenderFemale, "2001-08-30", "苏州", 9_900, 4_500, nil},
}

// demoBelowRetention is a Silver member in their second evaluation period, which ends
// within the tier-drop notice window with less than Silver's retention threshold
// (保级) this period: the 360 shows "tier will drop". In the first period they paid
// firstFen (Silver at once, kept at the period's end); in this one only thisFen.
var demoBelowRetention = struct {
	demoMember
	firstFen, thisFen int64
	endsIn            int // days from now to the period's end
}{demoMember{"o-demo-member-drop", "13800138004", "刘洋", GenderMale, "1995-07-12", "南京", 0, 0, []string{"沉睡召回"}},
	120_000, 20_000, 20}

// at is the service as of another time: demo history is made through the service's
// own rules, only earlier.
func (s *Service) at(t time.Time) *Service {
	c := *s
	c.clock = clock.Func(func() time.Time { return t })
	return &c
}

// Demo makes demo members in several tiers, with points lots about to expire and
// pending ones, profiles and tags, a coupon template and batch with coupons issued and
// used. Everything goes through the service and is idempotent. It returns the first
// demo member's id (the one the mini-program demo signs in as).
func Demo(ctx context.Context, s *Service, appID string) (uuid.UUID, error) {
	now := s.now()
	past, recent := s.at(now.AddDate(0, -11, 0)), s.at(now.AddDate(0, 0, -3))
	actor := audit.Actor{Login: "demo"}
	if err := s.demoProgram(ctx); err != nil {
		return uuid.Nil, err
	}
	var first uuid.UUID
	ids := make([]uuid.UUID, len(demoMembers))
	for i, d := range demoMembers {
		m, _, err := past.Join(ctx, JoinRequest{AppID: appID, OpenID: d.openid, Phone: d.phone})
		if err != nil {
			return uuid.Nil, err
		}
		ids[i] = m.ID
		if i == 0 {
			first = m.ID
		}
		if err := s.demoProfile(ctx, actor, m.ID, d); err != nil {
			return uuid.Nil, err
		}
		if d.paidFen > 0 {
			if err := past.demoOrder(ctx, m.ID, d.openid+":paid", d.paidFen); err != nil {
				return uuid.Nil, err
			}
		}
		if _, err := past.EarnForAction(ctx, ActionRequest{ConsumerID: m.ID, Action: ActionSignup}); err != nil {
			return uuid.Nil, err
		}
		if _, err := s.at(now.AddDate(0, -11, 8)).ReleasePending(ctx); err != nil {
			return uuid.Nil, err
		}
		if d.recentFen > 0 {
			if err := recent.demoOrder(ctx, m.ID, d.openid+":recent", d.recentFen); err != nil {
				return uuid.Nil, err
			}
		}
	}
	if err := s.demoDrop(ctx, appID, actor); err != nil {
		return uuid.Nil, fmt.Errorf("demo member below retention: %w", err)
	}
	// 李娜 invited 陈静, who qualified: a referral on both members' 360.
	if _, err := past.EarnForAction(ctx, ActionRequest{ConsumerID: ids[1], Action: ActionReferral, Ref: ids[3].String()}); err != nil {
		return uuid.Nil, err
	}
	if _, err := s.Redeem(ctx, ids[1], RedeemRequest{Points: 200, Key: "demo-gift", Reason: "gift: a mug"}); err != nil {
		return uuid.Nil, fmt.Errorf("demo redemption: %w", err)
	}
	return first, s.demoCoupons(ctx, actor, ids)
}

// demoDrop makes demoBelowRetention's two periods through the service's own jobs, as
// of the days they would have run: joined two periods ago less endsIn days, paid, the
// points released (Silver), the first period evaluated (kept), the first lots expired,
// a small payment in this period, and the tier-drop notices of today.
func (s *Service) demoDrop(ctx context.Context, appID string, actor audit.Actor) error {
	d := demoBelowRetention
	prog, err := s.tierProgram(ctx, consumerdb.New(s.db))
	if err != nil {
		return err
	}
	period := prog.PeriodMonths
	joined := s.now().AddDate(0, -2*period, d.endsIn)
	second := joined.AddDate(0, period, 0)
	day := func(t time.Time, days int) *Service { return s.at(t.AddDate(0, 0, days)) }
	m, _, err := s.at(joined).Join(ctx, JoinRequest{AppID: appID, OpenID: d.openid, Phone: d.phone})
	if err != nil {
		return err
	}
	if err := s.demoProfile(ctx, actor, m.ID, d.demoMember); err != nil {
		return err
	}
	steps := []func() error{
		func() error { return s.at(joined).demoOrder(ctx, m.ID, d.openid+":first", d.firstFen) },
		func() error { _, err := day(joined, 8).ReleasePending(ctx); return err },
		func() error { _, err := s.at(second.Add(time.Hour)).EvaluatePeriods(ctx); return err },
		func() error { return day(second, 2).demoOrder(ctx, m.ID, d.openid+":this", d.thisFen) },
		func() error { _, err := day(second, 10).ReleasePending(ctx); return err },
		func() error { _, err := s.at(second.AddDate(0, 1, 1)).ExpireLots(ctx); return err }, // the first payment's lot
		func() error { _, err := s.NoticeDrops(ctx); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) demoProfile(ctx context.Context, actor audit.Actor, id uuid.UUID, d demoMember) error {
	bday, _ := time.Parse(time.DateOnly, d.birthday)
	return pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		if _, err := q.UpdateProfile(ctx, consumerdb.UpdateProfileParams{ID: id, Name: d.name, Gender: d.gender,
			Birthday: pgDate(bday), City: d.city}); err != nil {
			return err
		}
		for _, tag := range d.tags {
			if _, err := q.AddTag(ctx, consumerdb.AddTagParams{ConsumerID: id, Tag: tag, Source: TagManual, AddedBy: actor.Login, AddedAt: s.now()}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) demoCoupons(ctx context.Context, actor audit.Actor, ids []uuid.UUID) error {
	ts, err := consumerdb.New(s.db).ListCouponTemplates(ctx)
	if err != nil {
		return err
	}
	if len(ts) > 0 {
		return nil // made already
	}
	t, err := s.createTemplate(ctx, actor, CouponTemplate{Name: "满100减20", Kind: CouponAmount, AmountFen: 2000, ThresholdFen: 10_000, ValidDays: 30})
	if err != nil {
		return err
	}
	pct, err := s.createTemplate(ctx, actor, CouponTemplate{Name: "会员9折（最高减50）", Kind: CouponPercent, Percent: 10, CapFen: 5000, ValidDays: 14, Stackable: true})
	if err != nil {
		return err
	}
	b, err := s.createBatch(ctx, actor, CouponBatch{TemplateID: t.ID, Name: "十二月拉新", Stock: 1000, PerMember: 2, Claimable: true})
	if err != nil {
		return err
	}
	if _, err := s.createBatch(ctx, actor, CouponBatch{TemplateID: pct.ID, Name: "金卡专享", Stock: 200, PerMember: 1, BudgetFen: 500_000}); err != nil {
		return err
	}
	for i, id := range ids {
		c, err := s.ClaimCoupon(ctx, id, b.ID)
		if err != nil {
			return err
		}
		if i%2 == 1 { // every other one used on an order
			order := uuid.NewSHA1(demoSpace, []byte("coupon-order:"+id.String()))
			if _, err := s.ReserveCoupon(ctx, c.ID, OrderForCoupon{OrderID: order, ConsumerID: id, AmountFen: 15_800}); err != nil {
				return err
			}
			if _, err := s.RedeemOrderCoupons(ctx, order); err != nil {
				return err
			}
		}
	}
	return nil
}

// demoProgram gives points for actions and sets an adjustment limit, unless growth
// operators changed the action rules already.
func (s *Service) demoProgram(ctx context.Context) error {
	q := consumerdb.New(s.db)
	p, err := s.program(ctx, q)
	if err != nil || p.SignupPoints != 0 || p.ReferralPoints != 0 || p.ReviewPoints != 0 {
		return err
	}
	_, err = q.UpdateProgram(ctx, consumerdb.UpdateProgramParams{PointsPerYuan: int32(p.PointsPerYuan), ExpiryMonths: int32(p.ExpiryMonths),
		ExpiryRounding: p.Rounding, PendingDays: int32(p.PendingDays), RemindDays: int32(p.RemindDays), UpdatedAt: s.now(),
		SignupPoints: 50, ReferralPoints: 200, ReviewPoints: 10, ReviewsPerDay: 1, AdjustLimit: int32(p.AdjustLimit)})
	return err
}

// demoOrder is a demo member's paid order: its points, and the order on their 360
// as billing's payment event would have left it.
func (s *Service) demoOrder(ctx context.Context, id uuid.UUID, name string, fen int64) error {
	order := uuid.NewSHA1(demoSpace, []byte(name))
	if _, err := s.CreditForPayment(ctx, Payment{OrderID: order, ConsumerID: id, AmountFen: fen}); err != nil {
		return err
	}
	return s.keepPaid(ctx, s.db, events.PaymentSucceeded{OrderID: order, OrderNo: "DEMO" + strings.ToUpper(order.String()[:8]), ConsumerID: id,
		AmountFen: fen, PaidAt: s.now()})
}
