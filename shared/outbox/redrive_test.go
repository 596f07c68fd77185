package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// effectSubs are two subscribers whose effect is a row per event in effects, counting
// the runs: an idempotent handler as the domains write them, made to tell a redo.
func effectSubs(db *pgxpool.Pool) []outbox.Subscription {
	effect := func(subscriber string) func(context.Context, events.Envelope) error {
		return func(ctx context.Context, e events.Envelope) error {
			_, err := db.Exec(ctx, `INSERT INTO effects (event_id, subscriber, runs) VALUES ($1, $2, 1)
				ON CONFLICT (event_id, subscriber) DO UPDATE SET runs = effects.runs + 1`, e.ID, subscriber)
			return err
		}
	}
	return []outbox.Subscription{
		{Topic: topic, Subscriber: "a", Handle: effect("a")},
		{Topic: topic, Subscriber: "b", Queue: "other", Handle: effect("b")},
	}
}

func startWorker(t *testing.T, r redistest.DB, db *pgxpool.Pool, subs []outbox.Subscription) *asynq.Server {
	t.Helper()
	// A long shutdown time-out: a handler cut off between its effect and its record would
	// rightly run again after the loss, which the test counts as a redo.
	srv := asynq.NewServer(r.Asynq(), asynq.Config{Concurrency: 8, TaskCheckInterval: 10 * time.Millisecond,
		Queues: map[string]int{"default": 1, "other": 1}, LogLevel: asynq.FatalLevel, ShutdownTimeout: time.Minute})
	mux := asynq.NewServeMux()
	outbox.Register(mux, db, subs)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	return srv
}

func count(t *testing.T, db *pgxpool.Pool, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// Redis loses its data (FLUSHDB of the test's database: what SHUTDOWN NOSAVE or a
// failover to an empty replica does) with thousands of tasks queued and some already
// handled. With nobody at work, the re-driver puts back exactly what was lost: in the
// end every event's effect is there once per subscriber, and no handler ran twice.
func TestRedisLosingItsQueueLosesNoEffect(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	r := redistest.New(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `CREATE TABLE effects (event_id uuid, subscriber text, runs int NOT NULL, PRIMARY KEY (event_id, subscriber))`); err != nil {
		t.Fatal(err)
	}
	const n = 2000
	publish(t, db, n)
	subs := effectSubs(db)
	q := newClient(t, r)
	reg := prometheus.NewRegistry()
	metrics := outbox.NewMetrics(reg, db)
	relay := outbox.NewRelay(db, q, subs, outbox.RelayConfig{BatchSize: 1000}, nil, metrics)
	for {
		got, err := relay.RelayOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got == 0 {
			break
		}
	}
	if u := gauge(t, reg, "tandem_outbox_undelivered"); u != 2*n {
		t.Fatalf("undelivered after the relay = %v, want %d (sent is not done)", u, 2*n)
	}

	// While asynq holds the tasks the re-driver enqueues nothing, even past the lease.
	rdb := r.Client(t)
	eager := outbox.NewRedriver(db, q, rdb, subs, outbox.RedriveConfig{After: time.Nanosecond}, nil, metrics)
	if res, err := eager.RedriveOnce(ctx); err != nil || res.Checked != 2*n || res.Redriven != 0 {
		t.Fatalf("re-drive with every task queued: %+v, %v; want %d checked, none re-driven", res, err, 2*n)
	}
	if a, b := queued(t, r, "default"), queued(t, r, "other"); a != n || b != n {
		t.Fatalf("queues hold %d and %d tasks, want %d each", a, b, n)
	}

	// Part of the backlog is handled, then the worker stops and Redis loses the rest.
	srv := startWorker(t, r, db, subs)
	deadline := time.Now().Add(2 * time.Minute)
	for count(t, db, "SELECT count(*) FROM effects") < n/2 {
		if time.Now().After(deadline) {
			t.Fatal("the worker handled too little")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Shutdown()
	before := count(t, db, "SELECT count(*) FROM effects")
	if err := rdb.FlushDB(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if before == 2*n {
		t.Fatal("the worker handled everything before the loss; nothing was tested")
	}

	// Nobody at work: a worker and its re-driver run, as `tandem worker` does.
	start := time.Now()
	srv = startWorker(t, r, db, subs)
	defer srv.Shutdown()
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	redriver := outbox.NewRedriver(db, q, rdb, subs, outbox.RedriveConfig{After: 200 * time.Millisecond, Every: 50 * time.Millisecond}, nil, metrics)
	go redriver.Run(rctx)                      //nolint:errcheck
	deadline = time.Now().Add(2 * time.Minute) // a shared 2-core machine can be very slow
	for count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NULL") > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries still not done two minutes after the loss", count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NULL"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d of %d effects done before Redis lost its data; the other %d back in %v", before, 2*n, 2*n-before, time.Since(start).Round(time.Millisecond))
	if got := count(t, db, "SELECT count(*) FROM effects"); got != 2*n {
		t.Fatalf("%d effects, want %d (one per event and subscriber)", got, 2*n)
	}
	if twice := count(t, db, "SELECT count(*) FROM effects WHERE runs > 1"); twice != 0 {
		t.Fatalf("%d effects ran more than once", twice)
	}
	if c := counter(t, reg, "tandem_outbox_redriven_total"); int(c) != 2*n-before {
		t.Fatalf("re-driven %v, want the %d lost", c, 2*n-before)
	}
	if u := gauge(t, reg, "tandem_outbox_undelivered"); u != 0 {
		t.Fatalf("undelivered = %v after recovery", u)
	}
}

// A HandleTx handler's effect and its delivery's close commit together: a rolled-back
// effect leaves the event not done; a committed one is done with it, the delivery
// row written once; a later delivery never reaches the handler, and deliveries that
// cross run the effect once even when the handler does not check.
func TestHandleTxClosesTheDeliveryWithTheEffect(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := db.Exec(ctx, `CREATE TABLE effects (event_id uuid, subscriber text, runs int NOT NULL, PRIMARY KEY (event_id, subscriber))`); err != nil {
		t.Fatal(err)
	}
	// Every attempt to write a delivery row that commits is counted (a BEFORE INSERT
	// trigger fires for an upsert that finds the row done too).
	if _, err := db.Exec(ctx, `CREATE TABLE delivery_writes (n int);
CREATE FUNCTION count_delivery_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO delivery_writes VALUES (1); RETURN NEW; END $$;
CREATE TRIGGER count_writes BEFORE INSERT ON platform.outbox_deliveries
FOR EACH ROW EXECUTE FUNCTION count_delivery_write()`); err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	fail.Store(true)
	sub := outbox.Subscription{Topic: topic, Subscriber: "tx", HandleTx: func(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
		// Not idempotent on purpose: a second run would count 2.
		if _, err := tx.Exec(ctx, `INSERT INTO effects VALUES ($1, 'tx', 1) ON CONFLICT (event_id, subscriber) DO UPDATE SET runs = effects.runs + 1`, e.ID); err != nil {
			return err
		}
		if fail.Load() {
			return errors.New("the effect fails")
		}
		return nil
	}}
	mux := asynq.NewServeMux()
	outbox.Register(mux, db, []outbox.Subscription{sub})
	taskOf := func(id uuid.UUID) *asynq.Task {
		body, _ := json.Marshal(events.Envelope{ID: id, Topic: topic, Payload: json.RawMessage(`{}`)})
		return asynq.NewTask(sub.TaskType(), body)
	}
	id := uuid.Must(uuid.NewV7())
	task := taskOf(id)
	done := func(id uuid.UUID) int {
		return count(t, db, fmt.Sprintf("SELECT count(*) FROM platform.outbox_deliveries WHERE event_id = '%s' AND done_at IS NOT NULL", id))
	}
	if err := mux.ProcessTask(ctx, task); err == nil || done(id) != 0 {
		t.Fatalf("failed effect: err %v, done %d; want an error and not done", err, done(id))
	}
	fail.Store(false)
	if err := mux.ProcessTask(ctx, task); err != nil || done(id) != 1 {
		t.Fatalf("committed effect: err %v, done %d", err, done(id))
	}
	if err := mux.ProcessTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM delivery_writes"); n != 1 {
		t.Fatalf("the delivery was written %d times, want once (with the effect)", n)
	}
	if runs := count(t, db, fmt.Sprintf("SELECT runs FROM effects WHERE event_id = '%s'", id)); runs != 1 {
		t.Fatalf("the handler's effect committed %d times, want 1 (closed deliveries are skipped)", runs)
	}

	crossing := uuid.Must(uuid.NewV7())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := mux.ProcessTask(ctx, taskOf(crossing)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if runs := count(t, db, fmt.Sprintf("SELECT runs FROM effects WHERE event_id = '%s'", crossing)); runs != 1 || done(crossing) != 1 {
		t.Fatalf("8 crossing deliveries: effect committed %d times, done %d; want 1 and 1", runs, done(crossing))
	}
}
