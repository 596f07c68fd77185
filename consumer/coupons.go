package consumer

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Coupon kinds, states and issue sources.
const (
	CouponAmount  = "amount"  // a fixed amount off
	CouponPercent = "percent" // a percentage off, up to a cap

	CouponAvailable = "available"
	CouponReserved  = "reserved" // by an unpaid order
	CouponRedeemed  = "redeemed" // the order was paid

	IssueClaim    = "claim"
	IssueManual   = "manual"
	IssueCampaign = "campaign"
	IssueTier     = "tier"
)

// Coupon error codes: each has an "error.<code>" message in the console catalogues.
const (
	CodeCouponNotFound      = "consumer.coupon_not_found"
	CodeCouponBatchNotFound = "consumer.coupon_batch_not_found"
	CodeCouponInvalid       = "consumer.coupon_template_invalid"
	CodeCouponOutOfStock    = "consumer.coupon_out_of_stock"
	CodeCouponBudgetSpent   = "consumer.coupon_budget_spent"
	CodeCouponLimit         = "consumer.coupon_limit_reached"
	CodeCouponNotClaimable  = "consumer.coupon_not_claimable"
	CodeCouponBelow         = "consumer.coupon_below_threshold"
	CodeCouponExpired       = "consumer.coupon_expired"
	CodeCouponNotApplicable = "consumer.coupon_not_applicable"
	CodeCouponInUse         = "consumer.coupon_in_use"
	CodeCouponNotStackable  = "consumer.coupon_not_stackable"
)

// CouponTemplate is what a coupon is worth and where it applies.
type CouponTemplate struct {
	ID           uuid.UUID   `json:"id"`
	Name         string      `json:"name"`
	Kind         string      `json:"kind"`
	AmountFen    int64       `json:"amount_fen,omitempty"`
	Percent      int         `json:"percent,omitempty"`
	CapFen       int64       `json:"cap_fen,omitempty"` // 0: no cap
	ThresholdFen int64       `json:"threshold_fen"`     // the order's amount before discounts must be ≥
	ValidDays    int         `json:"valid_days,omitempty"`
	ValidFrom    *time.Time  `json:"valid_from,omitempty"`
	ValidTo      *time.Time  `json:"valid_to,omitempty"`
	MerchantIDs  []uuid.UUID `json:"merchant_ids"`
	Categories   []string    `json:"categories"`
	Stackable    bool        `json:"stackable"`
	CreatedAt    time.Time   `json:"created_at"`
}

// Merchants is what coupon templates need of the merchant domain: which of the ids
// name no merchant (merchant's published read, adapted in cmd/tandem).
type Merchants interface {
	UnknownMerchants(ctx context.Context, ids []uuid.UUID) ([]uuid.UUID, error)
}

// couponInvalid refuses a template naming the field; the catalogues word each field's
// rule ("error.consumer.coupon_template_invalid.<field>").
func couponInvalid(field, msg string) error {
	return errs.E(errs.KindInvalid, CodeCouponInvalid, msg).WithReason(field).WithField(field)
}

// Validate refuses a template naming the field.
func (t CouponTemplate) Validate() error {
	switch {
	case t.Name == "" || utf8.RuneCountInString(t.Name) > 60:
		return couponInvalid("name", "a template's name is 1 to 60 characters")
	case t.Kind != CouponAmount && t.Kind != CouponPercent:
		return couponInvalid("kind", `kind is "amount" or "percent"`)
	case t.Kind == CouponAmount && t.AmountFen <= 0:
		return couponInvalid("amount_fen", "an amount-off coupon takes a positive amount off")
	case t.Kind == CouponPercent && (t.Percent <= 0 || t.Percent > 100):
		return couponInvalid("percent", "the percentage off is 1 to 100")
	case t.CapFen < 0:
		return couponInvalid("cap_fen", "the cap is not negative (0: no cap)")
	case t.ThresholdFen < 0:
		return couponInvalid("threshold_fen", "the threshold is not negative")
	case t.Kind == CouponAmount && t.ThresholdFen > 0 && t.AmountFen > t.ThresholdFen:
		return couponInvalid("amount_fen", "the amount off is at most the threshold")
	case t.ValidDays < 0 || t.ValidDays > 3650:
		return couponInvalid("valid_days", "valid for 1 to 3650 days from issue, or between two dates")
	case t.ValidDays == 0 && (t.ValidFrom == nil || t.ValidTo == nil || !t.ValidTo.After(*t.ValidFrom)):
		return couponInvalid("valid_to", "give valid_days, or valid_from before valid_to")
	case len(t.Categories) > 50 || len(t.MerchantIDs) > 500:
		return couponInvalid("categories", "at most 50 categories and 500 merchants")
	}
	return nil
}

// Discount is what the template takes off an order of amountFen (before discounts).
func (t CouponTemplate) Discount(amountFen int64) int64 {
	d := t.AmountFen
	if t.Kind == CouponPercent {
		d = amountFen * int64(t.Percent) / 100
		if t.CapFen > 0 {
			d = min(d, t.CapFen)
		}
	}
	return max(min(d, amountFen), 0)
}

// CreateCouponTemplate adds a template (consumer.campaign.write, audited).
func (s *Service) CreateCouponTemplate(ctx context.Context, caller *identity.Principal, in CouponTemplate) (CouponTemplate, error) {
	p, err := memberScope(caller, identity.PermCampaignWrite)
	if err != nil {
		return CouponTemplate{}, err
	}
	return s.createTemplate(ctx, p.Actor(), in)
}

func (s *Service) createTemplate(ctx context.Context, actor audit.Actor, in CouponTemplate) (CouponTemplate, error) {
	if err := in.Validate(); err != nil {
		return CouponTemplate{}, err
	}
	if err := s.knownMerchants(ctx, in.MerchantIDs); err != nil {
		return CouponTemplate{}, err
	}
	in.ID, in.CreatedAt = s.newID(), s.now()
	if in.MerchantIDs == nil {
		in.MerchantIDs = []uuid.UUID{}
	}
	if in.Categories == nil {
		in.Categories = []string{}
	}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		if err := consumerdb.New(tx).InsertCouponTemplate(ctx, consumerdb.InsertCouponTemplateParams{ID: in.ID, Name: in.Name,
			Kind: in.Kind, AmountFen: in.AmountFen, Percent: int32(in.Percent), CapFen: in.CapFen, ThresholdFen: in.ThresholdFen,
			ValidDays: int32(in.ValidDays), ValidFrom: in.ValidFrom, ValidTo: in.ValidTo, MerchantIds: in.MerchantIDs,
			Categories: in.Categories, Stackable: in.Stackable, CreatedAt: in.CreatedAt}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: actor, Action: "consumer.coupon.template",
			ObjectType: "consumer.coupon_template", ObjectID: in.ID.String(), After: in})
	})
	return in, wrap("create coupon template", err)
}

// knownMerchants refuses merchant ids that name no merchant: a coupon for a made-up
// shop would be accepted and never apply.
func (s *Service) knownMerchants(ctx context.Context, ids []uuid.UUID) error {
	if s.merchants == nil || len(ids) == 0 {
		return nil
	}
	unknown, err := s.merchants.UnknownMerchants(ctx, ids)
	if err != nil {
		return wrap("coupon template merchants", err)
	}
	if len(unknown) > 0 {
		return couponInvalid("merchant_ids", fmt.Sprintf("no merchant has the id %s", unknown[0]))
	}
	return nil
}

func templateOf(r consumerdb.ConsumerCouponTemplate) CouponTemplate {
	return CouponTemplate{ID: r.ID, Name: r.Name, Kind: r.Kind, AmountFen: r.AmountFen, Percent: int(r.Percent), CapFen: r.CapFen,
		ThresholdFen: r.ThresholdFen, ValidDays: int(r.ValidDays), ValidFrom: r.ValidFrom, ValidTo: r.ValidTo,
		MerchantIDs: r.MerchantIds, Categories: r.Categories, Stackable: r.Stackable, CreatedAt: r.CreatedAt}
}

// CouponTemplates lists the templates, newest first (consumer.member.read).
func (s *Service) CouponTemplates(ctx context.Context, caller *identity.Principal) ([]CouponTemplate, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return nil, err
	}
	rows, err := consumerdb.New(s.db).ListCouponTemplates(ctx)
	if err != nil {
		return nil, wrap("coupon templates", err)
	}
	out := make([]CouponTemplate, len(rows))
	for i, r := range rows {
		out[i] = templateOf(r)
	}
	return out, nil
}

// CouponBatch is a stock of coupons of one template.
type CouponBatch struct {
	ID           uuid.UUID `json:"id"`
	TemplateID   uuid.UUID `json:"template_id"`
	TemplateName string    `json:"template_name,omitempty"`
	Name         string    `json:"name"`
	Stock        int       `json:"stock"`
	Issued       int       `json:"issued"`
	Reserved     int       `json:"reserved"`
	Redeemed     int       `json:"redeemed"`
	PerMember    int       `json:"per_member"`
	PerDay       int       `json:"per_day"` // per member and day; 0: no daily limit
	Claimable    bool      `json:"claimable"`
	// BudgetFen caps the face value of the coupons issued (0: no budget): each coupon
	// commits its amount off, or a percent coupon's cap, to CommittedFen.
	BudgetFen    int64     `json:"budget_fen"`
	CommittedFen int64     `json:"committed_fen"`
	CreatedAt    time.Time `json:"created_at"`
}

// faceFen is what one coupon of a template commits of a batch's budget.
func (t CouponTemplate) faceFen() int64 {
	if t.Kind == CouponPercent {
		return t.CapFen
	}
	return t.AmountFen
}

// Left is the stock not issued yet.
func (b CouponBatch) Left() int { return b.Stock - b.Issued }

// Validate refuses a batch naming the field.
func (b CouponBatch) Validate() error {
	switch {
	case b.Name == "" || utf8.RuneCountInString(b.Name) > 60:
		return couponInvalid("name", "a batch's name is 1 to 60 characters")
	case b.Stock <= 0 || b.Stock > 10_000_000:
		return couponInvalid("stock", "the stock is 1 to 10,000,000 coupons")
	case b.PerMember <= 0 || b.PerMember > 100:
		return couponInvalid("per_member", "1 to 100 coupons per member")
	case b.PerDay < 0 || b.PerDay > b.PerMember:
		return couponInvalid("per_day", "0 (no daily limit) to the per-member limit")
	case b.BudgetFen < 0:
		return couponInvalid("budget_fen", "the budget is not negative (0: no budget)")
	}
	return nil
}

// CreateCouponBatch adds a batch of a template (consumer.campaign.write, audited).
func (s *Service) CreateCouponBatch(ctx context.Context, caller *identity.Principal, in CouponBatch) (CouponBatch, error) {
	p, err := memberScope(caller, identity.PermCampaignWrite)
	if err != nil {
		return CouponBatch{}, err
	}
	return s.createBatch(ctx, p.Actor(), in)
}

func (s *Service) createBatch(ctx context.Context, actor audit.Actor, in CouponBatch) (CouponBatch, error) {
	if err := in.Validate(); err != nil {
		return CouponBatch{}, err
	}
	in.ID, in.CreatedAt, in.Issued = s.newID(), s.now(), 0
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		t, err := q.GetCouponTemplate(ctx, in.TemplateID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("consumer.coupon_template").WithField("template_id")
		} else if err != nil {
			return err
		}
		if in.BudgetFen > 0 && templateOf(t).faceFen() == 0 {
			return couponInvalid("budget_fen", "a budget needs coupons of a known value: give the percent coupon a cap")
		}
		if err := q.InsertCouponBatch(ctx, consumerdb.InsertCouponBatchParams{ID: in.ID, TemplateID: in.TemplateID, Name: in.Name,
			Stock: int32(in.Stock), PerMember: int32(in.PerMember), PerDay: int32(in.PerDay), Claimable: in.Claimable, CreatedAt: in.CreatedAt,
			BudgetFen: in.BudgetFen}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: actor, Action: "consumer.coupon.batch",
			ObjectType: "consumer.coupon_batch", ObjectID: in.ID.String(), After: in})
	})
	return in, wrap("create coupon batch", err)
}

// CouponBatches lists the batches with live stock and redemption (consumer.member.read).
func (s *Service) CouponBatches(ctx context.Context, caller *identity.Principal) ([]CouponBatch, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return nil, err
	}
	rows, err := consumerdb.New(s.db).ListCouponBatches(ctx)
	if err != nil {
		return nil, wrap("coupon batches", err)
	}
	out := make([]CouponBatch, len(rows))
	for i, r := range rows {
		out[i] = CouponBatch{ID: r.ID, TemplateID: r.TemplateID, TemplateName: r.TemplateName, Name: r.Name, Stock: int(r.Stock),
			Issued: int(r.Issued), Reserved: int(r.Reserved), Redeemed: int(r.Redeemed), PerMember: int(r.PerMember),
			PerDay: int(r.PerDay), Claimable: r.Claimable, BudgetFen: r.BudgetFen, CommittedFen: r.CommittedFen, CreatedAt: r.CreatedAt}
	}
	return out, nil
}

// IssueRequest issues one coupon of a batch to a member. SourceKey makes it happen
// once ("campaign:<id>:<member>"); Source is manual, campaign or tier.
type IssueRequest struct {
	BatchID    uuid.UUID
	ConsumerID uuid.UUID
	Source     string
	SourceKey  string
	// by is the staff member issuing it by hand (IssueCouponByHand): the issue is
	// audited under them, and a member's limit is worded for them.
	by *audit.Actor
}

// Coupon is one member's coupon.
type Coupon struct {
	ID           uuid.UUID  `json:"id"`
	BatchID      uuid.UUID  `json:"batch_id"`
	Name         string     `json:"name"`
	Kind         string     `json:"kind"`
	AmountFen    int64      `json:"amount_fen,omitempty"`
	Percent      int        `json:"percent,omitempty"`
	CapFen       int64      `json:"cap_fen,omitempty"`
	ThresholdFen int64      `json:"threshold_fen"`
	Stackable    bool       `json:"stackable"`
	State        string     `json:"state"`
	Expired      bool       `json:"expired"`
	Source       string     `json:"source"`
	ValidFrom    time.Time  `json:"valid_from"`
	ValidTo      time.Time  `json:"valid_to"`
	OrderID      *uuid.UUID `json:"order_id,omitempty"`
	DiscountFen  int64      `json:"discount_fen,omitempty"`
	IssuedAt     time.Time  `json:"issued_at"`
}

// IssueCoupon issues a coupon of a batch to a member, once per SourceKey: the
// published way for other parts (consumer/marketing's campaigns, tier upgrades). It
// refuses past the batch's stock or the member's limits; concurrent issues never
// pass the stock (one guarded UPDATE) nor a member's limit (the member's row is held).
func (s *Service) IssueCoupon(ctx context.Context, in IssueRequest) (Coupon, error) {
	switch in.Source {
	case IssueManual, IssueCampaign, IssueTier, IssueClaim:
	default:
		return Coupon{}, errs.Invalidf("source", "the source is manual, campaign, tier or claim")
	}
	if in.SourceKey == "" {
		return Coupon{}, errs.Invalidf("source_key", "a source key is required")
	}
	return s.issue(ctx, in, false)
}

// IssueCouponByHand issues one coupon of a batch to a member for the staff caller
// (consumer.campaign.write at scope all), once per key (1 to 100 characters), audited
// in the issue's transaction: the API's POST …/coupon-batches/{id}/issues and the
// member's 360 in the console. It refuses what IssueCoupon refuses (no such batch or
// member, the stock or the budget spent, the member's limit, the template's dates
// over), nothing issued.
func (s *Service) IssueCouponByHand(ctx context.Context, caller *identity.Principal, batchID, consumerID uuid.UUID, key string) (Coupon, error) {
	p, err := memberScope(caller, identity.PermCampaignWrite)
	if err != nil {
		return Coupon{}, err
	}
	if key == "" || len(key) > 100 {
		return Coupon{}, errs.Invalidf("key", "key is 1 to 100 characters, unique per issue")
	}
	actor := p.Actor()
	return s.issue(ctx, IssueRequest{BatchID: batchID, ConsumerID: consumerID, Source: IssueManual,
		SourceKey: "manual:" + batchID.String() + ":" + key, by: &actor}, false)
}

// limitReached refuses a coupon past a member's limits: in the member's words when
// they claim it, in staff's (how many they have of how many) when issued by hand.
func limitReached(b consumerdb.ConsumerCouponBatch, have consumerdb.MemberBatchCouponsRow, byHand bool) error {
	e := errs.E(errs.KindUnprocessable, CodeCouponLimit, fmt.Sprintf("you have %d of this coupon, the most one member may have", have.Total))
	switch {
	case !byHand:
		return e
	case have.Total >= int64(b.PerMember):
		return e.WithReason("member", "Have", have.Total, "PerMember", b.PerMember)
	}
	return e.WithReason("member_day", "Today", have.Today, "PerDay", b.PerDay)
}

// ClaimableCoupon is a batch the consumer may claim now (the mini-program's coupon
// centre, 领券中心): its terms, what is left of it, how many of it the consumer holds,
// and whether their limits let them claim another.
type ClaimableCoupon struct {
	BatchID   uuid.UUID      `json:"batch_id"`
	Name      string         `json:"name"`
	Terms     CouponTemplate `json:"terms"`
	Left      int            `json:"left"`
	PerMember int            `json:"per_member"`
	PerDay    int            `json:"per_day"`
	Mine      int            `json:"mine"`
	CanClaim  bool           `json:"can_claim"`
}

// ClaimableCoupons are the batches the consumer may claim now, newest first: claimable,
// with stock and budget left, of a template still valid (consumerID is the
// authenticated consumer). ClaimCoupon claims one.
func (s *Service) ClaimableCoupons(ctx context.Context, consumerID uuid.UUID) ([]ClaimableCoupon, error) {
	now := s.now()
	rows, err := consumerdb.New(s.db).ClaimableCouponBatches(ctx, consumerdb.ClaimableCouponBatchesParams{ConsumerID: consumerID,
		DayStart: clock.Day(now), Now: &now})
	if err != nil {
		return nil, wrap("claimable coupons", err)
	}
	out := make([]ClaimableCoupon, len(rows))
	for i, r := range rows {
		out[i] = ClaimableCoupon{BatchID: r.ID, Name: r.Name, Terms: templateOf(r.ConsumerCouponTemplate), Left: int(r.Stock - r.Issued),
			PerMember: int(r.PerMember), PerDay: int(r.PerDay), Mine: int(r.Mine),
			CanClaim: r.Mine < int64(r.PerMember) && (r.PerDay == 0 || r.MineToday < int64(r.PerDay))}
	}
	return out, nil
}

// ClaimCoupon is the consumer claiming a coupon of a claimable batch themself, within
// the batch's limits (consumerID is the authenticated consumer).
func (s *Service) ClaimCoupon(ctx context.Context, consumerID, batchID uuid.UUID) (Coupon, error) {
	return s.issue(ctx, IssueRequest{BatchID: batchID, ConsumerID: consumerID, Source: IssueClaim}, true)
}

func (s *Service) issue(ctx context.Context, in IssueRequest, claim bool) (Coupon, error) {
	var id uuid.UUID
	key := in.SourceKey
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := consumerdb.New(tx)
		if _, err := lock(ctx, q, in.ConsumerID); err != nil {
			return err
		}
		if key != "" {
			if c, err := q.GetCouponByKey(ctx, key); err == nil {
				id = c.ID
				return nil // issued already
			} else if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		b, err := q.GetCouponBatch(ctx, in.BatchID)
		if errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound("consumer.coupon_batch").WithField("batch_id")
		} else if err != nil {
			return err
		}
		if claim && !b.Claimable {
			return errs.E(errs.KindUnprocessable, CodeCouponNotClaimable, "this coupon is not for claiming")
		}
		now := s.now()
		have, err := q.MemberBatchCoupons(ctx, consumerdb.MemberBatchCouponsParams{DayStart: clock.Day(now), BatchID: b.ID, ConsumerID: in.ConsumerID})
		if err != nil {
			return err
		}
		if have.Total >= int64(b.PerMember) || (b.PerDay > 0 && have.Today >= int64(b.PerDay)) {
			return limitReached(b, have, in.by != nil)
		}
		if key == "" {
			key = "claim:" + b.ID.String() + ":" + in.ConsumerID.String() + ":" + strconv.FormatInt(have.Total+1, 10)
		}
		t, err := q.GetCouponTemplate(ctx, b.TemplateID)
		if err != nil {
			return err
		}
		if n, err := q.TakeCouponStock(ctx, consumerdb.TakeCouponStockParams{ID: b.ID, FaceFen: templateOf(t).faceFen()}); err != nil {
			return err
		} else if n == 0 {
			if now, err := q.GetCouponBatch(ctx, b.ID); err == nil && now.Issued < now.Stock {
				return errs.E(errs.KindConflict, CodeCouponBudgetSpent, "this batch's budget is spent")
			}
			return errs.E(errs.KindConflict, CodeCouponOutOfStock, "all coupons of this batch are taken")
		}
		from, to := now, now.AddDate(0, 0, int(t.ValidDays))
		if t.ValidDays == 0 {
			from, to = *t.ValidFrom, *t.ValidTo
		}
		if e := outsideValidity(now, to, now); e != nil {
			return e
		}
		id = s.newID()
		if _, err = q.InsertCoupon(ctx, consumerdb.InsertCouponParams{ID: id, BatchID: b.ID, TemplateID: t.ID, ConsumerID: in.ConsumerID,
			Source: in.Source, SourceKey: key, ValidFrom: from, ValidTo: to, IssuedAt: now}); err != nil {
			return err
		}
		if err := s.publishCouponIssued(ctx, q, id, b.ID, in.ConsumerID, now); err != nil || in.by == nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: *in.by, Action: "consumer.coupon.issue", ObjectType: "consumer.coupon",
			ObjectID: id.String(), After: map[string]any{"batch_id": b.ID, "batch": b.Name, "consumer_id": in.ConsumerID, "key": key}})
	})
	if errors.Is(err, errNotMember) {
		return Coupon{}, errs.NotFound(objMember)
	}
	if err != nil {
		return Coupon{}, wrap("issue coupon", err)
	}
	cs, err := s.coupons(ctx, in.ConsumerID)
	if err != nil {
		return Coupon{}, err
	}
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return Coupon{}, errs.NotFound("consumer.coupon")
}

// MyCoupons is the member's coupons, newest first (consumerID is the authenticated consumer).
func (s *Service) MyCoupons(ctx context.Context, consumerID uuid.UUID) ([]Coupon, error) {
	return s.coupons(ctx, consumerID)
}

// MemberCoupons is a member's coupons for the staff caller (consumer.member.read).
func (s *Service) MemberCoupons(ctx context.Context, caller *identity.Principal, consumerID uuid.UUID) ([]Coupon, error) {
	if _, err := memberScope(caller, identity.PermMemberRead); err != nil {
		return nil, err
	}
	return s.coupons(ctx, consumerID)
}

func (s *Service) coupons(ctx context.Context, consumerID uuid.UUID) ([]Coupon, error) {
	rows, err := consumerdb.New(s.db).MemberCoupons(ctx, consumerID)
	if err != nil {
		return nil, wrap("coupons", err)
	}
	now := s.now()
	out := make([]Coupon, len(rows))
	for i, r := range rows {
		out[i] = Coupon{ID: r.ID, BatchID: r.BatchID, Name: r.Name, Kind: r.Kind, AmountFen: r.AmountFen, Percent: int(r.Percent),
			CapFen: r.CapFen, ThresholdFen: r.ThresholdFen, Stackable: r.Stackable, State: r.State, Source: r.Source,
			Expired: r.State == CouponAvailable && !r.ValidTo.After(now), ValidFrom: r.ValidFrom, ValidTo: r.ValidTo,
			DiscountFen: r.DiscountFen, IssuedAt: r.IssuedAt}
		if r.OrderID.Valid {
			o := r.OrderID.UUID
			out[i].OrderID = &o
		}
	}
	return out, nil
}

// ReleaseOrderCoupons gives back the coupons an unpaid order reserved, when it is
// closed or expires. Idempotent.
func (s *Service) ReleaseOrderCoupons(ctx context.Context, orderID uuid.UUID) (int, error) {
	n, err := consumerdb.New(s.db).ReleaseOrderCoupons(ctx, uuid.NullUUID{UUID: orderID, Valid: true})
	return int(n), wrap("release coupons", err)
}

// RedeemOrderCoupons marks the coupons an order reserved as used, when it is paid.
// Idempotent.
func (s *Service) RedeemOrderCoupons(ctx context.Context, orderID uuid.UUID) (int, error) {
	var n int
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) (err error) {
		n, err = s.redeemOrderCoupons(ctx, consumerdb.New(tx), orderID)
		return err
	})
	return n, wrap("redeem coupons", err)
}

// ReturnOrderCoupons gives back the coupons of a fully refunded order that are still
// within their validity (a partial refund returns none). Idempotent.
func (s *Service) ReturnOrderCoupons(ctx context.Context, orderID uuid.UUID) (int, error) {
	n, err := consumerdb.New(s.db).ReturnOrderCoupons(ctx, consumerdb.ReturnOrderCouponsParams{OrderID: uuid.NullUUID{UUID: orderID, Valid: true}, ValidTo: s.now()})
	return int(n), wrap("return coupons", err)
}
