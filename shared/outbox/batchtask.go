package outbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// BatchHold is how long a batch task holds its events' deliveries while its handler
// runs (TakeDeliveries), asynq's own limit on a task's run (30 min when none is set): a
// task never runs longer, so while it runs no other task runs its events. A task whose
// worker died holds them until then, except from itself: asynq retries it under the
// same id, and it takes them back at once.
const BatchHold = 30 * time.Minute

// ErrHeldByAnotherTask is a batch task's answer (for asynq to retry it later) when some
// of its events are neither done nor its own to run: another task carrying them (see
// Relay.batchTasks) runs them now, or died running them and will be retried.
var ErrHeldByAnotherTask = errors.New("outbox: events held by another task")

// DeliverBatch hands each of es, the events of one batch task, to sub (a Handle
// subscription) and closes its delivery, as Register's tasks do. task is the uuid the
// task's id is made of. It first takes the deliveries it may run (not done, not held by
// another task), runs the handler on each of those in turn, closing each that succeeds,
// then lets go of those that failed. A failing event puts off neither the
// others nor itself for long: the error makes asynq retry the task, which runs only
// what is not done.
func DeliverBatch(ctx context.Context, db *pgxpool.Pool, sub Subscription, task uuid.UUID, es []events.Envelope) error {
	q := platformdb.New(db)
	ids := make([]uuid.UUID, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	taken, err := q.TakeDeliveries(ctx, platformdb.TakeDeliveriesParams{
		Subscriber: sub.Subscriber, Task: task, HoldMs: BatchHold.Milliseconds(), EventIds: ids})
	if err != nil {
		return fmt.Errorf("outbox: take deliveries of task %s for %s: %w", task, sub.Subscriber, err)
	}
	mine := make(map[uuid.UUID]bool, len(taken))
	for _, id := range taken {
		mine[id] = true
	}
	// Each event is closed as soon as its handler returns (not with ctx: what the handler
	// did must be recorded even when the task is ending), so a worker that dies part-way
	// through a task has only the event in hand run again, as with a task per event.
	closeDeliveries := func(done, failed []uuid.UUID) error {
		err := q.CloseTakenDeliveries(context.WithoutCancel(ctx), platformdb.CloseTakenDeliveriesParams{
			Subscriber: sub.Subscriber, Task: task, Done: done, Failed: failed})
		if err != nil {
			return fmt.Errorf("outbox: record deliveries of task %s for %s: %w", task, sub.Subscriber, err)
		}
		return nil
	}
	var failed []uuid.UUID
	var errs []error
	for _, e := range es {
		if !mine[e.ID] {
			continue
		}
		delete(mine, e.ID) // an event twice in a payload runs once
		if err := sub.Handle(logging.WithRequestID(ctx, e.RequestID), e); err != nil {
			failed = append(failed, e.ID)
			errs = append(errs, fmt.Errorf("event %s: %w", e.ID, err))
			continue
		}
		if err := closeDeliveries([]uuid.UUID{e.ID}, nil); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	if len(failed) > 0 {
		if err := closeDeliveries(nil, failed); err != nil {
			return errors.Join(append(errs, err)...)
		}
	}
	if len(taken) < len(es) && len(errs) == 0 {
		left, err := q.CountUndone(ctx, platformdb.CountUndoneParams{Subscriber: sub.Subscriber, EventIds: ids})
		if err != nil {
			return fmt.Errorf("outbox: deliveries of task %s for %s: %w", task, sub.Subscriber, err)
		}
		if left > 0 {
			return fmt.Errorf("%w: %d of task %s for %s", ErrHeldByAnotherTask, left, task, sub.Subscriber)
		}
	}
	return errors.Join(errs...)
}

// batchTaskOf is the uuid a running batch task's id is made of (TaskID), or for a task
// whose id is not one of the relay's, a uuid made of that id.
func batchTaskOf(ctx context.Context) uuid.UUID {
	id, _ := asynq.GetTaskID(ctx)
	if rest, ok := strings.CutPrefix(id, "outbox:"); ok {
		if u, _, ok := strings.Cut(rest, "/"); ok {
			if parsed, err := uuid.Parse(u); err == nil {
				return parsed
			}
		}
	}
	return uuid.NewSHA1(batchTaskSpace, []byte(id))
}
