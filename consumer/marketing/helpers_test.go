package marketing_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
)

type pgxpoolT = pgxpool.Pool

func envelope(t *testing.T, topic events.Topic, payload any) events.Envelope {
	t.Helper()
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	return events.Envelope{ID: uuid.Must(uuid.NewV7()), Topic: topic, OccurredAt: testNow, Payload: raw}
}

// deliverTo hands an event to the service's subscription for its topic.
func deliverTo(t *testing.T, svc *marketing.Service, e events.Envelope) {
	t.Helper()
	for _, s := range svc.Subscriptions() {
		if s.Topic == e.Topic {
			if err := outbox.Run(context.Background(), marketing.DBOf(svc), s, e); err != nil {
				t.Fatalf("%s: %v", e.Topic, err)
			}
			return
		}
	}
	t.Fatalf("no subscription to %s", e.Topic)
}
