package consumer

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// Subscriber names of this domain (part of the asynq task ids).
const (
	SubscriberPointsEarn    = "consumer.points_earn"
	SubscriberPointsReverse = "consumer.points_reverse"
	SubscriberCouponsRedeem = "consumer.coupons_redeem"
	SubscriberCouponsReturn = "consumer.coupons_return"
	SubscriberCouponsFree   = "consumer.coupons_release"
	SubscriberOrdersKeep    = "consumer.orders_keep"
	SubscriberRefundsKeep   = "consumer.refunds_keep"
	SubscriberSignupPoints  = "consumer.signup_points"
)

// Subscriptions are the domain's event handlers: points earned on a payment,
// reversed on a refund, coupons redeemed, returned or released, the member's orders
// kept for their 360, sign-up points. Each is idempotent. Those of a payment are all
// in PostgreSQL (HandleTx): the worker's dispatcher runs them in batches.
func (s *Service) Subscriptions() []outbox.Subscription {
	return []outbox.Subscription{
		{Topic: events.TopicPaymentSucceeded, Subscriber: SubscriberPointsEarn, HandleBatchTx: s.onPaymentsEarn},
		{Topic: events.TopicRefundSucceeded, Subscriber: SubscriberPointsReverse, Handle: s.OnRefundSucceeded},
		{Topic: events.TopicPaymentSucceeded, Subscriber: SubscriberCouponsRedeem, HandleBatchTx: s.onPaidRedeemCoupons},
		{Topic: events.TopicRefundSucceeded, Subscriber: SubscriberCouponsReturn, Handle: s.onRefundReturnCoupons},
		{Topic: events.TopicOrderClosed, Subscriber: SubscriberCouponsFree, Handle: s.onClosedReleaseCoupons},
		{Topic: events.TopicPaymentSucceeded, Subscriber: SubscriberOrdersKeep, HandleBatchTx: s.onPaidKeepOrders},
		{Topic: events.TopicRefundSucceeded, Subscriber: SubscriberRefundsKeep, Handle: s.onRefundKeepOrder},
		{Topic: events.TopicMemberJoined, Subscriber: SubscriberSignupPoints, Handle: s.onJoinedEarnSignup},
	}
}

// onPaidRedeemCoupons marks the coupons the orders reserved at prepay as used, in the
// batch's delivery transaction: one statement for the batch.
func (s *Service) onPaidRedeemCoupons(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
	ps, err := decodePayments(es)
	if err != nil {
		return err
	}
	orders := make([]uuid.UUID, len(ps))
	for i, p := range ps {
		orders[i] = p.OrderID
	}
	_, err = s.redeemOrdersCoupons(ctx, consumerdb.New(tx), orders, func(i int) context.Context {
		return logging.WithRequestID(ctx, es[i].RequestID)
	})
	return wrap("redeem coupons", err)
}

// decodePayments decodes a batch of payment events.
func decodePayments(es []events.Envelope) ([]events.PaymentSucceeded, error) {
	ps := make([]events.PaymentSucceeded, len(es))
	for i, e := range es {
		if err := e.Decode(&ps[i]); err != nil {
			return nil, fmt.Errorf("consumer: decode %s: %w", e.Topic, err)
		}
	}
	return ps, nil
}

// onClosedReleaseCoupons gives back the coupons an unpaid order reserved when it is
// closed by its consumer or expires.
func (s *Service) onClosedReleaseCoupons(ctx context.Context, e events.Envelope) error {
	var c events.OrderClosed
	if err := e.Decode(&c); err != nil {
		return fmt.Errorf("consumer: decode %s: %w", e.Topic, err)
	}
	_, err := s.ReleaseOrderCoupons(ctx, c.OrderID)
	return err
}

// onRefundReturnCoupons gives a fully refunded order's coupons back (README: coupons).
func (s *Service) onRefundReturnCoupons(ctx context.Context, e events.Envelope) error {
	var r events.RefundSucceeded
	if err := e.Decode(&r); err != nil {
		return fmt.Errorf("consumer: decode %s: %w", e.Topic, err)
	}
	if r.RefundedTotalFen < r.OrderAmountFen {
		return nil
	}
	_, err := s.ReturnOrderCoupons(ctx, r.OrderID)
	return err
}

// OnRefundSucceeded reverses the points the refund takes back.
func (s *Service) OnRefundSucceeded(ctx context.Context, e events.Envelope) error {
	var r events.RefundSucceeded
	if err := e.Decode(&r); err != nil {
		return fmt.Errorf("consumer: decode %s: %w", e.Topic, err)
	}
	_, err := s.ReverseForRefund(ctx, refundOf(r))
	return err
}
