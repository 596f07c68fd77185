package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// Subscription is one subscriber's interest in one topic. A failing subscriber (a
// merchant's webhook down) retries alone and never holds back or repeats another
// (points already credited).
//
// Exactly one of Handle, HandleTx and HandleBatchTx is set. Handle subscriptions are
// delivered as asynq tasks, of many events each (of one event when re-driven), and
// Register's wrapper closes each event's delivery (records the event done for the
// subscriber; DeliverBatch). HandleTx and HandleBatchTx subscriptions,
// whose effect is all in PostgreSQL, never touch asynq: the Dispatcher claims their
// deliveries from platform.outbox_deliveries a batch at a time and runs the batch in one
// transaction that closes every delivery in it. A subscriber name is delivered one way
// only: all its subscriptions have Handle, or none has.
type Subscription struct {
	Topic      events.Topic
	Subscriber string // stable name, e.g. "consumer.points"; part of the task id
	Queue      string // asynq queue of a Handle subscription; "default" when empty
	// HandleTx makes its effect in tx, the delivery's transaction, which the caller
	// begins, closes the delivery in and commits: the effect and the close commit
	// together (a crash cannot leave one without the other), a delivery already closed
	// never reaches the handler, and two crossing deliveries of one event run one after
	// the other. The dispatcher runs a batch of events through it in one transaction,
	// one after the other. Returning an error rolls back the whole batch, which is then
	// run again one event per transaction, so only the failing event is put off.
	HandleTx func(ctx context.Context, tx pgx.Tx, e events.Envelope) error
	// HandleBatchTx is HandleTx for a whole batch of the topic's events at once (oldest
	// first), for a subscriber whose work is cheaper per batch than per event (matching
	// recomputes each consumer of the batch once).
	HandleBatchTx func(ctx context.Context, tx pgx.Tx, es []events.Envelope) error
	// Handle makes an effect outside PostgreSQL (an HTTP call) or in transactions of
	// its own; the wrapper closes the delivery after it returns nil. A crash between the
	// two has it run again, so it must be idempotent.
	Handle func(ctx context.Context, e events.Envelope) error
}

// Batched reports whether the subscription is delivered by the Dispatcher from the
// delivery table rather than by asynq.
func (s Subscription) Batched() bool { return s.HandleTx != nil || s.HandleBatchTx != nil }

// handleTx runs a batched subscription on es, the topic's events of one batch, in tx.
func (s Subscription) handleTx(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
	if s.HandleBatchTx != nil {
		return s.HandleBatchTx(ctx, tx, es)
	}
	for _, e := range es {
		if err := s.HandleTx(logging.WithRequestID(ctx, e.RequestID), tx, e); err != nil {
			return err
		}
	}
	return nil
}

// check panics on a subscription list that cannot be delivered: a subscription with
// not exactly one handler, or a subscriber name delivered both ways.
func check(subs []Subscription) {
	batched := map[string]bool{}
	for _, s := range subs {
		n := 0
		for _, set := range []bool{s.Handle != nil, s.HandleTx != nil, s.HandleBatchTx != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			panic(fmt.Sprintf("outbox: subscription %s needs exactly one of Handle, HandleTx and HandleBatchTx", s.TaskType()))
		}
		if b, seen := batched[s.Subscriber]; seen && b != s.Batched() {
			panic(fmt.Sprintf("outbox: subscriber %s has both Handle and HandleTx subscriptions", s.Subscriber))
		}
		batched[s.Subscriber] = s.Batched()
	}
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
// putting its request id into the handler's context, and closes every delivery: in the
// handler's transaction for HandleTx, right after the handler returns nil for Handle
// (a handler skipped when its event is already done: a re-drive that crossed a late
// delivery). Both closes commit without waiting for the disk: a close a crash loses is
// found undone by the re-driver, which delivers the event again, and the handler,
// idempotent or rolled back with it, makes its effect once. Batched subscriptions get
// no task from the relay; they are installed too, for a task enqueued before they were.
func Register(mux *asynq.ServeMux, db *pgxpool.Pool, subs []Subscription) {
	check(subs)
	for _, s := range subs {
		sub := s
		mux.HandleFunc(s.TaskType(), func(ctx context.Context, t *asynq.Task) error {
			if !sub.Batched() && bytes.HasPrefix(t.Payload(), []byte("[")) { // the relay's task of many events
				var es []events.Envelope
				if err := json.Unmarshal(t.Payload(), &es); err != nil {
					return fmt.Errorf("%w: decode %s: %v", asynq.SkipRetry, t.Type(), err)
				}
				return DeliverBatch(ctx, db, sub, batchTaskOf(ctx), es)
			}
			var e events.Envelope
			if err := json.Unmarshal(t.Payload(), &e); err != nil {
				// A payload that cannot be decoded will not decode on retry either.
				return fmt.Errorf("%w: decode %s: %v", asynq.SkipRetry, t.Type(), err)
			}
			return Deliver(ctx, db, sub, e)
		})
	}
}

// Deliver hands e to sub and closes the delivery, as Register's tasks do; tests and
// tools that deliver an event by hand use it too.
func Deliver(ctx context.Context, db *pgxpool.Pool, sub Subscription, e events.Envelope) error {
	ctx = logging.WithRequestID(ctx, e.RequestID)
	key := platformdb.CloseDeliveryParams{EventID: e.ID, Subscriber: sub.Subscriber}
	if sub.Batched() {
		return handleInTx(ctx, db, sub, key, e)
	}
	q := platformdb.New(db)
	done, err := q.DeliveryDone(ctx, platformdb.DeliveryDoneParams(key))
	if err != nil {
		return fmt.Errorf("outbox: delivery of %s to %s: %w", e.ID, sub.Subscriber, err)
	}
	if done {
		return nil
	}
	if err := sub.Handle(ctx, e); err != nil {
		return err
	}
	if err := q.MarkDeliveryDone(ctx, platformdb.MarkDeliveryDoneParams(key)); err != nil {
		return fmt.Errorf("outbox: record delivery of %s to %s: %w", e.ID, sub.Subscriber, err)
	}
	return nil
}

// errClosed ends a delivery's transaction whose delivery was closed before: nothing to do.
var errClosed = errors.New("outbox: delivery closed before")

// handleInTx runs a batched subscription on one event: the close, then the effect, one
// transaction.
func handleInTx(ctx context.Context, db *pgxpool.Pool, sub Subscription, key platformdb.CloseDeliveryParams, e events.Envelope) error {
	err := pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := platformdb.New(tx).CloseDelivery(ctx, key); errors.Is(err, pgx.ErrNoRows) {
			return errClosed
		} else if err != nil {
			return fmt.Errorf("outbox: close delivery of %s to %s: %w", e.ID, sub.Subscriber, err)
		}
		return sub.handleTx(ctx, tx, []events.Envelope{e})
	})
	if errors.Is(err, errClosed) {
		return nil
	}
	return err
}

// Run runs sub's handler on e and records nothing: a batched subscription in a
// transaction of its own on db. It is for tests that feed a domain events by hand,
// sometimes twice on purpose to show the handler is idempotent by itself; the worker
// delivers through Register and the Dispatcher.
func Run(ctx context.Context, db *pgxpool.Pool, sub Subscription, e events.Envelope) error {
	if !sub.Batched() {
		return sub.Handle(ctx, e)
	}
	return pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error { return sub.handleTx(ctx, tx, []events.Envelope{e}) })
}
