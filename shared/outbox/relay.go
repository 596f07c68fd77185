package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// Enqueuer is the part of *asynq.Client the relay uses.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// RelayConfig tunes a Relay; zero values take the defaults.
type RelayConfig struct {
	Name      string        // shown in leased_by; defaults to a random id
	BatchSize int           // rows claimed per round (default 500)
	Lease     time.Duration // how long claimed rows stay ours (default 30 s)
	Poll      time.Duration // the longest wait between rounds when idle (default 1 s)
	// Retention keeps completed tasks (and so their ids) in Redis; it must exceed Lease
	// by far for the no-double-enqueue guarantee. Default 24 h.
	Retention time.Duration
	MaxRetry  int // asynq retries per task (default 25, about 3 weeks of backoff)
	// Parallel enqueues per batch (default 8): one Redis round trip each, so a batch
	// enqueued one by one is bound by latency, not by Redis. Order is not promised anyway.
	Parallel int
}

// Relay moves committed outbox rows to asynq.
type Relay struct {
	db      *pgxpool.Pool
	q       *platformdb.Queries
	tasks   Enqueuer
	routes  map[events.Topic][]Subscription
	cfg     RelayConfig
	log     *slog.Logger
	metrics *Metrics
	// afterEnqueue, when set (tests), runs between the enqueue and the mark of a batch.
	afterEnqueue func()
}

// NewRelay returns a relay that enqueues each event once per Handle subscription of its
// topic and opens a delivery row per subscription (the dispatcher's for batched ones).
func NewRelay(db *pgxpool.Pool, q Enqueuer, subs []Subscription, cfg RelayConfig, log *slog.Logger, m *Metrics) *Relay {
	if cfg.Name == "" {
		cfg.Name = "relay-" + uuid.NewString()[:8]
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 24 * time.Hour
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = 25
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	routes := map[events.Topic][]Subscription{}
	for _, s := range subs {
		routes[s.Topic] = append(routes[s.Topic], s)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Relay{db: db, q: platformdb.New(db), tasks: q, routes: routes, cfg: cfg, log: log.With("relay", cfg.Name), metrics: m}
}

// Run relays until ctx ends: a round whenever PostgreSQL notifies a commit, and at least
// every Poll otherwise (notifications are a hint; polling is what guarantees progress).
// While a backlog lasts, each batch's mark overlaps the next batch's claim and enqueue
// (see Drain).
func (r *Relay) Run(ctx context.Context) error {
	wake := make(chan struct{}, 1)
	go listen(ctx, r.db, NotifyChannel, func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	for {
		// Drain ends on a short batch: the backlog is gone. A commit meanwhile has left
		// a wake-up in the channel, so the next round starts at once.
		_, err := r.Drain(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.log.ErrorContext(ctx, "outbox relay round failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
		case <-time.After(r.cfg.Poll):
		}
	}
}

// Drain relays batches until a claim comes back short of a full batch (or fails) and
// returns the rows claimed. A batch's mark runs while the next batch is claimed and
// enqueued, so the mark's round trip and write are off the relay's critical path;
// that is safe because the rows being marked are leased (the next claim skips them).
// At most one mark is in flight, and Drain returns only after the last has finished.
func (r *Relay) Drain(ctx context.Context) (int, error) {
	total := 0
	var marking chan error // the mark in flight, if any
	waitMark := func() error {
		if marking == nil {
			return nil
		}
		err := <-marking
		marking = nil
		return err
	}
	for {
		b, err := r.claimAndEnqueue(ctx)
		total += len(b.rows)
		if err != nil || len(b.rows) == 0 {
			return total, errors.Join(err, waitMark())
		}
		if err := waitMark(); err != nil {
			return total, errors.Join(err, r.mark(ctx, b))
		}
		if len(b.rows) < r.cfg.BatchSize {
			return total, r.mark(ctx, b)
		}
		marking = make(chan error, 1)
		go func() { marking <- r.mark(ctx, b) }()
	}
}

// listen calls wake on every PostgreSQL notification on channel, reconnecting when the
// connection drops; a failure here only slows the listener down to its poll interval.
func listen(ctx context.Context, db *pgxpool.Pool, channel string, wake func()) {
	for ctx.Err() == nil {
		conn, err := db.Acquire(ctx)
		if err != nil {
			sleepCtx(ctx, time.Second)
			continue
		}
		if _, err := conn.Exec(ctx, "LISTEN "+channel); err == nil {
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					break
				}
				wake()
			}
		}
		// The connection may hold a LISTEN or be broken: never hand it back to the pool.
		conn.Hijack().Close(context.WithoutCancel(ctx))
		sleepCtx(ctx, 100*time.Millisecond)
	}
}

// claimed is one claimed outbox row.
type claimed = platformdb.ClaimOutboxRow

// RelayOnce claims up to one batch, enqueues it and marks what was enqueued as sent.
// It returns the number of rows claimed.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	b, err := r.claimAndEnqueue(ctx)
	if err != nil || len(b.rows) == 0 {
		return len(b.rows), err
	}
	return len(b.rows), r.mark(ctx, b)
}

// batch is one claimed batch after its enqueue: what went to asynq and what failed.
type batch struct {
	rows         []claimed
	sent, failed []uuid.UUID
	firstErr     error
}

// claimAndEnqueue claims up to one batch and enqueues it. An error means the batch
// was not enqueued at all (claim failed or ctx ended); an enqueue failure of some rows
// is in the batch, for mark.
func (r *Relay) claimAndEnqueue(ctx context.Context) (batch, error) {
	rows, err := r.q.ClaimOutbox(ctx, platformdb.ClaimOutboxParams{
		BatchSize: int32(r.cfg.BatchSize), LeaseMs: r.cfg.Lease.Milliseconds(), Relay: r.cfg.Name})
	if err != nil {
		return batch{}, fmt.Errorf("outbox: claim: %w", err)
	}
	if len(rows) == 0 {
		return batch{}, nil
	}
	// UPDATE ... RETURNING has no order; enqueue oldest first.
	slices.SortFunc(rows, func(a, b claimed) int { return slices.Compare(a.ID[:], b.ID[:]) })
	b := batch{rows: rows}
	b.sent, b.failed, b.firstErr = r.enqueueAll(ctx, rows)
	if ctx.Err() != nil {
		return b, ctx.Err() // leased rows come back when the lease ends
	}
	if r.afterEnqueue != nil {
		r.afterEnqueue()
	}
	return b, nil
}

// mark records a batch: the enqueued rows sent, each with a delivery row per
// subscriber (one statement), the failed ones handed back after a backoff. It returns
// the batch's first enqueue error, if any.
func (r *Relay) mark(ctx context.Context, b batch) error {
	if len(b.sent) > 0 {
		if err := r.q.MarkOutboxSent(ctx, r.sentParams(b.rows, b.sent)); err != nil {
			return fmt.Errorf("outbox: mark sent: %w", err)
		}
	}
	if len(b.failed) > 0 {
		// Failed rows come back after a short backoff instead of the whole lease.
		if err := r.q.ReleaseOutbox(ctx, platformdb.ReleaseOutboxParams{Ids: b.failed, LastError: b.firstErr.Error()}); err != nil {
			r.log.ErrorContext(ctx, "outbox: release failed rows", "err", err)
		}
	}
	if r.metrics != nil {
		r.metrics.observeSent(b.rows, b.sent)
	}
	return b.firstErr
}

// enqueueAll enqueues rows with up to cfg.Parallel in flight and sorts them into
// enqueued and failed.
func (r *Relay) enqueueAll(ctx context.Context, rows []claimed) (sent, failed []uuid.UUID, firstErr error) {
	results := make([]error, len(rows))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(r.cfg.Parallel, len(rows)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = r.enqueue(ctx, rows[i])
			}
		}()
	}
	for i := range rows {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range results {
		if err != nil {
			failed = append(failed, rows[i].ID)
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		sent = append(sent, rows[i].ID)
	}
	return sent, failed, firstErr
}

// sentParams are the ids of the sent rows and, in parallel arrays, one delivery per
// subscriber of each.
func (r *Relay) sentParams(rows []claimed, sent []uuid.UUID) platformdb.MarkOutboxSentParams {
	p := platformdb.MarkOutboxSentParams{Ids: sent}
	ok := make(map[uuid.UUID]bool, len(sent))
	for _, id := range sent {
		ok[id] = true
	}
	for _, row := range rows {
		if !ok[row.ID] {
			continue
		}
		for _, s := range r.routes[events.Topic(row.Topic)] {
			p.EventIds = append(p.EventIds, row.ID)
			p.Subscribers = append(p.Subscribers, s.Subscriber)
		}
	}
	return p
}

func (r *Relay) enqueue(ctx context.Context, row claimed) error {
	topic := events.Topic(row.Topic)
	subs := r.routes[topic]
	if len(subs) == 0 {
		r.log.DebugContext(ctx, "outbox event has no subscriber", "topic", topic, "id", row.ID)
		return nil
	}
	body, err := envelope(row.ID, topic, row.AggregateKey, row.CreatedAt, row.RequestID, row.Payload)
	if err != nil {
		return err
	}
	for _, s := range subs {
		if s.Batched() {
			continue // the dispatcher takes it from its delivery row
		}
		err := enqueueTask(ctx, r.tasks, s, body, TaskID(row.ID.String(), s.Subscriber), r.cfg.Retention, r.cfg.MaxRetry)
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			// Enqueued before by a relay that died before marking: delivered.
			if r.metrics != nil {
				r.metrics.duplicates.Inc()
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("outbox: enqueue %s for %s: %w", row.ID, s.Subscriber, err)
		}
	}
	return nil
}

// envelope is the task payload of an outbox event.
func envelope(id uuid.UUID, topic events.Topic, key string, at time.Time, requestID string, payload []byte) ([]byte, error) {
	return json.Marshal(events.Envelope{ID: id, Topic: topic, Key: key, OccurredAt: at, RequestID: requestID, Payload: payload})
}

// enqueueTask enqueues one event's task for one subscriber under taskID.
func enqueueTask(ctx context.Context, q Enqueuer, s Subscription, body []byte, taskID string, retention time.Duration, maxRetry int) error {
	_, err := q.EnqueueContext(ctx, asynq.NewTask(s.TaskType(), body),
		asynq.TaskID(taskID), asynq.Queue(s.queue()), asynq.Retention(retention), asynq.MaxRetry(maxRetry))
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
