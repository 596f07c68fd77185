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
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

const topic events.Topic = "test.happened"

var subs = []outbox.Subscription{
	{Topic: topic, Subscriber: "a", Handle: func(context.Context, events.Envelope) error { return nil }},
	{Topic: topic, Subscriber: "b", Queue: "other", Handle: func(context.Context, events.Envelope) error { return nil }},
}

func publish(t *testing.T, db *pgxpool.Pool, n int) {
	t.Helper()
	ctx := context.Background()
	// Many per transaction to keep the set-up quick; the relay does not care.
	for start := 0; start < n; start += 1000 {
		err := pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
			for i := start; i < min(n, start+1000); i++ {
				if _, err := outbox.Publish(ctx, tx, topic, fmt.Sprintf("agg-%d", i%50), map[string]int{"i": i}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func unsent(t *testing.T, db *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// queued is how many events the tasks in queue carry: a task of the relay carries many
// (a JSON array of envelopes), one of the re-driver one.
func queued(t *testing.T, r redistest.DB, queue string) int {
	t.Helper()
	n := 0
	for _, c := range queuedEvents(t, r, queue) {
		n += c
	}
	return n
}

// queuedEvents counts, per event id, the tasks in queue that carry it.
func queuedEvents(t *testing.T, r redistest.DB, queue string) map[uuid.UUID]int {
	t.Helper()
	in := asynq.NewInspector(r.Asynq())
	defer in.Close()
	if _, err := in.GetQueueInfo(queue); err != nil {
		t.Fatalf("queue %s: %v", queue, err)
	}
	carried := map[uuid.UUID]int{}
	lists := []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		in.ListPendingTasks, in.ListActiveTasks, in.ListScheduledTasks, in.ListRetryTasks, in.ListArchivedTasks}
	for _, list := range lists {
		for page := 1; ; page++ {
			tasks, err := list(queue, asynq.Page(page), asynq.PageSize(1000))
			if err != nil {
				t.Fatalf("queue %s: %v", queue, err)
			}
			for _, task := range tasks {
				var es []events.Envelope
				body := task.Payload
				if len(body) > 0 && body[0] == '{' {
					body = append(append([]byte("["), body...), ']')
				}
				if err := json.Unmarshal(body, &es); err != nil {
					t.Fatalf("task %s: %v", task.ID, err)
				}
				for _, e := range es {
					carried[e.ID]++
				}
			}
			if len(tasks) < 1000 {
				break
			}
		}
	}
	return carried
}

// newClient is the client the worker's relay and re-driver enqueue with: pipelined.
func newClient(t *testing.T, r redistest.DB) *outbox.PipelinedClient {
	c, err := outbox.NewPipelinedClient(r.Asynq())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPublishIsPartOfTheTransaction(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	_ = pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := outbox.Publish(ctx, tx, topic, "k", 1); err != nil {
			t.Fatal(err)
		}
		return errors.New("roll back")
	})
	if n := unsent(t, db); n != 0 {
		t.Fatalf("rolled-back transaction left %d events", n)
	}
	publish(t, db, 1)
	if n := unsent(t, db); n != 1 {
		t.Fatalf("committed transaction left %d events, want 1", n)
	}
}

// A relay that dies after enqueueing and before its commit loses nothing: its claim
// is rolled back, another relay takes the rows at once, and asynq refuses the tasks it
// makes again (the same events, the same task); the few events the next claim groups
// otherwise (at the dead claim's end) are in two tasks, and each handler still runs
// once per event. It dies two ways: its context ends (a shutdown), or its process is
// gone and PostgreSQL ends the connection with its transaction.
func TestRelayKilledBetweenEnqueueAndCommit(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"context ends", "connection lost"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			db := pgtest.New(t)
			r := redistest.New(t)
			q := newClient(t, r)
			effectsTable(t, db)
			subs := effectSubs(db)
			const n, taskEvents = 300, 8
			publish(t, db, n)

			ctx, kill := context.WithCancel(context.Background())
			defer kill()
			dying := outbox.NewRelay(db, q, subs, outbox.RelayConfig{Name: "dying", BatchSize: 200, TaskEvents: taskEvents}, nil, nil)
			dying.SetAfterEnqueue(func() {
				if how == "context ends" {
					kill()
					return
				}
				// The one transaction open in this test's database is the relay's claim.
				var ended int
				err := db.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE datname = current_database() AND state = 'idle in transaction'`).Scan(&ended)
				if err != nil || ended != 1 {
					t.Errorf("ending the relay's connection: %d ended, %v", ended, err)
				}
			})
			if _, err := dying.RelayOnce(ctx); err == nil {
				t.Fatal("dying relay: no error, want its claim lost")
			}
			if got := unsent(t, db); got != n {
				t.Fatalf("after the crash %d unsent, want all %d (none marked)", got, n)
			}
			if got := deliveries(t, db); got != 0 {
				t.Fatalf("after the crash %d delivery rows, want none", got)
			}
			if got := queued(t, r, "default"); got != 200 {
				t.Fatalf("after the crash %d events queued, want the 200 of the batch", got)
			}

			reg := prometheus.NewRegistry()
			survivor := outbox.NewRelay(db, q, subs, outbox.RelayConfig{Name: "survivor", BatchSize: 1000, TaskEvents: taskEvents}, nil, outbox.NewMetrics(reg, db))
			if got, err := survivor.RelayOnce(context.Background()); err != nil || got != n {
				t.Fatalf("survivor: %d rows, %v; want all %d at once", got, err, n)
			}
			checkRelayed(t, db, r, n)
			// All but the dead claim's last task per subscriber (at most 4 x TaskEvents
			// events) are made again the same, and refused.
			if c := counter(t, reg, "tandem_outbox_taskid_conflicts_total"); c < 2*(200-4*taskEvents) || c > 2*200 {
				t.Fatalf("events in refused tasks = %v, want %d to 400", c, 2*(200-4*taskEvents))
			}
			twice := 0
			for _, queue := range []string{"default", "other"} {
				for _, c := range queuedEvents(t, r, queue) {
					twice += c - 1
				}
			}
			t.Logf("%d events are in two tasks", twice)

			srv := startWorker(t, r, db, subs)
			defer srv.Shutdown()
			waitAllDone(t, db)
			if got := count(t, db, "SELECT count(*) FROM effects WHERE runs = 1"); got != 2*n {
				t.Fatalf("%d effects ran once, want %d (%d more than once)", got, 2*n, count(t, db, "SELECT count(*) FROM effects WHERE runs > 1"))
			}
		})
	}
}

// A relay that hangs between its enqueue and its commit for longer than its lease
// loses its claim (PostgreSQL ends its idle transaction), so another relay takes the
// rows; the hung relay's late commit fails, and nothing is enqueued twice.
func TestRelayHungPastItsLeaseLosesItsClaim(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	r := redistest.New(t)
	q := newClient(t, r)
	const n = 100
	publish(t, db, n)

	hung := outbox.NewRelay(db, q, subs, outbox.RelayConfig{Name: "hung", Lease: 500 * time.Millisecond}, nil, nil)
	enqueued, resume := make(chan struct{}), make(chan struct{})
	hung.SetAfterEnqueue(func() {
		close(enqueued)
		<-resume
	})
	hungErr := make(chan error, 1)
	go func() {
		_, err := hung.RelayOnce(context.Background())
		hungErr <- err
	}()
	<-enqueued

	other := outbox.NewRelay(db, q, subs, outbox.RelayConfig{Name: "other"}, nil, nil)
	deadline := time.Now().Add(10 * time.Second)
	for unsent(t, db) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hung relay's rows were never taken over")
		}
		if _, err := other.RelayOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	close(resume)
	if err := <-hungErr; err == nil {
		t.Fatal("the hung relay's commit succeeded after its lease")
	}
	// The hung relay's tasks are in Redis already. The rows it lost are claimed again,
	// and when the next claims group them otherwise (as a busy machine's timing
	// decides) some events ride in two tasks with different ids: that is allowed, as a
	// task takes its events' deliveries before it runs them (TakeDeliveries), so each
	// runs once. What must hold is one delivery row per event and subscriber, and
	// every event carried.
	checkRelayed(t, db, r, n)
}

// An event whose enqueue fails is handed back in the claim's transaction: unsent, with
// no open delivery, claimable again after a backoff; the rest of its batch is sent.
func TestFailedEnqueueHandsTheEventBack(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	r := redistest.New(t)
	q := newClient(t, r)
	const n = 50
	publish(t, db, n)
	var calls atomic.Int64
	flaky := enqueuerFunc(func(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
		if calls.Add(1)%10 == 0 {
			return nil, errors.New("redis: connection refused")
		}
		return q.EnqueueContext(ctx, task, opts...)
	})
	// One event a task, so that some events of the batch fail and some do not.
	relay := outbox.NewRelay(db, flaky, subs, outbox.RelayConfig{Name: "flaky", Parallel: 1, TaskEvents: 1}, nil, nil)
	// The backoff is measured from the server's time before the round, not from now():
	// on a loaded machine the check may run after the first backoff (1 s) is over.
	var before time.Time
	if err := db.QueryRow(context.Background(), "SELECT clock_timestamp()").Scan(&before); err != nil {
		t.Fatal(err)
	}
	if got, err := relay.RelayOnce(context.Background()); got != n || err == nil {
		t.Fatalf("first round: %d rows, err %v; want %d and the enqueue error", got, err, n)
	}
	left := unsent(t, db)
	if left == 0 || left == n {
		t.Fatalf("%d unsent after a partly failed batch, want some", left)
	}
	var open, backedOff int
	err := db.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM platform.outbox_deliveries d JOIN platform.outbox o ON o.id = d.event_id WHERE o.sent_at IS NULL),
		(SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL AND lease_until >= $1::timestamptz + interval '1 second'
		 AND last_error LIKE '%connection refused%')`, before).Scan(&open, &backedOff)
	if err != nil {
		t.Fatal(err)
	}
	if open != 0 || backedOff != left {
		t.Fatalf("failed events: %d open deliveries (want 0), %d backed off with the error (want %d)", open, backedOff, left)
	}
	if got := deliveries(t, db); got != 2*(n-left) {
		t.Fatalf("%d delivery rows, want 2 per sent event (%d)", got, 2*(n-left))
	}
	waitLeasesOver(t, db)
	good := outbox.NewRelay(db, q, subs, outbox.RelayConfig{Name: "good", TaskEvents: 1}, nil, nil)
	if got, err := good.RelayOnce(context.Background()); err != nil || got != left {
		t.Fatalf("second round: %d rows, %v; want the %d handed back", got, err, left)
	}
	checkRelayedOnce(t, db, r, n)
}

type enqueuerFunc func(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)

func (f enqueuerFunc) EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	return f(ctx, task, opts...)
}

func deliveries(t *testing.T, db *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), "SELECT count(*) FROM platform.outbox_deliveries").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// checkRelayedOnce fails unless all n events are sent, each with one delivery row per
// subscriber, and carried by exactly one task of each subscriber.
func checkRelayedOnce(t *testing.T, db *pgxpool.Pool, r redistest.DB, n int) {
	t.Helper()
	checkRelayed(t, db, r, n)
	for _, queue := range []string{"default", "other"} {
		if got := queued(t, r, queue); got != n {
			t.Fatalf("queue %s carries %d events, want exactly %d", queue, got, n)
		}
	}
}

// checkRelayed fails unless all n events are sent, each with one delivery row per
// subscriber, and carried by a task of each subscriber.
func checkRelayed(t *testing.T, db *pgxpool.Pool, r redistest.DB, n int) {
	t.Helper()
	if got := unsent(t, db); got != 0 {
		t.Fatalf("%d still unsent", got)
	}
	if got := deliveries(t, db); got != 2*n {
		t.Fatalf("%d delivery rows, want %d (one per event and subscriber)", got, 2*n)
	}
	for _, queue := range []string{"default", "other"} {
		if got := len(queuedEvents(t, r, queue)); got != n {
			t.Fatalf("queue %s carries %d events, want all %d", queue, got, n)
		}
	}
}

// Two relays draining 10,000 events at once: every row is claimed by exactly one of
// them, every event ends up enqueued once per subscriber.
func TestTwoRelaysShareTenThousandEvents(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	r := redistest.New(t)
	q := newClient(t, r)
	const n = 10_000
	publish(t, db, n)

	var claimed atomic.Int64
	var wg sync.WaitGroup
	for i := range 2 {
		relay := outbox.NewRelay(db, q, subs, outbox.RelayConfig{Name: fmt.Sprint("r", i), BatchSize: 250}, nil, nil)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := relay.RelayOnce(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if got == 0 {
					return
				}
				claimed.Add(int64(got))
			}
		}()
	}
	wg.Wait()
	if claimed.Load() != n {
		t.Fatalf("rows claimed %d times in all, want %d (each exactly once)", claimed.Load(), n)
	}
	if got := unsent(t, db); got != 0 {
		t.Fatalf("%d unsent", got)
	}
	var relays int
	if err := db.QueryRow(context.Background(), "SELECT count(DISTINCT leased_by) FROM platform.outbox").Scan(&relays); err != nil {
		t.Fatal(err)
	}
	if relays != 2 {
		t.Errorf("rows were claimed by %d relays, want both to share the work", relays)
	}
	for _, queue := range []string{"default", "other"} {
		if got := queued(t, r, queue); got != n {
			t.Fatalf("queue %s carries %d events, want %d", queue, got, n)
		}
	}
}

// Run delivers to a real asynq server: the handler gets the envelope with the payload
// and the request id of the transaction that published it.
func TestRunDeliversToSubscribers(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	r := redistest.New(t)
	q := newClient(t, r)
	got := make(chan events.Envelope, 10)
	sub := outbox.Subscription{Topic: "test.delivered", Subscriber: "probe", Handle: func(ctx context.Context, e events.Envelope) error {
		if logging.RequestID(ctx) != e.RequestID {
			t.Errorf("handler ctx request id %q, envelope %q", logging.RequestID(ctx), e.RequestID)
		}
		got <- e
		return nil
	}}
	srv := asynq.NewServer(r.Asynq(), asynq.Config{Concurrency: 2, TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	outbox.Register(mux, db, []outbox.Subscription{sub})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	relay := outbox.NewRelay(db, q, []outbox.Subscription{sub}, outbox.RelayConfig{Poll: 5 * time.Second}, nil, nil)
	go relay.Run(ctx) //nolint:errcheck

	time.Sleep(100 * time.Millisecond) // let LISTEN start so the notification, not the poll, wakes it
	pubCtx := logging.WithRequestID(ctx, "req-123")
	start := time.Now()
	err := pg.InTx(pubCtx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
		_, err := outbox.Publish(pubCtx, tx, "test.delivered", "order-1", map[string]string{"order": "o1"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		var p map[string]string
		if err := e.Decode(&p); err != nil || p["order"] != "o1" || e.Key != "order-1" || e.RequestID != "req-123" {
			t.Fatalf("envelope %+v payload %v err %v", e, p, err)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("delivery took %v: the commit notification did not wake the relay", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("event not delivered")
	}
}

func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}

// waitAllDone waits until every delivery is done.
func waitAllDone(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a shared 2-core machine can be slow
	for count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NULL") > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries not done after a minute", count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NULL"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLeasesOver sleeps until every lease the database holds has ended, by the
// database's clock (the one the relay's claim compares with).
func waitLeasesOver(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	var left float64
	err := db.QueryRow(context.Background(),
		"SELECT coalesce(extract(epoch FROM max(lease_until) - now()), 0)::float8 FROM platform.outbox WHERE sent_at IS NULL").Scan(&left)
	if err != nil {
		t.Fatal(err)
	}
	if left > 0 {
		time.Sleep(time.Duration(left*float64(time.Second)) + 50*time.Millisecond)
	}
}

// Publish sends no NOTIFY inside the producer's transaction (PostgreSQL would hold its
// notify lock across that transaction's WAL flush, one durable commit at a time): the
// relays are woken after the commit, in a transaction of its own.
func TestPublishWakesTheRelaysAfterTheCommit(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	conn, err := db.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+outbox.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	err = pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
		_, err := outbox.Publish(ctx, tx, topic, "k", map[string]int{"n": 1})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := conn.Conn().WaitForNotification(wctx); err != nil {
		t.Fatalf("no wake-up after the commit: %v", err)
	}
	// A transaction not begun by pg.InTx has no after-commit hook: the NOTIFY then goes
	// with the transaction, as before.
	tx, err := db.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := outbox.Publish(ctx, tx, topic, "k", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Conn().WaitForNotification(wctx); err != nil {
		t.Fatalf("no wake-up from a plain transaction: %v", err)
	}
}
