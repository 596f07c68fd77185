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
	"github.com/jackc/pgx/v5"
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
	Lease     time.Duration // how long a batch may stay claimed before its commit (default 30 s)
	Poll      time.Duration // the longest wait between rounds when idle (default 1 s)
	// Retention keeps completed tasks (and so their ids) in Redis; it must exceed Lease
	// by far for the no-double-enqueue guarantee. Default 24 h.
	Retention time.Duration
	MaxRetry  int // asynq retries per task (default 25, about 3 weeks of backoff)
	// Parallel enqueues per batch (default 64). With a pipelined client
	// (NewPipelinedClient) the enqueues in flight share round trips to Redis, so more
	// of them cost less per task; order is not promised anyway.
	Parallel int
}

// Relay moves committed outbox rows to asynq.
type Relay struct {
	db      *pgxpool.Pool
	tasks   Enqueuer
	routes  map[events.Topic][]Subscription
	topics  []string // with subscribers: the routes as parallel arrays, for ClaimOutbox
	subs    []string
	begin   string // claimBegin
	cfg     RelayConfig
	log     *slog.Logger
	metrics *Metrics
	// afterEnqueue, when set (tests), runs between the enqueue and the commit of a batch.
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
		cfg.Parallel = 64
	}
	r := &Relay{db: db, tasks: q, routes: map[events.Topic][]Subscription{}, begin: claimBegin(cfg.Lease), cfg: cfg, metrics: m}
	for _, s := range subs {
		r.routes[s.Topic] = append(r.routes[s.Topic], s)
		r.topics = append(r.topics, string(s.Topic))
		r.subs = append(r.subs, s.Subscriber)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r.log = log.With("relay", cfg.Name)
	return r
}

// Run relays until ctx ends: a round whenever PostgreSQL notifies a commit, and at least
// every Poll otherwise (notifications are a hint; polling is what guarantees progress).
// While a backlog lasts, each batch's enqueue and commit overlap the next batch's
// claim (see Drain).
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
// returns the rows claimed. A batch is enqueued and committed while the next is
// claimed, so PostgreSQL's work and Redis's overlap; that is safe because the rows of
// a batch stay locked until its commit (the next claim skips them). At most one batch
// is being enqueued at a time, and Drain returns only after the last has committed.
func (r *Relay) Drain(ctx context.Context) (int, error) {
	total := 0
	var sending chan error // the batch being enqueued and committed, if any
	waitSend := func() error {
		if sending == nil {
			return nil
		}
		err := <-sending
		sending = nil
		return err
	}
	for {
		b, err := r.claim(ctx)
		total += len(b.rows)
		if err != nil || len(b.rows) == 0 {
			return total, errors.Join(err, waitSend())
		}
		if err := waitSend(); err != nil {
			b.rollback(ctx)
			return total, err
		}
		if len(b.rows) < r.cfg.BatchSize {
			return total, r.send(ctx, b)
		}
		sending = make(chan error, 1)
		go func() { sending <- r.send(ctx, b) }()
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

// RelayOnce claims up to one batch, enqueues it and commits the claim. It returns the
// number of rows claimed.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	b, err := r.claim(ctx)
	if err != nil || len(b.rows) == 0 {
		return len(b.rows), err
	}
	return len(b.rows), r.send(ctx, b)
}

// batch is one claimed batch: its rows, already marked sent with their deliveries in
// tx, which commits once the rows are enqueued.
type batch struct {
	tx   pgx.Tx
	rows []claimed
}

// claimBegin begins a claim's transaction, in the same round trip as its settings:
//   - its commit does not wait for the disk (see ClaimOutbox);
//   - PostgreSQL ends it, and with it the claim, when the relay leaves it idle longer
//     than its lease (a relay hung between enqueue and commit);
//   - the claim walks the unsent rows' index in order and stops at a batch, whatever
//     the statistics say: after a quiet spell they count almost no unsent rows, and the
//     plan they choose for a sudden backlog reads and sorts all of it for every batch.
func claimBegin(lease time.Duration) string {
	return fmt.Sprintf("BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL idle_in_transaction_session_timeout = %d; "+
		"SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off", max(lease.Milliseconds(), 1))
}

// claim begins a transaction and claims up to one batch in it. With no rows, the
// transaction is over.
func (r *Relay) claim(ctx context.Context) (batch, error) {
	tx, err := r.db.BeginTx(ctx, pgx.TxOptions{BeginQuery: r.begin})
	if err != nil {
		return batch{}, fmt.Errorf("outbox: claim: %w", err)
	}
	rows, err := platformdb.New(tx).ClaimOutbox(ctx, platformdb.ClaimOutboxParams{
		BatchSize: int32(r.cfg.BatchSize), Relay: r.cfg.Name, Topics: r.topics, Subscribers: r.subs})
	b := batch{tx: tx, rows: rows}
	if err != nil || len(rows) == 0 {
		b.rollback(ctx)
		if err != nil {
			return batch{}, fmt.Errorf("outbox: claim: %w", err)
		}
		return batch{}, nil
	}
	// UPDATE ... RETURNING has no order; enqueue oldest first.
	slices.SortFunc(b.rows, func(a, b claimed) int { return slices.Compare(a.ID[:], b.ID[:]) })
	return b, nil
}

// rollback ends b's transaction unsent: the rows are free for the next claim.
func (b batch) rollback(ctx context.Context) {
	_ = b.tx.Rollback(context.WithoutCancel(ctx))
}

// send enqueues a claimed batch and commits its claim. Rows whose enqueue failed are
// handed back in the same transaction, claimable again after a short backoff; the
// batch's first enqueue error is returned. When ctx ends first, the claim is rolled
// back (the rows come back at once; what was enqueued asynq refuses the next time).
func (r *Relay) send(ctx context.Context, b batch) error {
	sent, failed, firstErr := r.enqueueAll(ctx, b.rows)
	if ctx.Err() != nil {
		b.rollback(ctx)
		return ctx.Err()
	}
	if r.afterEnqueue != nil {
		r.afterEnqueue()
	}
	if len(failed) > 0 {
		err := platformdb.New(b.tx).UnclaimOutbox(ctx, platformdb.UnclaimOutboxParams{Ids: failed, LastError: firstErr.Error()})
		if err != nil {
			b.rollback(ctx)
			return errors.Join(firstErr, fmt.Errorf("outbox: hand back failed rows: %w", err))
		}
	}
	if err := b.tx.Commit(ctx); err != nil {
		return errors.Join(firstErr, fmt.Errorf("outbox: commit claim: %w", err))
	}
	if r.metrics != nil {
		r.metrics.observeSent(b.rows, sent)
	}
	return firstErr
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
