package merchant

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// DemoActors are the people of the demo story: a rep who works the shop, someone who
// may sign contracts (merchant.contract.write: a city manager) and a reviewer.
type DemoActors struct {
	Rep, Signer, Reviewer *identity.Principal
}

// DemoResult is what the demo made.
type DemoResult struct {
	Leads         []uuid.UUID
	MerchantID    uuid.UUID // the live demo merchant, 南翔小笼 in Shanghai
	OwnerLogin    string
	OwnerPassword string // only when this run made the login
}

// DemoSubMchID is the demo merchant's WeChat Pay sub-merchant number.
const DemoSubMchID = "1900000109"

type demoShop struct {
	lead NewLead
	live bool
}

func demoShops() []demoShop {
	return []demoShop{
		{NewLead{Name: "南翔小笼 Nanxiang Xiaolongbao", Category: "restaurant", Address: "上海市黄浦区豫园路85号",
			Lat: 31.227200, Lng: 121.492000, Phone: "+86 138-0013-8000", City: "上海"}, true},
		{NewLead{Name: "小杨生煎 Yang's Fried Dumplings", Category: "restaurant", Address: "上海市黄浦区黄河路90号",
			Lat: 31.235100, Lng: 121.473600, Phone: "+86 138-0013-8001", City: "上海"}, false},
		{NewLead{Name: "静安咖啡 Jing'an Coffee", Category: "cafe", Address: "上海市静安区南京西路1266号",
			Lat: 31.228700, Lng: 121.453400, Phone: "021-6288-0000", City: "上海"}, false},
	}
}

// Demo walks the B-CRM story through the service: the rep creates the demo leads,
// claims one, checks in, logs a follow-up and moves it through the stages, the signer
// signs a 6.5% T+1 contract, the rep submits onboarding and the reviewer approves it,
// leaving one live merchant. It is idempotent: it resumes from wherever the lead is.
func Demo(ctx context.Context, s *Service, a DemoActors) (DemoResult, error) {
	var res DemoResult
	q := merchantdb.New(s.db)
	for _, shop := range demoShops() {
		l, err := s.CreateLead(ctx, a.Rep, shop.lead)
		id := l.ID
		if errs.Is(err, CodeDuplicate) {
			phone, _ := NormalizePhone(shop.lead.Phone)
			row, gerr := q.GetLeadByPhone(ctx, phone)
			if gerr != nil {
				return res, fmt.Errorf("demo lead %s: %w", shop.lead.Name, gerr)
			}
			id = row.ID
		} else if err != nil {
			return res, fmt.Errorf("demo lead %s: %w", shop.lead.Name, err)
		}
		res.Leads = append(res.Leads, id)
		if shop.live {
			if err := demoWalk(ctx, s, a, id, shop.lead, &res); err != nil {
				return res, fmt.Errorf("demo merchant %s: %w", shop.lead.Name, err)
			}
		}
	}
	if err := demoPoolRules(ctx, s, a.Rep); err != nil {
		return res, err
	}
	return res, nil
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
		ReclaimFollowUpDays: 15, ReclaimUnsignedDays: 60, RemindDays: 3})
	if err != nil {
		return fmt.Errorf("demo pool rules: %w", err)
	}
	return nil
}

// demoWalk takes one lead from wherever it is to live.
func demoWalk(ctx context.Context, s *Service, a DemoActors, id uuid.UUID, shop NewLead, res *DemoResult) error {
	q := merchantdb.New(s.db)
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
			if _, err = s.CheckIn(ctx, a.Rep, id, CheckIn{Lat: shop.Lat + 0.0002, Lng: shop.Lng, Note: "met the owner"}); err == nil {
				_, err = s.LogFollowUp(ctx, a.Rep, id, FollowUp{Channel: "visit", Note: "owner interested at 6.5%", NextStep: "send the contract"})
			}
			if err == nil {
				_, err = s.MoveStage(ctx, a.Rep, id, StageVisited, "visited the shop")
			}
		case StageVisited:
			_, err = s.MoveStage(ctx, a.Rep, id, StageNegotiating, "terms discussed")
		case StageNegotiating:
			_, err = s.SignContract(ctx, a.Signer, id, NewContract{CommissionRate: "6.5%", SettlementCycle: CycleT1,
				StartsOn: "2025-01-01", EndsOn: "2027-12-31"})
		case StageSigned:
			_, err = s.SubmitOnboarding(ctx, a.Rep, id)
		case StageOnboarding:
			var ap Approved
			ap, err = s.ApproveOnboarding(ctx, a.Reviewer, id, Approval{SubMchID: DemoSubMchID})
			res.OwnerLogin, res.OwnerPassword = ap.OwnerLogin, ap.OwnerPassword
		case StageLive:
			m, err := q.GetMerchantByLead(ctx, id)
			if errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("lead %s is live without a merchant", id)
			}
			if err != nil {
				return err
			}
			res.MerchantID = m.ID
			if res.OwnerLogin == "" && m.OwnerLogin != nil {
				res.OwnerLogin = *m.OwnerLogin
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
