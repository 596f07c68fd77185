package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// relayedEvents relays every published event for sub (in one task or a few) and
// returns the events, oldest first, with the task that carries the first.
func relayedEvents(t *testing.T, db *pgxpool.Pool, sub outbox.Subscription) ([]events.Envelope, uuid.UUID) {
	t.Helper()
	r := redistest.New(t)
	relayAll(t, outbox.NewRelay(db, newClient(t, r), []outbox.Subscription{sub}, outbox.RelayConfig{TaskEvents: 1000}, nil, nil))
	rows, err := db.Query(context.Background(), `SELECT o.id, o.topic, o.aggregate_key, o.payload, d.task FROM platform.outbox o
		JOIN platform.outbox_deliveries d ON d.event_id = o.id ORDER BY o.id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var es []events.Envelope
	var task uuid.UUID
	for rows.Next() {
		var e events.Envelope
		var tk uuid.UUID
		if err := rows.Scan(&e.ID, &e.Topic, &e.Key, &e.Payload, &tk); err != nil {
			t.Fatal(err)
		}
		if task == uuid.Nil {
			task = tk
		}
		es = append(es, e)
	}
	if err := rows.Err(); err != nil || task == uuid.Nil {
		t.Fatalf("relayed events: %v, task %s", err, task)
	}
	return es, task
}

// runsEffect is a Handle subscriber that is not idempotent on purpose (a second run
// counts 2) and fails on the events in poison.
func runsEffect(db *pgxpool.Pool, poison *sync.Map, slow time.Duration) outbox.Subscription {
	return outbox.Subscription{Topic: topic, Subscriber: "hook", Handle: func(ctx context.Context, e events.Envelope) error {
		if _, bad := poison.Load(e.ID); bad {
			return errors.New("poison")
		}
		time.Sleep(slow)
		_, err := db.Exec(ctx, `INSERT INTO effects (event_id, subscriber, runs) VALUES ($1, 'hook', 1)
			ON CONFLICT (event_id, subscriber) DO UPDATE SET runs = effects.runs + 1`, e.ID)
		return err
	}}
}

// A task of many events runs each once and closes its delivery: an event whose handler
// fails holds back none of the others, and the task's retry runs only that one; a task
// that carries events already done runs none of them.
func TestBatchTaskClosesEachEventOnceAndAPoisonEventAlone(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	effectsTable(t, db)
	ctx := context.Background()
	const n = 40
	publish(t, db, n)
	var poison sync.Map
	sub := runsEffect(db, &poison, 0)
	es, task := relayedEvents(t, db, sub)
	bad := es[7].ID
	poison.Store(bad, true)

	if err := outbox.DeliverBatch(ctx, db, sub, task, es); err == nil {
		t.Fatal("a batch with a poison event: no error, want one for asynq to retry")
	}
	if got := count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NOT NULL"); got != n-1 {
		t.Fatalf("%d deliveries done, want the %d but the poison event", got, n-1)
	}
	if held := count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE taken_until IS NOT NULL"); held != 0 {
		t.Fatalf("%d deliveries still held after the task ended", held)
	}
	poison.Delete(bad)
	if err := outbox.DeliverBatch(ctx, db, sub, task, es); err != nil {
		t.Fatalf("retry: %v", err)
	}
	// Another task carrying the same events (a relay died before its commit) runs none.
	if err := outbox.DeliverBatch(ctx, db, sub, uuid.New(), es); err != nil {
		t.Fatalf("a second task of done events: %v", err)
	}
	if got := count(t, db, "SELECT count(*) FROM effects WHERE runs = 1"); got != n {
		t.Fatalf("%d effects ran once, want %d (%d more)", got, n, count(t, db, "SELECT count(*) FROM effects WHERE runs > 1"))
	}
	if got := count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NULL"); got != 0 {
		t.Fatalf("%d deliveries not done", got)
	}
}

// Tasks carrying the same events that run at once run each event once: each takes
// what no other holds, and a task whose events another holds is retried until they
// are done. A task that died holding events holds them from the others until its
// hold ends, but not from itself, retried.
func TestBatchTasksCarryingTheSameEventsRunEachOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	effectsTable(t, db)
	ctx := context.Background()
	const n = 60
	publish(t, db, n)
	sub := runsEffect(db, &sync.Map{}, time.Millisecond)
	es, _ := relayedEvents(t, db, sub)

	var held atomic.Int64
	var wg sync.WaitGroup
	for i := range 6 {
		task := uuid.New()
		mine := es[i*5:] // overlapping slices, as claims grouped otherwise make them
		wg.Go(func() {
			for {
				err := outbox.DeliverBatch(ctx, db, sub, task, mine)
				if !errors.Is(err, outbox.ErrHeldByAnotherTask) {
					if err != nil {
						t.Error(err)
					}
					return
				}
				held.Add(1)
				time.Sleep(5 * time.Millisecond) // asynq's retry, shortened
			}
		})
	}
	wg.Wait()
	t.Logf("%d times a task found events held by another", held.Load())
	if got := count(t, db, "SELECT count(*) FROM effects WHERE runs = 1"); got != n {
		t.Fatalf("%d effects ran once, want %d (%d more)", got, n, count(t, db, "SELECT count(*) FROM effects WHERE runs > 1"))
	}

	// A task that died holding fresh events: another task waits, the same one runs them.
	publish(t, db, 5)
	dead := uuid.New()
	more, _ := relayedEvents(t, db, sub)
	more = more[n:]
	_, err := db.Exec(ctx, fmt.Sprintf(`UPDATE platform.outbox_deliveries SET task = '%s', taken_until = now() + interval '30 minutes'
		WHERE done_at IS NULL`, dead))
	if err != nil {
		t.Fatal(err)
	}
	if err := outbox.DeliverBatch(ctx, db, sub, uuid.New(), more); !errors.Is(err, outbox.ErrHeldByAnotherTask) {
		t.Fatalf("another task on events a dead task holds: %v, want ErrHeldByAnotherTask", err)
	}
	if err := outbox.DeliverBatch(ctx, db, sub, dead, more); err != nil {
		t.Fatalf("the dead task, retried: %v", err)
	}
	if got := count(t, db, "SELECT count(*) FROM effects WHERE runs = 1"); got != n+5 {
		t.Fatalf("%d effects ran once, want %d", got, n+5)
	}
}
