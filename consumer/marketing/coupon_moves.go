package marketing

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/marketing/internal/marketingdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// Coupons moved by a consumer merge or its undo (events.TopicCouponsMoved): the counts
// per batch leave one member and reach the other, so a segment over a coupon batch
// (coupon_held, coupon_unused) counts whoever holds the coupons now. Coupons are kept as
// counts changed by delta (issued, redeemed), and the move is a delta too, so it
// commutes with an issue or a redemption told before or after it.

// couponMoveSubscriptions are the subscriptions of this file.
func (s *Service) couponMoveSubscriptions() []outbox.Subscription {
	return []outbox.Subscription{{Topic: events.TopicCouponsMoved, Subscriber: SubscriberMembers, HandleTx: s.onCouponsMoved}}
}

func (s *Service) onCouponsMoved(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	return applyOnce(ctx, tx, e, func(q *marketingdb.Queries, p *events.CouponsMoved) (uuid.UUID, error) {
		if err := ensure(ctx, q, p.From, e); err != nil {
			return uuid.Nil, err
		}
		seq, err := ensureSeq(ctx, q, p.To, e)
		if err != nil {
			return uuid.Nil, err
		}
		for _, b := range p.Batches {
			if err := q.CouponsMovedOut(ctx, marketingdb.CouponsMovedOutParams{ConsumerID: p.From, BatchID: b.BatchID, Held: b.Held, Unused: b.Unused}); err != nil {
				return uuid.Nil, err
			}
			if err := q.CouponsMovedIn(ctx, marketingdb.CouponsMovedInParams{ConsumerID: p.To, Seq: seq, BatchID: b.BatchID, Held: b.Held, Unused: b.Unused}); err != nil {
				return uuid.Nil, err
			}
		}
		if err := recordChange(ctx, q, p.From); err != nil {
			return uuid.Nil, err
		}
		return p.To, nil // applyOnce logs the receiver's change
	})
}
