package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// DeliveriesChannel is the PostgreSQL channel the relay notifies when it has opened
// deliveries (ClaimOutbox), waking the dispatchers at once instead of at their poll.
const DeliveriesChannel = "tandem_deliveries"

// DispatchConfig tunes a Dispatcher; zero values take the defaults.
type DispatchConfig struct {
	BatchSize int           // deliveries per transaction (default 200)
	Poll      time.Duration // the longest wait between rounds when idle (default 1 s)
	// Gather is how long a busy subscriber's loop lets deliveries gather before its
	// next round (default 50 ms; negative: none): after a round that claimed some, it
	// waits that long; after an idle one, a wake is served at once, so a lone event
	// pays nothing. Under load a wake came with every relay round, and claiming at once
	// made batches of a few events, each paying the claim, the close, the commit and
	// the subscriber's per-batch reads; gathering trades at most this much latency for
	// batches that grow with the load.
	Gather time.Duration
}

// Dispatcher delivers the batched subscriptions (HandleTx, HandleBatchTx) straight from
// platform.outbox_deliveries, with no asynq task per event: per subscriber it claims up
// to BatchSize undone deliveries (FOR UPDATE SKIP LOCKED), runs their handlers in one
// transaction, closes them in it and commits once. A batch that fails is run again one
// delivery per transaction, and a delivery that fails on its own is put off (1 s, 2 s,
// 4 s ... an hour), so one poison event cannot block the rest.
//
// What it guarantees needs no broker and no re-driver: a delivery is done exactly when
// the transaction of its effect committed, and a crash (of the worker, of PostgreSQL)
// rolls back a batch in flight, whose deliveries the next round claims again. Redis
// losing its data loses nothing here.
type Dispatcher struct {
	db      *pgxpool.Pool
	subs    []*dispatchSub
	cfg     DispatchConfig
	log     *slog.Logger
	metrics *Metrics
	onClaim func(subscriber string) // tests: each claim a subscriber begins
}

// dispatchSub is one subscriber's batched subscriptions, by topic.
type dispatchSub struct {
	name    string
	byTopic map[events.Topic]Subscription
}

// NewDispatcher returns a dispatcher of subs' batched subscriptions (the others are
// asynq's, see Relay).
func NewDispatcher(db *pgxpool.Pool, subs []Subscription, cfg DispatchConfig, log *slog.Logger, m *Metrics) *Dispatcher {
	check(subs)
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 200
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	switch {
	case cfg.Gather == 0:
		cfg.Gather = 50 * time.Millisecond
	case cfg.Gather < 0:
		cfg.Gather = 0
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{db: db, cfg: cfg, log: log, metrics: m}
	by := map[string]*dispatchSub{}
	for _, s := range subs {
		if !s.Batched() {
			continue
		}
		ds := by[s.Subscriber]
		if ds == nil {
			ds = &dispatchSub{name: s.Subscriber, byTopic: map[events.Topic]Subscription{}}
			by[s.Subscriber] = ds
			d.subs = append(d.subs, ds)
		}
		ds.byTopic[s.Topic] = s
	}
	return d
}

// Subscribers are the names of the subscribers the dispatcher delivers to.
func (d *Dispatcher) Subscribers() []string {
	names := make([]string, len(d.subs))
	for i, s := range d.subs {
		names[i] = s.name
	}
	return names
}

// Run dispatches until ctx ends: a loop per subscriber, draining its deliveries when
// woken. The relay's notification names the subscribers it opened deliveries for, and
// wakes exactly those: most relay rounds carry nothing for most subscribers, which
// would otherwise each begin a transaction to claim nothing. One look (DueSubscribers)
// at start and at least every Poll wakes the subscribers with a delivery due that no
// notification named: deliveries put off after a failure, the batches another worker's
// dispatcher held, a notification lost (it is a hint; the poll guarantees progress), or
// one without names (a relay of an older build). The look used to follow every
// notification instead; it walks the undone index's entries of closed deliveries (see
// DueSubscribers) and was the dearest statement of a payment's delivery.
// Subscribers run side by side; one subscriber's batches run one at a time across
// every worker (TryLockSubscriber).
func (d *Dispatcher) Run(ctx context.Context) error {
	wakes := make(map[string]chan struct{}, len(d.subs))
	var wg sync.WaitGroup
	for _, s := range d.subs {
		wake := make(chan struct{}, 1)
		wakes[s.name] = wake
		wg.Go(func() { d.loop(ctx, s, wake) })
	}
	notified := make(chan struct{}, 1)
	go listen(ctx, d.db, DeliveriesChannel, func(payload string) {
		if payload == "" {
			signal(notified)
			return
		}
		for name := range strings.SplitSeq(payload, ",") {
			if wake, ok := wakes[name]; ok {
				signal(wake)
			}
		}
	})
	wg.Go(func() { d.look(ctx, wakes, notified) })
	wg.Wait()
	return nil
}

// look wakes the subscribers with deliveries due, at start, after each notification
// that named none and at least every Poll. When the look fails (PostgreSQL away), it
// wakes them all: their claims then say what is wrong.
func (d *Dispatcher) look(ctx context.Context, wakes map[string]chan struct{}, notified <-chan struct{}) {
	names := d.Subscribers()
	q := platformdb.New(d.db)
	for {
		due, err := q.DueSubscribers(ctx, names)
		if err != nil {
			due = names
		}
		for _, name := range due {
			signal(wakes[name])
		}
		select {
		case <-ctx.Done():
			return
		case <-notified:
		case <-time.After(d.cfg.Poll):
		}
	}
}

// signal wakes the loop waiting on c, or leaves it a wake it will see next.
func signal(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) loop(ctx context.Context, s *dispatchSub, wake <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
		n, err := d.drain(ctx, s)
		if err != nil && ctx.Err() == nil {
			d.log.ErrorContext(ctx, "outbox dispatch failed", "subscriber", s.name, "err", err)
		}
		if n > 0 && d.cfg.Gather > 0 { // busy: let the next batch gather
			select {
			case <-ctx.Done():
				return
			case <-time.After(d.cfg.Gather):
			}
		}
	}
}

// Drain runs every subscriber's batches until none is left that is due, one subscriber
// after another, and returns the deliveries it claimed (tests, `tandem outbox redrive`).
func (d *Dispatcher) Drain(ctx context.Context) (int, error) {
	total := 0
	for _, s := range d.subs {
		n, err := d.drain(ctx, s)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// RetryNow makes every delivery put off after failures due at once.
func (d *Dispatcher) RetryNow(ctx context.Context) (int64, error) {
	n, err := platformdb.New(d.db).RetryPutOff(ctx, d.Subscribers())
	if err != nil {
		return 0, fmt.Errorf("outbox: retry put-off deliveries: %w", err)
	}
	return n, nil
}

// drain runs s's batches until a claim comes back short of a full batch.
func (d *Dispatcher) drain(ctx context.Context, s *dispatchSub) (int, error) {
	total := 0
	for {
		n, err := d.batch(ctx, s)
		total += n
		if err != nil || n < d.cfg.BatchSize {
			return total, err
		}
	}
}

// batch claims and runs one batch of s's deliveries and returns how many it claimed.
// An error means no batch could be claimed (PostgreSQL is away); a handler's failure is
// not one: the batch is then run one delivery at a time.
func (d *Dispatcher) batch(ctx context.Context, s *dispatchSub) (int, error) {
	var es []events.Envelope
	err := pg.InTx(ctx, d.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := platformdb.New(tx)
		es = nil
		if locked, err := q.TryLockSubscriber(ctx, s.name); err != nil || !locked {
			return err // another worker runs a batch of s: it drains what is due
		}
		if d.onClaim != nil {
			d.onClaim(s.name)
		}
		rows, err := q.ClaimDeliveries(ctx, platformdb.ClaimDeliveriesParams{Subscriber: s.name, BatchSize: int32(d.cfg.BatchSize)})
		if err != nil {
			return fmt.Errorf("outbox: claim deliveries of %s: %w", s.name, err)
		}
		es = make([]events.Envelope, len(rows))
		ids := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			es[i] = events.Envelope{ID: r.ID, Topic: events.Topic(r.Topic), Key: r.AggregateKey, OccurredAt: r.CreatedAt,
				RequestID: r.RequestID, Payload: r.Payload}
			ids[i] = r.ID
		}
		if len(es) == 0 {
			return nil
		}
		if err := s.handle(ctx, tx, es); err != nil {
			return err
		}
		return q.CloseDeliveries(ctx, platformdb.CloseDeliveriesParams{Subscriber: s.name, EventIds: ids})
	})
	if err == nil {
		if d.metrics != nil {
			d.metrics.dispatched.Add(float64(len(es)))
		}
		return len(es), nil
	}
	if ctx.Err() != nil || len(es) == 0 {
		return 0, err
	}
	if len(es) > 1 {
		d.log.WarnContext(ctx, "outbox batch failed; delivering it one by one", "subscriber", s.name, "events", len(es), "err", err)
	}
	for _, e := range es {
		d.one(ctx, s, e)
	}
	return len(es), nil
}

// one runs a single delivery of a failed batch in its own transaction and puts it off
// when it fails again.
func (d *Dispatcher) one(ctx context.Context, s *dispatchSub, e events.Envelope) {
	err := pg.InTx(ctx, d.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := platformdb.New(tx)
		if _, err := q.ClaimDelivery(ctx, platformdb.ClaimDeliveryParams{EventID: e.ID, Subscriber: s.name}); errors.Is(err, pgx.ErrNoRows) {
			return errClosed // done meanwhile, or another dispatcher holds it
		} else if err != nil {
			return err
		}
		if err := s.handle(ctx, tx, []events.Envelope{e}); err != nil {
			return err
		}
		return q.CloseDeliveries(ctx, platformdb.CloseDeliveriesParams{Subscriber: s.name, EventIds: []uuid.UUID{e.ID}})
	})
	switch {
	case err == nil:
		if d.metrics != nil {
			d.metrics.dispatched.Inc()
		}
	case errors.Is(err, errClosed), ctx.Err() != nil:
	default:
		if d.metrics != nil {
			d.metrics.dispatchFailures.Inc()
		}
		d.log.ErrorContext(logging.WithRequestID(ctx, e.RequestID), "outbox delivery failed; put off",
			"subscriber", s.name, "event", e.ID, "topic", e.Topic, "err", err)
		if perr := platformdb.New(d.db).PutOffDelivery(ctx, platformdb.PutOffDeliveryParams{EventID: e.ID, Subscriber: s.name,
			LastError: err.Error()}); perr != nil {
			d.log.ErrorContext(ctx, "outbox: put off delivery", "event", e.ID, "err", perr)
		}
	}
}

// handle runs es (oldest first) through their topics' subscriptions in tx: each run of
// consecutive events of one topic is one call, so a HandleBatchTx sees them together.
func (s *dispatchSub) handle(ctx context.Context, tx pgx.Tx, es []events.Envelope) error {
	for i := 0; i < len(es); {
		j := i + 1
		for j < len(es) && es[j].Topic == es[i].Topic {
			j++
		}
		sub, ok := s.byTopic[es[i].Topic]
		if !ok {
			return fmt.Errorf("outbox: %s has no handler of %s in this build", s.name, es[i].Topic)
		}
		if err := sub.handleTx(ctx, tx, es[i:j]); err != nil {
			return err
		}
		i = j
	}
	return nil
}
