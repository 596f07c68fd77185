package merchant

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	phonenum "github.com/tandemcrm/tandem/shared/phone"
)

// DemoActors are the people of the demo story: a rep who works the shops, someone
// who may sign contracts (merchant.contract.write: a city manager) and a reviewer.
// Live, when set, are the merchants the live demo shops become: identity's demo
// merchants, so that their owner logins (shop.owner, shop2.owner) see a real one.
type DemoActors struct {
	Rep, Signer, Reviewer *identity.Principal
	Live                  []DemoMerchant
}

// DemoMerchant is the id a live demo shop's merchant takes and its owner's login.
type DemoMerchant struct {
	ID         uuid.UUID
	OwnerLogin string
}

// DemoResult is what the demo made.
type DemoResult struct {
	Leads           []uuid.UUID
	MerchantID      uuid.UUID // the first live demo merchant, 南翔小笼 in Shanghai
	OwnerLogin      string
	OwnerInvitation string // only when this run made the login
}

// DemoSubMchID is the demo merchant's WeChat Pay sub-merchant number; the second
// live shop has the next one.
const DemoSubMchID = "1900000109"

// demoGoal is where a demo shop's walk stops, so that every page of the B-CRM has
// something real to show: live merchants, and applications in each review state.
type demoGoal int

const (
	goalLead     demoGoal = iota // a lead, not worked yet
	goalReview                   // submitted, waiting in the reviewer's queue
	goalChange                   // sent back for a change: editing
	goalRejected                 // rejected by the reviewer
	goalWeChat                   // approved and submitted to WeChat Pay (without WeChat: waiting for review)
	goalLive                     // a live merchant
	goalDiscount                 // a contract below the floor, waiting for its discount approval
)

type demoShop struct {
	lead NewLead
	goal demoGoal
}

func demoShops() []demoShop {
	return []demoShop{
		{NewLead{Name: "南翔小笼 Nanxiang Xiaolongbao", Category: "restaurant", Address: "上海市黄浦区豫园路85号",
			Lat: 31.227200, Lng: 121.492000, Phone: "+86 138-0013-8000", City: "上海"}, goalLive},
		{NewLead{Name: "小杨生煎 Yang's Fried Dumplings", Category: "restaurant", Address: "上海市黄浦区黄河路90号",
			Lat: 31.235100, Lng: 121.473600, Phone: "+86 138-0013-8001", City: "上海"}, goalLive},
		{NewLead{Name: "静安咖啡 Jing'an Coffee", Category: "cafe", Address: "上海市静安区南京西路1266号",
			Lat: 31.228700, Lng: 121.453400, Phone: "021-6288-0000", City: "上海"}, goalReview},
		{NewLead{Name: "外滩面馆 Bund Noodles", Category: "restaurant", Address: "上海市黄浦区中山东一路18号",
			Lat: 31.238900, Lng: 121.490300, Phone: "021-6321-0001", City: "上海"}, goalChange},
		{NewLead{Name: "徐家汇甜品 Xujiahui Desserts", Category: "dessert", Address: "上海市徐汇区漕溪北路88号",
			Lat: 31.195600, Lng: 121.437500, Phone: "021-6468-0002", City: "上海"}, goalRejected},
		{NewLead{Name: "陆家嘴茶饮 Lujiazui Tea", Category: "tea", Address: "上海市浦东新区陆家嘴环路1000号",
			Lat: 31.238000, Lng: 121.505000, Phone: "021-5888-0003", City: "上海"}, goalWeChat},
		{NewLead{Name: "豫园书店 Yuyuan Books", Category: "retail", Address: "上海市黄浦区旧校场路125号",
			Lat: 31.226600, Lng: 121.491700, Phone: "021-6355-0004", City: "上海"}, goalLead},
		{NewLead{Name: "田子坊茶餐厅 Tianzifang Café", Category: "restaurant", Address: "上海市黄浦区泰康路210弄",
			Lat: 31.210400, Lng: 121.469200, Phone: "021-6473-0005", City: "上海"}, goalDiscount},
	}
}

// Demo walks the B-CRM story through the service: the rep creates the demo leads,
// claims them, checks in, logs follow-ups and moves them through the stages, the
// signer signs contracts, the rep submits onboarding and the reviewer approves,
// rejects or sends back; two shops end live. It is idempotent: each walk resumes
// from wherever its lead is. Each shop's story is told at its hour of the rep's day
// (demoVisitTimes), so the rep's check-ins at different shops are a realistic trip
// apart, not flagged as impossible travel.
func Demo(ctx context.Context, base *Service, a DemoActors) (DemoResult, error) {
	var res DemoResult
	q := merchantdb.New(base.db)
	live := 0
	hours := demoVisitTimes(base.now(), len(demoShops()))
	for i, shop := range demoShops() {
		s := base.runningFrom(hours[i])
		l, err := s.CreateLead(ctx, a.Rep, shop.lead)
		id := l.ID
		if errs.Is(err, CodeDuplicate) {
			phone, _ := phonenum.Normalize("phone", shop.lead.Phone)
			row, gerr := q.GetLeadByPhone(ctx, phone)
			if gerr != nil {
				return res, fmt.Errorf("demo lead %s: %w", shop.lead.Name, gerr)
			}
			id = row.ID
		} else if err != nil {
			return res, fmt.Errorf("demo lead %s: %w", shop.lead.Name, err)
		}
		res.Leads = append(res.Leads, id)
		var fixed fixedMerchant
		if shop.goal == goalLive {
			if live < len(a.Live) {
				fixed = fixedMerchant(a.Live[live])
			}
			live++
		}
		sub := fmt.Sprintf("19%08d", 109+live-1) // 1900000109, 1900000110
		if err := demoWalk(ctx, s, a, id, shop, sub, fixed, &res); err != nil {
			return res, fmt.Errorf("demo shop %s: %w", shop.lead.Name, err)
		}
	}
	if err := demoPoolRules(ctx, base, a.Rep); err != nil {
		return res, err
	}
	if err := demoFieldWork(ctx, base, a, res); err != nil {
		return res, err
	}
	return res, nil
}

// demoVisitGap is the time between the rep's demo visits: a few kilometres across
// Shanghai's centre, by metro or scooter, and the visit itself.
const demoVisitGap = 45 * time.Minute

// demoVisitTimes are the hours of the rep's n demo visits, demoVisitGap apart, the last
// one demoVisitGap before now (a check-in the user makes next is a plausible trip from
// it), all on one Asia/Shanghai day and none in the future: when today has not room
// for them yet, they are yesterday's, from 09:00.
func demoVisitTimes(now time.Time, n int) []time.Time {
	first := now.Add(-time.Duration(n) * demoVisitGap).Truncate(time.Minute)
	if today := clock.Day(now); first.Before(today) {
		first = today.AddDate(0, 0, -1).Add(9 * time.Hour)
	}
	out := make([]time.Time, n)
	for i := range out {
		out[i] = first.Add(time.Duration(i) * demoVisitGap).UTC()
	}
	return out
}

// runningFrom is s with a clock that reads t now and runs on from there: the demo's
// story of one shop, told at its hour.
func (s *Service) runningFrom(t time.Time) *Service {
	start, wall := s.clock.Now(), s.clock
	at := *s
	at.clock = clock.Func(func() time.Time { return t.Add(wall.Now().Sub(start)) })
	return &at
}

// demoPoolRules gives the rep's pool the rules of a typical city team: 30 open leads,
// 10 claims a day, a week's cooldown, reclaim after 15 days without a follow-up or 60
// unsigned, a reminder 3 days before. Set by the system, as an administrator would.
func demoPoolRules(ctx context.Context, s *Service, rep *identity.Principal) error {
	pool, err := s.ensurePool(ctx, merchantdb.New(s.db), rep.User.OrgUnitID, rep.User.ID)
	if err != nil {
		return fmt.Errorf("demo pool: %w", err)
	}
	_, err = s.SetPoolRules(ctx, identity.System(), pool.ID, pool.Name, PoolRules{HoldingCap: 30, DailyQuota: 10, CooldownDays: 7,
		ReclaimFollowUpDays: 15, ReclaimUnsignedDays: 60, RemindDays: 3, ReclaimContractEndedDays: 30,
		Levels: []LevelRules{{Level: "A", ReclaimFollowUpDays: 30, ReclaimUnsignedDays: 90, ReclaimContractEndedDays: 60}}})
	if err != nil {
		return fmt.Errorf("demo pool rules: %w", err)
	}
	return demoAssignmentRule(ctx, s, rep)
}

// demoAssignmentRule gives the rep's city one rule: shops in 黄浦区 go to the rep's
// team, by load, at most 20 open leads a rep. Once: a city with rules keeps them.
func demoAssignmentRule(ctx context.Context, s *Service, rep *identity.Principal) error {
	if s.staff == nil || !rep.User.OrgUnitID.Valid {
		return nil
	}
	path, err := s.staff.UnitPath(ctx, rep.User.OrgUnitID.UUID)
	if err != nil || len(path) < 2 {
		return err
	}
	rules, err := s.ListAssignmentRules(ctx, identity.System())
	if err != nil {
		return err
	}
	for _, r := range rules {
		if r.OwnerUnitID == path[1] {
			return nil
		}
	}
	_, err = s.SaveAssignmentRule(ctx, identity.System(), uuid.Nil, RuleInput{OwnerUnitID: path[1], Position: 1, Name: "黄浦区 Huangpu",
		Districts: []string{"黄浦区"}, TeamUnitID: rep.User.OrgUnitID.UUID, Method: MethodLoad, Capacity: 20, Enabled: true})
	if err != nil {
		return fmt.Errorf("demo assignment rule: %w", err)
	}
	return nil
}

// demoWalk takes one lead from wherever it is to its goal.
func demoWalk(ctx context.Context, s *Service, a DemoActors, id uuid.UUID, shop demoShop, subMchID string, fixed fixedMerchant, res *DemoResult) error {
	q := merchantdb.New(s.db)
	if shop.goal == goalLead {
		return nil
	}
	for {
		l, err := q.GetLead(ctx, id)
		if err != nil {
			return err
		}
		if !l.OwnerID.Valid {
			if _, err := s.Claim(ctx, a.Rep, id); err != nil {
				return err
			}
			continue
		}
		switch Stage(l.Stage) {
		case StageLead:
			_, err = s.MoveStage(ctx, a.Rep, id, StageContacted, "called the owner")
		case StageContacted:
			if _, err = s.CheckIn(ctx, a.Rep, id, CheckIn{Lat: shop.lead.Lat + 0.0002, Lng: shop.lead.Lng, Note: "met the owner"}); err == nil {
				_, err = s.LogFollowUp(ctx, a.Rep, id, FollowUp{Channel: "visit", Note: "owner interested at 6.5%", NextStep: "send the contract"})
			}
			if err == nil {
				_, err = s.MoveStage(ctx, a.Rep, id, StageVisited, "visited the shop")
			}
		case StageVisited:
			_, err = s.MoveStage(ctx, a.Rep, id, StageNegotiating, "terms discussed")
		case StageNegotiating:
			rate := "6.5%"
			if shop.goal == goalDiscount {
				if c, gerr := q.GetContractByLead(ctx, id); gerr == nil && c.Status == string(ContractPending) || s.approvals == nil {
					return nil // waiting for its approval (or no approval flow here)
				}
				rate = "2.5%" // below the floor: a discount approval for the city manager
			}
			_, err = s.SignContract(ctx, a.Signer, id, NewContract{CommissionRate: rate, SettlementCycle: CycleT1,
				StartsOn: "2025-01-01", EndsOn: "2027-12-31", DepositFen: 100_000})
		case StageSigned:
			_, err = s.SubmitOnboarding(ctx, a.Rep, id)
		case StageOnboarding:
			o, gerr := q.GetOnboarding(ctx, id)
			if gerr != nil {
				return gerr
			}
			if o.Review != string(ReviewPending) || shop.goal == goalReview {
				return nil // at its goal: sent back, rejected, at WeChat, or waiting
			}
			switch shop.goal {
			case goalChange:
				_, err = s.RequestChange(ctx, a.Reviewer, id, "门头照片不清晰 storefront photo is blurred")
			case goalRejected:
				_, err = s.RejectOnboarding(ctx, a.Reviewer, id, "营业执照已过期 the business licence has expired")
			case goalWeChat:
				if s.applyments == nil {
					return nil // no WeChat here: it waits for review
				}
				_, err = s.ApproveOnboarding(ctx, a.Reviewer, id, Approval{})
				if err == nil {
					return nil
				}
			case goalLive:
				var ap Approved
				ap, err = s.approve(ctx, a.Reviewer, id, Approval{SubMchID: subMchID}, fixed)
				if res.MerchantID == uuid.Nil {
					res.OwnerLogin, res.OwnerInvitation = ap.OwnerLogin, ap.OwnerInvitation
				}
			}
		case StageLive:
			m, err := q.GetMerchantByLead(ctx, id)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("lead %s is live without a merchant", id)
			}
			if err != nil {
				return err
			}
			if res.MerchantID == uuid.Nil {
				res.MerchantID = m.ID
				if res.OwnerLogin == "" && m.OwnerLogin != nil {
					res.OwnerLogin = *m.OwnerLogin
				}
			}
			return nil
		default:
			return fmt.Errorf("lead %s is %s", id, l.Stage)
		}
		if err != nil {
			return err
		}
	}
}
