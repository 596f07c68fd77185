package consumer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Actions that earn points by the program's rules.
const (
	ActionSignup   = "signup"   // the member joined; Ref ""
	ActionReferral = "referral" // a member they invited qualified; Ref the invitee's id
	ActionReview   = "review"   // the member reviewed an order; Ref the review's id
)

// ActionRequest is something a member did that the program rewards.
type ActionRequest struct {
	ConsumerID uuid.UUID
	Action     string
	Ref        string
}

// EarnForAction credits the points the program gives for an action, once per member,
// action and ref (a sign-up once, a referral once per invitee, a review once per
// review; only the first ReviewsPerDay reviews of a day earn). It returns the points
// credited by this call: 0 for a repeat, an action the program gives nothing for, or
// a review past the day's limit. The lot is active at once, expires by the program's
// rule and counts toward tiers. It is the published way for other parts (referrals
// in consumer/marketing, reviews) to report actions.
func (s *Service) EarnForAction(ctx context.Context, in ActionRequest) (int64, error) {
	in.Ref = strings.TrimSpace(in.Ref)
	switch {
	case in.Action != ActionSignup && in.Action != ActionReferral && in.Action != ActionReview:
		return 0, errs.Invalidf("action", "the action is signup, referral or review")
	case in.Action == ActionSignup && in.Ref != "":
		return 0, errs.Invalidf("ref", "a sign-up has no reference")
	case in.Action != ActionSignup && (in.Ref == "" || len(in.Ref) > 100):
		return 0, errs.Invalidf("ref", "a referral or review names its invitee or review (1 to 100 characters)")
	case in.Action == ActionReferral && in.Ref == in.ConsumerID.String():
		return 0, errs.Invalidf("ref", "a member cannot refer themself")
	}
	var credited int64
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		credited = 0
		q := consumerdb.New(tx)
		if _, err := lock(ctx, q, in.ConsumerID); err != nil {
			return err
		}
		prog, err := s.program(ctx, q)
		if err != nil {
			return err
		}
		pts := map[string]int64{ActionSignup: prog.SignupPoints, ActionReferral: prog.ReferralPoints, ActionReview: prog.ReviewPoints}[in.Action]
		now := s.now()
		if in.Action == ActionReview {
			n, err := q.ActionsToday(ctx, consumerdb.ActionsTodayParams{ConsumerID: in.ConsumerID, Action: in.Action, DayStart: clock.Day(now)})
			if err != nil {
				return err
			}
			if n >= int64(prog.ReviewsPerDay) {
				pts = 0 // recorded, earns nothing
			}
		}
		n, err := q.InsertAction(ctx, consumerdb.InsertActionParams{ConsumerID: in.ConsumerID, Action: in.Action, Ref: in.Ref,
			Points: int32(pts), At: now})
		if err != nil || n == 0 || pts == 0 {
			return err
		}
		ok, err := s.credit(ctx, q, credit{consumerID: in.ConsumerID, entryKind: KindAction, lotKind: KindAction,
			key: fmt.Sprintf("action:%s:%s:%s", in.Action, in.ConsumerID, in.Ref), points: pts, counts: true, reason: in.Action})
		if ok {
			credited = pts
		}
		return err
	})
	if errors.Is(err, errNotMember) {
		return 0, errs.NotFound(objMember)
	}
	return credited, wrap("earn for action", err)
}

// onJoinedEarnSignup gives a new member the program's sign-up points.
func (s *Service) onJoinedEarnSignup(ctx context.Context, e events.Envelope) error {
	var j events.MemberJoined
	if err := e.Decode(&j); err != nil {
		return fmt.Errorf("consumer: decode %s: %w", e.Topic, err)
	}
	_, err := s.EarnForAction(ctx, ActionRequest{ConsumerID: j.ConsumerID, Action: ActionSignup})
	return err
}

// MemberOrder is one of a member's paid orders as the consumer domain kept it from
// billing's events: what was paid and refunded, the points it earned and what its
// coupons took off.
type MemberOrder struct {
	OrderID     uuid.UUID  `json:"order_id"`
	OrderNo     string     `json:"order_no"`
	MerchantID  uuid.UUID  `json:"merchant_id"`
	AmountFen   int64      `json:"amount_fen"`
	RefundedFen int64      `json:"refunded_fen"`
	DiscountFen int64      `json:"discount_fen"`
	Points      int64      `json:"points"`
	PaidAt      *time.Time `json:"paid_at,omitempty"`
}

// Referral is a member one referred (or who referred one), rewarded once.
type Referral struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	Name       string    `json:"name,omitempty"`
	Phone      string    `json:"phone"`
	Points     int64     `json:"points,omitempty"`
	At         time.Time `json:"at"`
}

// onPaidKeepOrders and onRefundKeepOrder keep the member's orders for their 360; a
// batch of payments is one statement.
func (s *Service) onPaidKeepOrders(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
	ps, err := decodePayments(es)
	if err != nil {
		return err
	}
	return s.keepPaid(ctx, tx, ps...)
}

// keepPaid writes the paid orders, each once (a later event of the same order wins,
// as one at a time).
func (s *Service) keepPaid(ctx context.Context, db consumerdb.DBTX, ps ...events.PaymentSucceeded) error {
	var k consumerdb.KeepOrdersPaidParams
	at := make(map[uuid.UUID]int, len(ps))
	for _, p := range ps {
		if i, ok := at[p.OrderID]; ok {
			k.OrderNos[i], k.AmountsFen[i], k.PaidAts[i] = p.OrderNo, p.AmountFen, p.PaidAt.UTC()
			continue
		}
		at[p.OrderID] = len(k.OrderIds)
		k.OrderIds, k.ConsumerIds, k.OrderNos = append(k.OrderIds, p.OrderID), append(k.ConsumerIds, p.ConsumerID), append(k.OrderNos, p.OrderNo)
		k.MerchantIds, k.AmountsFen, k.PaidAts = append(k.MerchantIds, p.MerchantID), append(k.AmountsFen, p.AmountFen), append(k.PaidAts, p.PaidAt.UTC())
	}
	return wrap("keep orders", consumerdb.New(db).KeepOrdersPaid(ctx, k))
}

func (s *Service) onRefundKeepOrder(ctx context.Context, e events.Envelope) error {
	var r events.RefundSucceeded
	if err := e.Decode(&r); err != nil {
		return fmt.Errorf("consumer: decode %s: %w", e.Topic, err)
	}
	return wrap("keep refund", consumerdb.New(s.db).KeepOrderRefunded(ctx, consumerdb.KeepOrderRefundedParams{OrderID: r.OrderID,
		ConsumerID: r.ConsumerID, OrderNo: r.OrderNo, MerchantID: r.MerchantID, RefundedFen: r.RefundedTotalFen}))
}

// activity is a member's orders and referrals, for their 360.
func (s *Service) activity(ctx context.Context, id uuid.UUID, phone func(string) string) ([]MemberOrder, []Referral, *Referral, error) {
	q := consumerdb.New(s.db)
	rows, err := q.MemberOrders(ctx, id)
	if err != nil {
		return nil, nil, nil, wrap("member orders", err)
	}
	orders := make([]MemberOrder, len(rows))
	for i, r := range rows {
		orders[i] = MemberOrder{OrderID: r.OrderID, OrderNo: r.OrderNo, MerchantID: r.MerchantID, AmountFen: r.AmountFen,
			RefundedFen: r.RefundedFen, DiscountFen: r.DiscountFen, Points: r.Points, PaidAt: r.PaidAt}
	}
	refs, err := q.MemberReferrals(ctx, id)
	if err != nil {
		return nil, nil, nil, wrap("member referrals", err)
	}
	referred := make([]Referral, 0, len(refs))
	for _, r := range refs {
		invitee, _ := uuid.Parse(r.Ref)
		referred = append(referred, Referral{ConsumerID: invitee, Name: deref(r.Name), Phone: phone(deref(r.Phone)), Points: int64(r.Points), At: r.At})
	}
	by, err := q.ReferredBy(ctx, id.String())
	if err != nil {
		return nil, nil, nil, wrap("referred by", err)
	}
	var referrer *Referral
	if len(by) > 0 {
		referrer = &Referral{ConsumerID: by[0].ConsumerID, Name: by[0].Name, Phone: phone(by[0].Phone), At: by[0].At}
	}
	return orders, referred, referrer, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
