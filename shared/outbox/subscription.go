package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
)

// Subscription is one subscriber's interest in one topic. Each subscription gets its
// own asynq task per event, so a failing subscriber (a merchant's webhook down) retries
// alone and never holds back or repeats another (points already credited).
type Subscription struct {
	Topic      events.Topic
	Subscriber string // stable name, e.g. "consumer.points"; part of the task id
	Queue      string // asynq queue; "default" when empty
	Handle     func(ctx context.Context, e events.Envelope) error
}

// TaskType is the asynq task type of the subscription: "<subscriber>:<topic>".
func (s Subscription) TaskType() string { return s.Subscriber + ":" + string(s.Topic) }

func (s Subscription) queue() string {
	if s.Queue == "" {
		return "default"
	}
	return s.Queue
}

// TaskID is the asynq task id of one event for one subscriber; asynq refuses a second
// task with the same id, which is what makes the relay's re-enqueue after a crash safe.
func TaskID(eventID string, subscriber string) string {
	return "outbox:" + eventID + "/" + subscriber
}

// Register installs every subscription's handler on mux, decoding the envelope and
// putting its request id into the handler's context.
func Register(mux *asynq.ServeMux, subs []Subscription) {
	for _, s := range subs {
		handle := s.Handle
		mux.HandleFunc(s.TaskType(), func(ctx context.Context, t *asynq.Task) error {
			var e events.Envelope
			if err := json.Unmarshal(t.Payload(), &e); err != nil {
				// A payload that cannot be decoded will not decode on retry either.
				return fmt.Errorf("%w: decode %s: %v", asynq.SkipRetry, t.Type(), err)
			}
			return handle(logging.WithRequestID(ctx, e.RequestID), e)
		})
	}
}
