package consumer

import (
	"context"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/events"
)

// tellMoved publishes what a merge (or its undo) changed of the two members, as the
// same membership events a tag or points change publishes (the whole set of tags, the
// available points), and the coupons moved per batch (coupons are told as counts that
// change, so their move is one too), so marketing's segments count each member by
// what they hold now.
// Nothing moved, nothing is told; a redelivered merge moves nothing and tells nothing.
func (s *Service) tellMoved(ctx context.Context, q *consumerdb.Queries, from, to uuid.UUID, moved MemberMoves) error {
	if len(moved.Tags) > 0 {
		for _, id := range []uuid.UUID{from, to} {
			if err := s.publishTags(ctx, q, id); err != nil {
				return err
			}
		}
	}
	if len(moved.Coupons) > 0 {
		if err := s.publishCouponsMoved(ctx, q, from, to, moved.Coupons); err != nil {
			return err
		}
	}
	if moved.Points != 0 {
		return s.publishBalances(ctx, q, []uuid.UUID{from, to})
	}
	return nil
}

// publishCouponsMoved tells the coupons that moved from one member to the other, per
// batch, as they are now (held, and not redeemed), so a segment over a coupon batch
// counts whoever holds them (events.TopicCouponsMoved).
func (s *Service) publishCouponsMoved(ctx context.Context, q *consumerdb.Queries, from, to uuid.UUID, coupons []uuid.UUID) error {
	rows, err := q.MovedCouponsByBatch(ctx, coupons)
	if err != nil {
		return err
	}
	e := events.CouponsMoved{From: from, To: to, MovedAt: s.now(), Batches: make([]events.MovedCoupons, len(rows))}
	for i, r := range rows {
		e.Batches[i] = events.MovedCoupons{BatchID: r.BatchID.String(), Held: r.Held, Unused: r.Unused}
	}
	return publish(ctx, q, events.TopicCouponsMoved, from.String(), e)
}
