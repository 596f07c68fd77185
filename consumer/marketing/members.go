package marketing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// Subscriber names of this domain (part of the asynq task ids).
const SubscriberMembers = "marketing.members"

// Subscriptions keep marketing's member facts from the other domains' events. Each
// handler applies its event once (applied_events; payments by their order's id) and
// logs the member's change in the event's delivery transaction, for the indexes to
// pick up; the worker's dispatcher runs them in batches.
func (s *Service) Subscriptions() []outbox.Subscription {
	sub := func(t events.Topic, h func(context.Context, pgx.Tx, events.Envelope) error) outbox.Subscription {
		return outbox.Subscription{Topic: t, Subscriber: SubscriberMembers, HandleTx: h}
	}
	return []outbox.Subscription{
		sub(events.TopicMemberJoined, s.onMemberJoined),
		sub(events.TopicMerchantLive, s.onMerchantLive),
		{Topic: events.TopicPaymentSucceeded, Subscriber: SubscriberMembers, HandleBatchTx: s.onPayments},
		sub(events.TopicRefundSucceeded, s.onRefundSucceeded),
		sub(events.TopicProfileChanged, s.onProfileChanged),
		sub(events.TopicTagsChanged, s.onTagsChanged),
		sub(events.TopicTierChanged, s.onTierChanged),
		sub(events.TopicPointsBalanceChanged, s.onPointsChanged),
		sub(events.TopicPointsBalancesChanged, s.onBalancesChanged),
		sub(events.TopicCouponIssued, s.onCouponIssued),
		sub(events.TopicCouponsIssued, s.onCouponsIssued),
		sub(events.TopicCouponRedeemed, s.onCouponRedeemed),
	}
}

// applyOnce runs fn in tx, the event's delivery transaction (the dispatcher's batch),
// unless the event was applied before. fn returns the member whose facts changed
// (uuid.Nil: none).
func applyOnce[T any](ctx context.Context, tx pgx.Tx, e events.Envelope, fn func(q *marketingdb.Queries, p *T) (uuid.UUID, error)) error {
	var p T
	if err := e.Decode(&p); err != nil {
		return fmt.Errorf("marketing: decode %s: %w", e.Topic, err)
	}
	q := marketingdb.New(tx)
	n, err := q.MarkEventApplied(ctx, e.ID)
	if err != nil || n == 0 {
		return err
	}
	member, err := fn(q, &p)
	if err != nil || member == uuid.Nil {
		return err
	}
	return recordChange(ctx, q, member)
}

// recordChange logs a member's change for the indexes.
func recordChange(ctx context.Context, q *marketingdb.Queries, member uuid.UUID) error {
	seq, err := q.MemberSeq(ctx, member)
	if err != nil {
		return err
	}
	return q.RecordChange(ctx, seq)
}

// ensure makes sure the member has a row (joined when first seen).
func ensure(ctx context.Context, q *marketingdb.Queries, member uuid.UUID, e events.Envelope) error {
	_, err := ensureSeq(ctx, q, member, e)
	return err
}

// ensureSeq is ensure returning the member's seq, for a handler that writes by seq
// (no second read of it).
func ensureSeq(ctx context.Context, q *marketingdb.Queries, member uuid.UUID, e events.Envelope) (int32, error) {
	return q.EnsureMember(ctx, marketingdb.EnsureMemberParams{ConsumerID: member, JoinedAt: e.OccurredAt})
}

func (s *Service) onMemberJoined(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.MemberJoined) (uuid.UUID, error) {
		_, err := q.EnsureMember(ctx, marketingdb.EnsureMemberParams{ConsumerID: p.ConsumerID, JoinedAt: p.JoinedAt})
		return p.ConsumerID, err
	})
}

func (s *Service) onMerchantLive(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.MerchantLive) (uuid.UUID, error) {
		if err := q.UpsertMerchant(ctx, marketingdb.UpsertMerchantParams{MerchantID: p.MerchantID, Category: p.Category, City: p.City}); err != nil {
			return uuid.Nil, err
		}
		if p.Lat == 0 && p.Lng == 0 {
			return uuid.Nil, nil // no place told
		}
		return uuid.Nil, q.SetMerchantPlace(ctx, marketingdb.SetMerchantPlaceParams{MerchantID: p.MerchantID, Lat: pgtype.Float8{Float64: p.Lat, Valid: true}, Lng: pgtype.Float8{Float64: p.Lng, Valid: true}})
	})
}

// onPayments applies a batch's run of payments: their merchants' category and place
// are read once, then each payment is one statement (ApplyPayment), all of them sent in
// one round trip. No applied_events
// mark: the order's id keeps a payment once (told again under another event id it
// changes nothing), and a delivery's effect commits with its close (the dispatcher's
// batch), so a batch that fails or dies re-runs from nothing.
func (s *Service) onPayments(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
	ps := make([]events.PaymentSucceeded, len(es))
	merchants := make([]uuid.UUID, len(es))
	for i, e := range es {
		if err := e.Decode(&ps[i]); err != nil {
			return fmt.Errorf("marketing: decode %s: %w", e.Topic, err)
		}
		merchants[i] = ps[i].MerchantID
	}
	q := marketingdb.New(tx)
	rows, err := q.MerchantsFacts(ctx, merchants)
	if err != nil {
		return fmt.Errorf("marketing: payments' merchants: %w", err)
	}
	facts := make(map[uuid.UUID]marketingdb.MerchantsFactsRow, len(rows))
	for _, r := range rows {
		facts[r.MerchantID] = r
	}
	applied := make([]marketingdb.ApplyPaymentParams, len(ps))
	for i, p := range ps {
		a := marketingdb.ApplyPaymentParams{OrderID: p.OrderID, ConsumerID: p.ConsumerID, MerchantID: p.MerchantID,
			AmountFen: p.AmountFen, PaidAt: p.PaidAt, JoinedAt: es[i].OccurredAt}
		if m, ok := facts[p.MerchantID]; ok {
			a.Category = pgtype.Text{String: m.Category, Valid: true}
			if m.Placed { // where the member buys, for near_merchant: their latest order's merchant
				a.Cell = cellOf(place{m.Lat, m.Lng})
			}
		}
		applied[i] = a
	}
	// One round trip for the batch's statements, run in order as one at a time would be.
	// The first failure aborts the transaction: the statements after it fail for that.
	var first error
	q.ApplyPayment(ctx, applied).Exec(func(i int, err error) {
		if err != nil && first == nil {
			first = fmt.Errorf("marketing: payment %s: %w", ps[i].OrderID, err)
		}
	})
	return first
}

func (s *Service) onRefundSucceeded(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.RefundSucceeded) (uuid.UUID, error) {
		o, err := q.LockOrder(ctx, p.OrderID)
		if errors.Is(err, pgx.ErrNoRows) {
			return uuid.Nil, fmt.Errorf("marketing: refund of order %s before its payment: retry", p.OrderID)
		}
		if err != nil {
			return uuid.Nil, err
		}
		// RefundedTotalFen is the order's total refunded so far: whatever order refunds
		// arrive in, the highest total wins.
		if p.RefundedTotalFen <= o.RefundedFen {
			return uuid.Nil, nil
		}
		if err := q.SetOrderRefunded(ctx, marketingdb.SetOrderRefundedParams{OrderID: p.OrderID, RefundedFen: p.RefundedTotalFen}); err != nil {
			return uuid.Nil, err
		}
		// A refunded first order did not survive: the referral earns nothing.
		if err := q.VoidReferralByOrder(ctx, marketingdb.VoidReferralByOrderParams{FirstOrderID: uuid.NullUUID{UUID: p.OrderID, Valid: true}, SettledAt: &p.SucceededAt}); err != nil {
			return uuid.Nil, err
		}
		return o.ConsumerID, q.SubtractSpend(ctx, marketingdb.SubtractSpendParams{ConsumerID: o.ConsumerID, Fen: p.RefundedTotalFen - o.RefundedFen})
	})
}

func (s *Service) onProfileChanged(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.ProfileChanged) (uuid.UUID, error) {
		if err := ensure(ctx, q, p.ConsumerID, e); err != nil {
			return uuid.Nil, err
		}
		var bday pgtype.Date
		if t, err := time.Parse(time.DateOnly, p.Birthday); err == nil {
			bday = pgtype.Date{Time: t, Valid: true}
		}
		if err := q.SetBirthday(ctx, marketingdb.SetBirthdayParams{ConsumerID: p.ConsumerID, Birthday: bday}); err != nil {
			return uuid.Nil, err
		}
		return p.ConsumerID, q.SetProfile(ctx, marketingdb.SetProfileParams{ConsumerID: p.ConsumerID, Gender: p.Gender, City: p.City})
	})
}

func (s *Service) onTagsChanged(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.TagsChanged) (uuid.UUID, error) {
		if err := ensure(ctx, q, p.ConsumerID, e); err != nil {
			return uuid.Nil, err
		}
		tags := slices.Compact(slices.Sorted(slices.Values(p.Tags)))
		if tags == nil {
			tags = []string{}
		}
		return p.ConsumerID, q.SetTags(ctx, marketingdb.SetTagsParams{ConsumerID: p.ConsumerID, Tags: tags})
	})
}

func (s *Service) onTierChanged(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.TierChanged) (uuid.UUID, error) {
		if err := ensure(ctx, q, p.ConsumerID, e); err != nil {
			return uuid.Nil, err
		}
		if p.From != p.To && !p.ChangedAt.IsZero() { // a tier change trigger's occurrence
			if err := q.SetTierChangedAt(ctx, marketingdb.SetTierChangedAtParams{ConsumerID: p.ConsumerID, At: p.ChangedAt}); err != nil {
				return uuid.Nil, err
			}
		}
		return p.ConsumerID, q.SetTier(ctx, marketingdb.SetTierParams{ConsumerID: p.ConsumerID, Tier: s.tierKey(p.To)})
	})
}

func (s *Service) onPointsChanged(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.PointsBalanceChanged) (uuid.UUID, error) {
		if err := ensure(ctx, q, p.ConsumerID, e); err != nil {
			return uuid.Nil, err
		}
		return p.ConsumerID, q.SetPoints(ctx, marketingdb.SetPointsParams{ConsumerID: p.ConsumerID, PointsBalance: p.Balance})
	})
}

// tierKey names a tier told by its level number (consumer.TierKey: "0" the base
// tier) with this domain's keys (Config.Tiers); a name is kept as told.
func (s *Service) tierKey(told string) string {
	if n, err := strconv.Atoi(told); err == nil && n >= 0 {
		return s.cfg.Tiers[min(n, len(s.cfg.Tiers)-1)]
	}
	return told
}

// onBalancesChanged applies a batch job's points balances, logging each member's
// change in the one transaction.
func (s *Service) onBalancesChanged(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.PointsBalancesChanged) (uuid.UUID, error) {
		for _, b := range p.Balances {
			if err := ensure(ctx, q, b.ConsumerID, e); err != nil {
				return uuid.Nil, err
			}
			if err := q.SetPoints(ctx, marketingdb.SetPointsParams{ConsumerID: b.ConsumerID, PointsBalance: b.Balance}); err != nil {
				return uuid.Nil, err
			}
			if err := recordChange(ctx, q, b.ConsumerID); err != nil {
				return uuid.Nil, err
			}
		}
		return uuid.Nil, nil
	})
}

func (s *Service) onCouponIssued(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.CouponIssued) (uuid.UUID, error) {
		if err := ensure(ctx, q, p.ConsumerID, e); err != nil {
			return uuid.Nil, err
		}
		seq, err := q.MemberSeq(ctx, p.ConsumerID)
		if err != nil {
			return uuid.Nil, err
		}
		return p.ConsumerID, q.CouponIssuedToMember(ctx, marketingdb.CouponIssuedToMemberParams{ConsumerID: p.ConsumerID, Seq: seq, BatchID: p.BatchID})
	})
}

// onCouponsIssued applies a campaign's batch of coupons: every member's change is
// logged in the one transaction, so a redelivered event changes nothing.
func (s *Service) onCouponsIssued(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.CouponsIssued) (uuid.UUID, error) {
		for _, c := range p.Coupons {
			if err := ensure(ctx, q, c.ConsumerID, e); err != nil {
				return uuid.Nil, err
			}
			seq, err := q.MemberSeq(ctx, c.ConsumerID)
			if err != nil {
				return uuid.Nil, err
			}
			if err := q.CouponIssuedToMember(ctx, marketingdb.CouponIssuedToMemberParams{ConsumerID: c.ConsumerID, Seq: seq, BatchID: p.BatchID}); err != nil {
				return uuid.Nil, err
			}
			if err := q.RecordChange(ctx, seq); err != nil {
				return uuid.Nil, err
			}
		}
		return uuid.Nil, nil // each member's change is logged above
	})
}

func (s *Service) onCouponRedeemed(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.CouponRedeemed) (uuid.UUID, error) {
		n, err := q.InsertRedemption(ctx, marketingdb.InsertRedemptionParams{CouponID: p.CouponID, ConsumerID: p.ConsumerID,
			BatchID: p.BatchID, OrderID: p.OrderID, RedeemedAt: p.RedeemedAt})
		if err != nil || n == 0 {
			return uuid.Nil, err
		}
		return p.ConsumerID, q.CouponRedeemedByMember(ctx, marketingdb.CouponRedeemedByMemberParams{ConsumerID: p.ConsumerID, BatchID: p.BatchID})
	})
}
