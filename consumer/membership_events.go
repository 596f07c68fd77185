package consumer

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// Membership events: what consumer/marketing keeps of a member (points, tier, tags,
// profile, coupons) so its saved segments stay current. Each is published in the
// transaction of the change, carrying the new state rather than a delta, so a
// subscriber applying one twice or out of order converges.

// errNoTx is a change made outside a transaction: its event could not be published
// atomically with it, so the change is refused rather than left untold.
var errNoTx = errors.New("consumer: a membership change outside a transaction cannot publish its event")

func publish(ctx context.Context, q *consumerdb.Queries, topic events.Topic, key string, payload any) error {
	tx := q.Tx()
	if tx == nil {
		return errNoTx
	}
	_, err := outbox.Publish(ctx, tx, topic, key, payload)
	return err
}

// TierKey is how a tier level travels in a TierChanged event: its level number (0
// is the base tier); marketing names the levels in its own configuration.
func TierKey(level int) string { return strconv.Itoa(level) }

func (s *Service) publishBalance(ctx context.Context, q *consumerdb.Queries, id uuid.UUID, balance int64) error {
	return publish(ctx, q, events.TopicPointsBalanceChanged, id.String(),
		events.PointsBalanceChanged{ConsumerID: id, Balance: balance, ChangedAt: s.now()})
}

// recordTierChange writes a tier history row and tells it.
func (s *Service) recordTierChange(ctx context.Context, q *consumerdb.Queries, h consumerdb.InsertTierHistoryParams) error {
	if err := q.InsertTierHistory(ctx, h); err != nil {
		return err
	}
	if h.FromLevel == h.ToLevel {
		return nil // kept: nothing changed for marketing
	}
	return publish(ctx, q, events.TopicTierChanged, h.ConsumerID.String(), events.TierChanged{ConsumerID: h.ConsumerID,
		From: TierKey(int(h.FromLevel)), To: TierKey(int(h.ToLevel)), ChangedAt: h.At})
}

// publishTags tells a member's whole set of tags now.
func (s *Service) publishTags(ctx context.Context, q *consumerdb.Queries, id uuid.UUID) error {
	rows, err := q.MemberTags(ctx, id)
	if err != nil {
		return err
	}
	tags := make([]string, len(rows))
	for i, r := range rows {
		tags[i] = r.Tag
	}
	return publish(ctx, q, events.TopicTagsChanged, id.String(), events.TagsChanged{ConsumerID: id, Tags: tags, ChangedAt: s.now()})
}

// publishProfile tells a member's labels; the event's gender is "f", "m" or "".
func (s *Service) publishProfile(ctx context.Context, q *consumerdb.Queries, id uuid.UUID, in Profile) error {
	gender := map[string]string{GenderFemale: "f", GenderMale: "m"}[in.Gender]
	return publish(ctx, q, events.TopicProfileChanged, id.String(), events.ProfileChanged{ConsumerID: id, Gender: gender,
		City: in.City, Birthday: in.Birthday, ChangedAt: s.now()})
}

func (s *Service) publishCouponIssued(ctx context.Context, q *consumerdb.Queries, couponID, batchID, consumerID uuid.UUID, at time.Time) error {
	return publish(ctx, q, events.TopicCouponIssued, couponID.String(), events.CouponIssued{CouponID: couponID,
		BatchID: batchID.String(), ConsumerID: consumerID, IssuedAt: at})
}

// redeemOrderCoupons marks an order's reserved coupons redeemed and tells each.
func (s *Service) redeemOrderCoupons(ctx context.Context, q *consumerdb.Queries, orderID uuid.UUID) (int, error) {
	return s.redeemOrdersCoupons(ctx, q, []uuid.UUID{orderID}, func(int) context.Context { return ctx })
}

// redeemOrdersCoupons marks the orders' reserved coupons redeemed in one statement and
// tells each, in the orders' order, under the context ctxOf gives the order's index
// (its payment's request id).
func (s *Service) redeemOrdersCoupons(ctx context.Context, q *consumerdb.Queries, orders []uuid.UUID, ctxOf func(i int) context.Context) (int, error) {
	now := s.now()
	rows, err := q.RedeemOrdersCoupons(ctx, consumerdb.RedeemOrdersCouponsParams{OrderIds: orders, RedeemedAt: &now})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	first := make(map[uuid.UUID]int, len(orders))
	for i := len(orders) - 1; i >= 0; i-- {
		first[orders[i]] = i
	}
	slices.SortStableFunc(rows, func(a, b consumerdb.RedeemOrdersCouponsRow) int {
		return cmp.Compare(first[a.OrderID.UUID], first[b.OrderID.UUID])
	})
	for _, r := range rows {
		i := first[r.OrderID.UUID]
		if err := publish(ctxOf(i), q, events.TopicCouponRedeemed, r.ID.String(), events.CouponRedeemed{CouponID: r.ID,
			BatchID: r.BatchID.String(), ConsumerID: r.ConsumerID, OrderID: orders[i], RedeemedAt: now}); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// publishBalances tells the available points of the members a batch job moved, in
// one event.
func (s *Service) publishBalances(ctx context.Context, q *consumerdb.Queries, consumers []uuid.UUID) error {
	if len(consumers) == 0 {
		return nil
	}
	rows, err := q.PointsBalancesOf(ctx, consumers)
	if err != nil {
		return err
	}
	balances := make([]events.PointsBalance, len(rows))
	for i, r := range rows {
		balances[i] = events.PointsBalance{ConsumerID: r.ConsumerID, Balance: r.Balance}
	}
	return s.publishBalanceList(ctx, q, balances)
}

// publishBalanceList tells balances a batch job already knows, in one event.
func (s *Service) publishBalanceList(ctx context.Context, q *consumerdb.Queries, balances []events.PointsBalance) error {
	if len(balances) == 0 {
		return nil
	}
	return publish(ctx, q, events.TopicPointsBalancesChanged, balances[0].ConsumerID.String(),
		events.PointsBalancesChanged{Balances: balances, ChangedAt: s.now()})
}
