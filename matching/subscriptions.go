package matching

import (
	"context"
	"fmt"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// Subscriptions are matching's event handlers: a payment refreshes the payer's
// recommendations (they have tried one more merchant, maybe in a new category).
// Recompute is a replace, so redelivery and any order of arrival are harmless.
func (s *Service) Subscriptions() []outbox.Subscription {
	return []outbox.Subscription{{
		Topic:      events.TopicPaymentSucceeded,
		Subscriber: "matching.recommendations",
		Handle: func(ctx context.Context, e events.Envelope) error {
			var p events.PaymentSucceeded
			if err := e.Decode(&p); err != nil {
				return fmt.Errorf("matching: decode %s: %w", e.Topic, err)
			}
			_, err := s.Recompute(ctx, p.ConsumerID)
			return err
		},
	}}
}
