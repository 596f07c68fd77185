package marketing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Offer kinds, schedules and states of a campaign.
const (
	OfferCoupon  = "coupon"
	OfferPoints  = "points"
	OfferMessage = "message"

	ScheduleOnce      = "once"
	ScheduleRecurring = "recurring"
	ScheduleTriggered = "triggered"

	TriggerBirthday    = "birthday"     // on the member's birthday (Asia/Shanghai), once a year
	TriggerFirstOrder  = "first_order"  // on the member's first paid order, once
	TriggerLapsed      = "lapsed"       // TriggerDays after the member's last order, once per last order
	TriggerTierChanged = "tier_changed" // when the member's tier changes, once per change

	StateScheduled = "scheduled"
	StateRunning   = "running"
	StatePaused    = "paused"
	StateStopped   = "stopped"
	StateDone      = "done"
)

// CampaignInput is what an operator sets up.
type CampaignInput struct {
	Name        string    `json:"name"`
	SegmentID   uuid.UUID `json:"segment_id"`
	Offer       string    `json:"offer"` // coupon, points, message
	CouponBatch string    `json:"coupon_batch,omitempty"`
	Points      int64     `json:"points,omitempty"`
	Message     string    `json:"message,omitempty"`
	// MessageTemplate is the channel's template of a message offer (WeChat: the
	// subscribe message's template_id, its first "thing" field carrying Message).
	MessageTemplate string     `json:"message_template,omitempty"`
	UnitCostFen     int64      `json:"unit_cost_fen"` // what one offer costs (a coupon's face value, points' worth)
	BudgetFen       int64      `json:"budget_fen"`
	HoldoutPct      int        `json:"holdout_pct"` // share kept as control, 0..90
	FreqCap         int        `json:"freq_cap,omitempty"`
	FreqDays        int        `json:"freq_days,omitempty"`
	Schedule        string     `json:"schedule"` // once, recurring, triggered
	EveryDays       int        `json:"every_days,omitempty"`
	Trigger         string     `json:"trigger,omitempty"`      // triggered: birthday, first_order, lapsed, tier_changed
	TriggerDays     int        `json:"trigger_days,omitempty"` // lapsed: days since the last order
	StartsAt        *time.Time `json:"starts_at,omitempty"`    // nil: now
	// AttributionDays: orders paid within this many days of a run's start count
	// towards its results [7].
	AttributionDays int `json:"attribution_days,omitempty"`
}

// Campaign is a campaign as it stands.
type Campaign struct {
	CampaignInput
	ID        uuid.UUID  `json:"id"`
	State     string     `json:"state"`
	NextRunAt *time.Time `json:"next_run_at"`
	CreatedAt time.Time  `json:"created_at"`
	SpentFen  int64      `json:"spent_fen"`
}

func campaignFrom(r marketingdb.MarketingCampaign) Campaign {
	starts := r.StartsAt
	return Campaign{ID: r.ID, State: r.State, NextRunAt: r.NextRunAt, CreatedAt: r.CreatedAt, CampaignInput: CampaignInput{
		Name: r.Name, SegmentID: r.SegmentID, Offer: r.OfferKind, CouponBatch: r.CouponBatch, Points: r.Points, Message: r.Message,
		UnitCostFen: r.UnitCostFen, BudgetFen: r.BudgetFen, HoldoutPct: int(r.HoldoutPct), FreqCap: int(r.FreqCap),
		FreqDays: int(r.FreqDays), Schedule: r.Schedule, EveryDays: int(r.EveryDays), StartsAt: &starts,
		Trigger: r.TriggerEvent, TriggerDays: int(r.TriggerDays), MessageTemplate: r.MessageTemplate,
		AttributionDays: int(r.AttributionDays)}}
}

func campaignInvalid(field, msg string) error {
	return errs.E(errs.KindInvalid, CodeCampaignInvalid, msg).WithField(field)
}

// check refuses a campaign that could not start: everything is checked before a
// row is written.
func (s *Service) check(ctx context.Context, in *CampaignInput) error {
	in.Name = strings.TrimSpace(in.Name)
	switch {
	case in.Name == "":
		return campaignInvalid("name", "a campaign needs a name")
	case in.BudgetFen <= 0:
		return errs.E(errs.KindInvalid, CodeNoBudget, "a campaign needs a budget above zero").WithField("budget_fen")
	case in.HoldoutPct < 0 || in.HoldoutPct > 90:
		return campaignInvalid("holdout_pct", "the control group is 0 to 90 percent of the audience")
	case in.FreqCap < 0 || in.FreqDays < 0 || (in.FreqCap > 0) != (in.FreqDays > 0):
		return campaignInvalid("freq_cap", "a frequency cap is a number of offers in a number of days, both above zero")
	case in.UnitCostFen < 0 || (in.Offer != OfferMessage && in.UnitCostFen == 0):
		return campaignInvalid("unit_cost_fen", "a coupon or points offer has a cost per member above zero")
	}
	if in.AttributionDays == 0 {
		in.AttributionDays = 7
	}
	if in.AttributionDays < 1 || in.AttributionDays > 90 {
		return campaignInvalid("attribution_days", "the attribution window is 1 to 90 days")
	}
	switch in.Schedule {
	case ScheduleOnce:
	case ScheduleRecurring:
		if in.EveryDays < 1 || in.EveryDays > 365 {
			return campaignInvalid("every_days", "a recurring campaign runs every 1 to 365 days")
		}
	case ScheduleTriggered:
		switch in.Trigger {
		case TriggerBirthday, TriggerFirstOrder, TriggerTierChanged:
		case TriggerLapsed:
			if in.TriggerDays < 1 || in.TriggerDays > 365 {
				return campaignInvalid("trigger_days", "a lapse trigger fires 1 to 365 days after the last order")
			}
		default:
			return campaignInvalid("trigger", "the trigger is birthday, first_order, lapsed or tier_changed")
		}
	default:
		return campaignInvalid("schedule", "the schedule is once, recurring or triggered")
	}
	switch in.Offer {
	case OfferCoupon:
		if in.CouponBatch == "" {
			return campaignInvalid("coupon_batch", "a coupon offer names its coupon batch")
		}
		stock, err := s.ports.Offers.CouponStock(ctx, in.CouponBatch)
		if err != nil {
			return fmt.Errorf("marketing: coupon stock: %w", err)
		}
		if stock <= 0 {
			return errs.E(errs.KindInvalid, CodeNoStock, "the coupon batch has no coupons left").WithField("coupon_batch")
		}
	case OfferPoints:
		if in.Points <= 0 {
			return campaignInvalid("points", "a points offer gives points above zero")
		}
	case OfferMessage:
		if strings.TrimSpace(in.Message) == "" {
			return campaignInvalid("message", "a message offer has a text")
		}
	default:
		return campaignInvalid("offer", "the offer is coupon, points or message")
	}
	b, err := s.segmentMembers(ctx, in.SegmentID)
	if errs.CodeOf(err) == CodeSegmentNotFound {
		return errs.E(errs.KindInvalid, CodeSegmentNotFound, "no such segment").WithField("segment_id")
	}
	if err != nil {
		return err
	}
	if b.IsEmpty() {
		return errs.E(errs.KindInvalid, CodeEmptyAudience, "the segment has no members now").WithField("segment_id")
	}
	return nil
}

// CreateCampaign checks and schedules a campaign; it starts at StartsAt (the
// marketing:campaigns task, or RunDue).
func (s *Service) CreateCampaign(ctx context.Context, p *identity.Principal, in CampaignInput) (Campaign, error) {
	if err := p.RequireAll(identity.PermCampaignWrite, objCampaign); err != nil {
		return Campaign{}, err
	}
	if err := s.check(ctx, &in); err != nil {
		return Campaign{}, err
	}
	now := s.now()
	starts := now
	if in.StartsAt != nil && in.StartsAt.After(now) {
		starts = in.StartsAt.UTC()
	}
	in.StartsAt = &starts
	next := &starts
	if in.Schedule == ScheduleTriggered {
		next = nil // its runs start as members trigger them (triggers.go)
	}
	id := uuid.Must(uuid.NewV7())
	err := marketingdb.New(s.db).InsertCampaign(ctx, marketingdb.InsertCampaignParams{ID: id, Name: in.Name, SegmentID: in.SegmentID,
		OfferKind: in.Offer, CouponBatch: in.CouponBatch, Points: in.Points, Message: in.Message, UnitCostFen: in.UnitCostFen,
		BudgetFen: in.BudgetFen, HoldoutPct: int32(in.HoldoutPct), FreqCap: int32(in.FreqCap), FreqDays: int32(in.FreqDays),
		Schedule: in.Schedule, EveryDays: int32(in.EveryDays), StartsAt: starts, AttributionDays: int32(in.AttributionDays),
		State: StateScheduled, CreatedBy: p.User.ID, CreatedAt: now, NextRunAt: next, TriggerEvent: in.Trigger,
		TriggerDays: int32(in.TriggerDays), MessageTemplate: in.MessageTemplate})
	if err != nil {
		return Campaign{}, pg.Classify(err)
	}
	return Campaign{CampaignInput: in, ID: id, State: StateScheduled, NextRunAt: next, CreatedAt: now}, nil
}

// GetCampaign reads a campaign.
func (s *Service) GetCampaign(ctx context.Context, p *identity.Principal, id uuid.UUID) (Campaign, error) {
	if err := p.RequireAll(identity.PermMemberRead, objCampaign); err != nil {
		return Campaign{}, err
	}
	q := marketingdb.New(s.db)
	r, err := q.GetCampaign(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Campaign{}, errs.NotFound("marketing.campaign")
	}
	if err != nil {
		return Campaign{}, pg.Classify(err)
	}
	c := campaignFrom(r)
	if c.SpentFen, err = q.CampaignSpent(ctx, id); err != nil {
		return Campaign{}, pg.Classify(err)
	}
	return c, nil
}

// ListCampaigns lists the latest campaigns.
func (s *Service) ListCampaigns(ctx context.Context, p *identity.Principal) ([]Campaign, error) {
	if err := p.RequireAll(identity.PermMemberRead, objCampaign); err != nil {
		return nil, err
	}
	rows, err := marketingdb.New(s.db).ListCampaigns(ctx)
	if err != nil {
		return nil, pg.Classify(err)
	}
	out := make([]Campaign, len(rows))
	for i, r := range rows {
		out[i] = campaignFrom(r)
	}
	return out, nil
}

// changeCampaign locks a campaign and lets fn change it.
func (s *Service) changeCampaign(ctx context.Context, p *identity.Principal, id uuid.UUID,
	fn func(q *marketingdb.Queries, c marketingdb.MarketingCampaign) error,
) error {
	if err := p.RequireAll(identity.PermCampaignWrite, objCampaign); err != nil {
		return err
	}
	return pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := marketingdb.New(tx)
		c, err := q.LockCampaign(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("marketing.campaign")
		}
		if err != nil {
			return err
		}
		return fn(q, c)
	})
}

func stateError(c marketingdb.MarketingCampaign, action string) error {
	return errs.E(errs.KindConflict, CodeCampaignState, fmt.Sprintf("a %s campaign cannot be %s", c.State, action))
}

// ChangeAudience points a campaign at another segment. A running campaign is
// refused: pause it, copy it or stop it first.
func (s *Service) ChangeAudience(ctx context.Context, p *identity.Principal, id, segmentID uuid.UUID) error {
	b, err := s.segmentMembers(ctx, segmentID)
	if errs.CodeOf(err) == CodeSegmentNotFound {
		return errs.E(errs.KindInvalid, CodeSegmentNotFound, "no such segment").WithField("segment_id")
	}
	if err != nil {
		return err
	}
	if b.IsEmpty() {
		return errs.E(errs.KindInvalid, CodeEmptyAudience, "the segment has no members now").WithField("segment_id")
	}
	return s.changeCampaign(ctx, p, id, func(q *marketingdb.Queries, c marketingdb.MarketingCampaign) error {
		switch c.State {
		case StateRunning:
			return errs.E(errs.KindConflict, CodeCampaignRunning, "the campaign is running: pause, copy or stop it to change its audience").WithField("segment_id")
		case StateStopped, StateDone:
			return stateError(c, "changed")
		}
		return q.SetCampaignAudience(ctx, marketingdb.SetCampaignAudienceParams{ID: id, SegmentID: segmentID})
	})
}

// PauseCampaign stops sending (an open run resumes where it stopped on Resume).
func (s *Service) PauseCampaign(ctx context.Context, p *identity.Principal, id uuid.UUID) error {
	return s.changeCampaign(ctx, p, id, func(q *marketingdb.Queries, c marketingdb.MarketingCampaign) error {
		if c.State != StateRunning && c.State != StateScheduled {
			return stateError(c, "paused")
		}
		return q.SetCampaignState(ctx, marketingdb.SetCampaignStateParams{ID: id, State: StatePaused, NextRunAt: c.NextRunAt})
	})
}

// ResumeCampaign resumes a paused campaign.
func (s *Service) ResumeCampaign(ctx context.Context, p *identity.Principal, id uuid.UUID) error {
	return s.changeCampaign(ctx, p, id, func(q *marketingdb.Queries, c marketingdb.MarketingCampaign) error {
		if c.State != StatePaused {
			return stateError(c, "resumed")
		}
		return q.SetCampaignState(ctx, marketingdb.SetCampaignStateParams{ID: id, State: StateRunning, NextRunAt: c.NextRunAt})
	})
}

// StopCampaign ends a campaign and its open run for good.
func (s *Service) StopCampaign(ctx context.Context, p *identity.Principal, id uuid.UUID) error {
	return s.changeCampaign(ctx, p, id, func(q *marketingdb.Queries, c marketingdb.MarketingCampaign) error {
		if c.State == StateStopped || c.State == StateDone {
			return stateError(c, "stopped")
		}
		if err := q.StopRuns(ctx, marketingdb.StopRunsParams{CampaignID: id, FinishedAt: ptr(s.now())}); err != nil {
			return err
		}
		return q.SetCampaignState(ctx, marketingdb.SetCampaignStateParams{ID: id, State: StateStopped})
	})
}

// CopyCampaign makes a scheduled copy of a campaign (to change a running one's audience).
func (s *Service) CopyCampaign(ctx context.Context, p *identity.Principal, id uuid.UUID) (Campaign, error) {
	c, err := s.GetCampaign(ctx, p, id)
	if err != nil {
		return Campaign{}, err
	}
	in := c.CampaignInput
	in.Name += " (copy)"
	in.StartsAt = nil
	return s.CreateCampaign(ctx, p, in)
}

func ptr[T any](v T) *T { return &v }

// StartCampaignNow brings a scheduled campaign's first run forward to now; the
// marketing:campaigns task sends it.
func (s *Service) StartCampaignNow(ctx context.Context, p *identity.Principal, id uuid.UUID) error {
	return s.changeCampaign(ctx, p, id, func(q *marketingdb.Queries, c marketingdb.MarketingCampaign) error {
		if c.State != StateScheduled || c.Schedule == ScheduleTriggered {
			return stateError(c, "started by hand")
		}
		return q.SetCampaignState(ctx, marketingdb.SetCampaignStateParams{ID: id, State: StateScheduled, NextRunAt: ptr(s.now())})
	})
}
