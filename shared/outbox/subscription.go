package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
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

// RedriveTaskID is the task id of a delivery's attempt-th enqueue: TaskID for the
// relay's (the first), then one id per re-drive, since asynq keeps a finished task's id
// for its retention and would refuse the same id again.
func RedriveTaskID(eventID string, subscriber string, attempt int) string {
	if attempt <= 1 {
		return TaskID(eventID, subscriber)
	}
	return TaskID(eventID, subscriber) + "#" + strconv.Itoa(attempt)
}

// Register installs every subscription's handler on mux, decoding the envelope and
// putting its request id into the handler's context. Every delivery is closed when its
// handler returns nil: the event is recorded done for the subscriber
// (platform.outbox_deliveries) in the handler's own transaction when the handler calls
// MarkDone there, else by the wrapper right after the handler (a commit of its own).
// The handler is skipped for an event already done (a re-drive that crossed a late
// delivery). A crash between the handler's commit and the wrapper's record only means
// the handler runs again, which it must bear anyway (it is idempotent).
func Register(mux *asynq.ServeMux, db platformdb.DBTX, subs []Subscription) {
	q := platformdb.New(db)
	for _, s := range subs {
		handle, subscriber := s.Handle, s.Subscriber
		mux.HandleFunc(s.TaskType(), func(ctx context.Context, t *asynq.Task) error {
			var e events.Envelope
			if err := json.Unmarshal(t.Payload(), &e); err != nil {
				// A payload that cannot be decoded will not decode on retry either.
				return fmt.Errorf("%w: decode %s: %v", asynq.SkipRetry, t.Type(), err)
			}
			done, err := q.DeliveryDone(ctx, platformdb.DeliveryDoneParams{EventID: e.ID, Subscriber: subscriber})
			if err != nil {
				return fmt.Errorf("outbox: delivery of %s to %s: %w", e.ID, subscriber, err)
			}
			if done {
				return nil
			}
			d := &delivery{eventID: e.ID, subscriber: subscriber}
			hctx := context.WithValue(logging.WithRequestID(ctx, e.RequestID), deliveryKey{}, d)
			if err := handle(hctx, e); err != nil {
				return err
			}
			if d.marked.Load() {
				return nil // recorded with the handler's effect (MarkDone)
			}
			if err := q.MarkDeliveryDone(ctx, platformdb.MarkDeliveryDoneParams{EventID: e.ID, Subscriber: subscriber}); err != nil {
				return fmt.Errorf("outbox: record delivery of %s to %s: %w", e.ID, subscriber, err)
			}
			return nil
		})
	}
}

type deliveryKey struct{}

// delivery is the event and subscriber a handler run by Register is handling.
type delivery struct {
	eventID    uuid.UUID
	subscriber string
	marked     atomic.Bool // MarkDone's transaction committed: the wrapper has nothing to record
}

// MarkDone records inside tx that the event being handled is done for its subscriber.
// A handler whose effect is one transaction calls it there: the effect and the record
// then commit together (one commit per delivery instead of two, and a crash between
// them cannot make the handler run again). Register then records nothing more, once tx
// has committed (pg.AfterCommit; in a transaction not begun by pg.InTx, Register
// records it again, a no-op). Outside a handler run by Register it does nothing.
func MarkDone(ctx context.Context, tx pgx.Tx) error {
	d, ok := ctx.Value(deliveryKey{}).(*delivery)
	if !ok {
		return nil
	}
	if err := platformdb.New(tx).MarkDeliveryDone(ctx, platformdb.MarkDeliveryDoneParams{EventID: d.eventID, Subscriber: d.subscriber}); err != nil {
		return fmt.Errorf("outbox: record delivery of %s to %s: %w", d.eventID, d.subscriber, err)
	}
	pg.AfterCommit(tx, "outbox.delivery."+d.eventID.String()+"/"+d.subscriber, func(context.Context, pg.Execer) { d.marked.Store(true) })
	return nil
}
