package outbox_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// poisoned fails on the event numbered bad while poison is set, and otherwise has effect.
func poisoned(bad int, poison *atomic.Bool, effect func(context.Context, pgx.Tx, events.Envelope) error) func(context.Context, pgx.Tx, events.Envelope) error {
	return func(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
		var p struct{ I int }
		if err := e.Decode(&p); err != nil {
			return err
		}
		if p.I == bad && poison.Load() {
			return errors.New("poison")
		}
		return effect(ctx, tx, e)
	}
}

// txEffect is a batched handler's effect, counted per run (not idempotent on purpose:
// a second run of an event shows as runs = 2), and the transaction it ran in.
func txEffect(subscriber string) func(context.Context, pgx.Tx, events.Envelope) error {
	return func(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
		_, err := tx.Exec(ctx, `INSERT INTO effects (event_id, subscriber, runs, txid) VALUES ($1, $2, 1, txid_current())
			ON CONFLICT (event_id, subscriber) DO UPDATE SET runs = effects.runs + 1`, e.ID, subscriber)
		return err
	}
}

func effectsTable(t *testing.T, db *pgxpool.Pool) {
	t.Helper()
	if _, err := db.Exec(context.Background(), `CREATE TABLE effects (event_id uuid, subscriber text, runs int NOT NULL, txid bigint,
		PRIMARY KEY (event_id, subscriber))`); err != nil {
		t.Fatal(err)
	}
}

// relayAll relays every published event (enqueueing the asynq subscribers' tasks and
// opening every subscriber's delivery rows).
func relayAll(t *testing.T, relay *outbox.Relay) {
	t.Helper()
	for {
		n, err := relay.RelayOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// Batched subscribers never touch asynq: the relay enqueues only the Handle
// subscriber's tasks, and the dispatcher runs the batched one's deliveries from the
// delivery table, many to a transaction, each effect once, every delivery closed; the
// re-driver leaves them alone.
func TestDispatcherRunsBatchesFromTheDeliveryTable(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	r := redistest.New(t)
	ctx := context.Background()
	effectsTable(t, db)
	const n = 450
	publish(t, db, n)
	subs := []outbox.Subscription{
		{Topic: topic, Subscriber: "hook", Handle: func(context.Context, events.Envelope) error { return nil }},
		{Topic: topic, Subscriber: "points", HandleTx: txEffect("points")},
	}
	q := newClient(t, r)
	reg := prometheus.NewRegistry()
	metrics := outbox.NewMetrics(reg, db)
	relayAll(t, outbox.NewRelay(db, q, subs, outbox.RelayConfig{BatchSize: 1000}, nil, metrics))
	if got := queued(t, r, "default"); got != n {
		t.Fatalf("asynq holds %d tasks, want %d (the Handle subscriber's only)", got, n)
	}
	if u := gauge(t, reg, "tandem_outbox_undelivered"); u != 2*n {
		t.Fatalf("undelivered = %v, want %d", u, 2*n)
	}
	redriver := outbox.NewRedriver(db, q, r.Client(t), subs, outbox.RedriveConfig{After: time.Nanosecond}, nil, metrics)
	if res, err := redriver.RedriveOnce(ctx); err != nil || res.Checked != n {
		t.Fatalf("re-drive: %+v, %v; want the %d asynq deliveries checked, none of the batched", res, err, n)
	}

	d := outbox.NewDispatcher(db, subs, outbox.DispatchConfig{BatchSize: 200}, nil, metrics)
	if got, err := d.Drain(ctx); err != nil || got != n {
		t.Fatalf("drain: %d, %v; want %d", got, err, n)
	}
	if got := count(t, db, "SELECT count(*) FROM effects WHERE subscriber = 'points' AND runs = 1"); got != n {
		t.Fatalf("%d effects run once, want %d", got, n)
	}
	if txs := count(t, db, "SELECT count(DISTINCT txid) FROM effects"); txs != 3 {
		t.Fatalf("%d transactions, want 3 (batches of 200)", txs)
	}
	if open := count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE subscriber = 'points' AND done_at IS NULL"); open != 0 {
		t.Fatalf("%d deliveries not closed", open)
	}
	if c := counter(t, reg, "tandem_outbox_dispatched_total"); int(c) != n {
		t.Fatalf("dispatched %v, want %d", c, n)
	}
	if got, err := d.Drain(ctx); err != nil || got != 0 {
		t.Fatalf("drain again: %d, %v; want nothing", got, err)
	}
}

// One event whose handler fails does not hold back its batch: the batch is run one
// event per transaction, the others are done, the failing one is put off with its
// error, and is done once it succeeds (after `tandem outbox redrive` makes it due).
func TestDispatcherPutsOffAPoisonEvent(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	r := redistest.New(t)
	ctx := context.Background()
	effectsTable(t, db)
	const n = 50
	publish(t, db, n)
	var poison atomic.Bool
	poison.Store(true)
	subs := []outbox.Subscription{{Topic: topic, Subscriber: "s", HandleTx: poisoned(7, &poison, txEffect("s"))}}
	relayAll(t, outbox.NewRelay(db, newClient(t, r), subs, outbox.RelayConfig{}, nil, nil))
	reg := prometheus.NewRegistry()
	d := outbox.NewDispatcher(db, subs, outbox.DispatchConfig{BatchSize: 20}, nil, outbox.NewMetrics(reg, db))
	// The put-off is measured from the server's time before the drain, not from now():
	// on a loaded machine the check may run after the first put-off (1 s) is over.
	var before time.Time
	if err := db.QueryRow(ctx, "SELECT clock_timestamp()").Scan(&before); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, "SELECT count(*) FROM effects WHERE runs = 1"); got != n-1 {
		t.Fatalf("%d effects, want %d (all but the poison)", got, n-1)
	}
	var putOff int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM platform.outbox_deliveries
		WHERE done_at IS NULL AND failures = 1 AND retry_at >= $1::timestamptz + interval '1 second' AND last_error LIKE '%poison%'`,
		before).Scan(&putOff); err != nil || putOff != 1 {
		t.Fatalf("%d deliveries put off with their error (%v), want 1", putOff, err)
	}
	if c := counter(t, reg, "tandem_outbox_dispatch_failures_total"); c != 1 {
		t.Fatalf("failures counted %v, want 1", c)
	}
	// Put off: not claimed again before its time (moved an hour on, so that a slow
	// machine cannot reach it before the second drain).
	if _, err := db.Exec(ctx, "UPDATE platform.outbox_deliveries SET retry_at = retry_at + interval '1 hour' WHERE done_at IS NULL"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Drain(ctx); err != nil || got != 0 {
		t.Fatalf("drain while put off: %d, %v", got, err)
	}
	poison.Store(false)
	if put, err := d.RetryNow(ctx); err != nil || put != 1 {
		t.Fatalf("retry now: %d, %v", put, err)
	}
	if got, err := d.Drain(ctx); err != nil || got != 1 {
		t.Fatalf("drain after the fix: %d, %v", got, err)
	}
	if got := count(t, db, "SELECT count(*) FROM effects WHERE runs = 1"); got != n {
		t.Fatalf("%d effects, want %d", got, n)
	}
}

// A dispatcher cut off in the middle of a batch (its process killed: here its context
// ends inside the handler) commits nothing of it, and dispatchers running at once, in
// batches and in parallel, then make every effect exactly once; a HandleBatchTx
// subscriber sees its events together.
func TestDispatchersCutOffAndCrossingMakeEachEffectOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	r := redistest.New(t)
	ctx := context.Background()
	effectsTable(t, db)
	const n = 1000
	publish(t, db, n)
	effect := txEffect("batch")
	var calls, events_ atomic.Int64
	subs := []outbox.Subscription{
		{Topic: topic, Subscriber: "one", HandleTx: txEffect("one")},
		{Topic: topic, Subscriber: "batch", HandleBatchTx: func(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
			calls.Add(1)
			events_.Add(int64(len(es)))
			for _, e := range es {
				if err := effect(ctx, tx, e); err != nil {
					return err
				}
			}
			return nil
		}},
	}
	relayAll(t, outbox.NewRelay(db, newClient(t, r), subs, outbox.RelayConfig{}, nil, nil))

	cut, cancel := context.WithCancel(ctx)
	var seen atomic.Int64
	killed := []outbox.Subscription{{Topic: topic, Subscriber: "one", HandleTx: func(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
		if seen.Add(1) == 50 {
			cancel()
		}
		return txEffect("one")(ctx, tx, e)
	}}}
	if _, err := outbox.NewDispatcher(db, killed, outbox.DispatchConfig{BatchSize: 100}, nil, nil).Drain(cut); err == nil {
		t.Fatal("the cut-off dispatcher reported no error")
	}
	if got := count(t, db, "SELECT count(*) FROM effects"); got != 0 {
		t.Fatalf("%d effects committed by a batch cut off half way", got)
	}

	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range 3 {
		d := outbox.NewDispatcher(db, subs, outbox.DispatchConfig{BatchSize: 64, Poll: 20 * time.Millisecond}, nil, nil)
		wg.Go(func() { _ = d.Run(rctx) })
	}
	deadline := time.Now().Add(2 * time.Minute)
	for count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NULL") > 0 {
		if time.Now().After(deadline) {
			t.Fatal("deliveries left after two minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	wg.Wait()
	if got := count(t, db, "SELECT count(*) FROM effects WHERE runs = 1"); got != 2*n {
		t.Fatalf("%d effects run once, want %d", got, 2*n)
	}
	if twice := count(t, db, "SELECT count(*) FROM effects WHERE runs > 1"); twice != 0 {
		t.Fatalf("%d effects ran twice", twice)
	}
	if c := calls.Load(); c >= events_.Load() {
		t.Fatalf("HandleBatchTx called %d times for %d events: never more than one at once", c, events_.Load())
	}
}

// A relay round wakes only the subscribers it opened deliveries for: a running
// dispatcher claims for the busy subscriber until its deliveries are done, and never
// for a subscriber of another topic, however many rounds and polls go by; a delivery
// put off after a failure stays put off.
func TestDispatcherWakesOnlySubscribersWithDeliveriesDue(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	effectsTable(t, db)
	var poison atomic.Bool
	poison.Store(true)
	subs := []outbox.Subscription{
		{Topic: topic, Subscriber: "busy", HandleTx: poisoned(3, &poison, txEffect("busy"))},
		{Topic: "test.other", Subscriber: "idle", HandleTx: txEffect("idle")},
	}
	relay, claims := runCountingDispatcher(t, db, subs, outbox.DispatchConfig{BatchSize: 10, Poll: 20 * time.Millisecond, Gather: -1})
	const rounds, n = 5, 10
	for range rounds {
		publish(t, db, n)
		relayAll(t, relay)
	}
	deadline := time.Now().Add(time.Minute)
	for count(t, db, "SELECT count(*) FROM effects WHERE subscriber = 'busy'") < rounds*n-rounds { // all but the poison ones
		if time.Now().After(deadline) {
			t.Fatal("the busy subscriber's deliveries were not done within a minute")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // ten polls
	idle, busyClaims := claims("idle"), claims("busy")
	if idle != 0 {
		t.Fatalf("the idle subscriber claimed %d times", idle)
	}
	if busyClaims == 0 || busyClaims > 6*rounds {
		t.Fatalf("the busy subscriber claimed %d times for %d rounds of %d (the put-off ones woke it)", busyClaims, rounds, n)
	}
	if put := count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NULL AND failures > 0"); put != rounds {
		t.Fatalf("%d deliveries put off, want %d", put, rounds)
	}
}

// The relay's notification names the subscribers it opened deliveries for, and wakes
// those with no look: with a poll of an hour, every round after the first (which the
// look at start may find) is delivered because the notification woke its subscriber,
// and a subscriber no notification named never claims.
func TestRelayNotificationWakesTheSubscribersItNames(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	effectsTable(t, db)
	subs := []outbox.Subscription{
		{Topic: topic, Subscriber: "named", HandleTx: txEffect("named")},
		{Topic: "test.other", Subscriber: "unnamed", HandleTx: txEffect("unnamed")},
	}
	relay, claims := runCountingDispatcher(t, db, subs, outbox.DispatchConfig{Poll: time.Hour, Gather: -1})
	const rounds, n = 3, 5
	for round := 1; round <= rounds; round++ {
		publish(t, db, n)
		relayAll(t, relay)
		deadline := time.Now().Add(time.Minute)
		for count(t, db, "SELECT count(*) FROM effects WHERE subscriber = 'named'") < round*n {
			if time.Now().After(deadline) {
				t.Fatalf("round %d was not delivered within a minute of its relay's notification", round)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if n := claims("unnamed"); n != 0 {
		t.Fatalf("the subscriber no notification named claimed %d times", n)
	}
	if undone := count(t, db, "SELECT count(*) FROM platform.outbox_deliveries WHERE done_at IS NULL"); undone != 0 {
		t.Fatalf("%d deliveries not done", undone)
	}
}

// runCountingDispatcher runs a dispatcher of subs until the test ends, counting the
// claims each subscriber begins, and returns a relay of subs and the claims so far.
func runCountingDispatcher(t *testing.T, db *pgxpool.Pool, subs []outbox.Subscription, cfg outbox.DispatchConfig) (*outbox.Relay, func(subscriber string) int) {
	t.Helper()
	relay := outbox.NewRelay(db, newClient(t, redistest.New(t)), subs, outbox.RelayConfig{}, nil, nil)
	d := outbox.NewDispatcher(db, subs, cfg, nil, nil)
	var mu sync.Mutex
	claims := map[string]int{}
	d.SetOnClaim(func(s string) { mu.Lock(); claims[s]++; mu.Unlock() })
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.Run(ctx) })
	t.Cleanup(func() { stop(); wg.Wait() })
	return relay, func(s string) int { mu.Lock(); defer mu.Unlock(); return claims[s] }
}
