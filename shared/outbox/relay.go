package outbox

import (
	"context"
	"crypto/md5" //nolint:gosec // a name-based UUID (RFC 9562 version 3), not a secret
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
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
	// TaskEvents is how many events an asynq task of a Handle subscription carries on
	// average (default 32; at most 4 times as many). asynq's encoding and its Redis
	// script run once per task, which was most of what relaying an event cost when
	// each had its own. See batchTasks for how a claim is cut into tasks.
	TaskEvents int
}

// Relay moves committed outbox rows to asynq.
type Relay struct {
	db      *pgxpool.Pool
	tasks   Enqueuer
	routes  map[events.Topic][]Subscription
	subs    []Subscription
	begin   string // claimBegin
	cfg     RelayConfig
	log     *slog.Logger
	metrics *Metrics
	// afterEnqueue, when set (tests), runs between the enqueue and the commit of a batch.
	afterEnqueue func()
}

// NewRelay returns a relay that enqueues each event once per Handle subscription of its
// topic, in asynq tasks of many events each, and opens a delivery row per subscription
// (the dispatcher's for batched ones).
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
	if cfg.TaskEvents <= 0 {
		cfg.TaskEvents = 32
	}
	r := &Relay{db: db, tasks: q, routes: map[events.Topic][]Subscription{}, begin: claimBegin(cfg.Lease), cfg: cfg, metrics: m}
	for _, s := range subs {
		r.routes[s.Topic] = append(r.routes[s.Topic], s)
	}
	r.subs = subs
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
	go listen(ctx, r.db, NotifyChannel, func(string) { signal(wake) })
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

// listen calls wake with the payload of every PostgreSQL notification on channel, reconnecting when the
// connection drops; a failure here only slows the listener down to its poll interval.
func listen(ctx context.Context, db *pgxpool.Pool, channel string, wake func(payload string)) {
	for ctx.Err() == nil {
		conn, err := db.Acquire(ctx)
		if err != nil {
			sleepCtx(ctx, time.Second)
			continue
		}
		if _, err := conn.Exec(ctx, "LISTEN "+channel); err == nil {
			for {
				n, err := conn.Conn().WaitForNotification(ctx)
				if err != nil {
					break
				}
				wake(n.Payload)
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

// batch is one claimed batch: its rows, already marked sent in tx, which opens their
// deliveries and commits once the rows are enqueued.
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
	rows, err := platformdb.New(tx).ClaimOutbox(ctx, platformdb.ClaimOutboxParams{BatchSize: int32(r.cfg.BatchSize), Relay: r.cfg.Name})
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

// send enqueues a claimed batch, opens its deliveries and commits its claim. Rows whose
// enqueue failed are handed back in the same transaction, claimable again after a short
// backoff; the batch's first enqueue error is returned. When ctx ends first, the claim
// is rolled back (the rows come back at once; what was enqueued asynq refuses the next
// time, or the handlers' hold on a delivery runs once: see ClaimOutbox).
func (r *Relay) send(ctx context.Context, b batch) error {
	tasks := r.batchTasks(b.rows)
	failed, firstErr := r.enqueueAll(ctx, b.rows, tasks)
	if ctx.Err() != nil {
		b.rollback(ctx)
		return ctx.Err()
	}
	if r.afterEnqueue != nil {
		r.afterEnqueue()
	}
	q := platformdb.New(b.tx)
	if len(failed) > 0 {
		ids := make([]uuid.UUID, 0, len(failed))
		for i := range failed {
			ids = append(ids, b.rows[i].ID)
		}
		err := q.UnclaimOutbox(ctx, platformdb.UnclaimOutboxParams{Ids: ids, LastError: firstErr.Error()})
		if err != nil {
			b.rollback(ctx)
			return errors.Join(firstErr, fmt.Errorf("outbox: hand back failed rows: %w", err))
		}
	}
	if err := q.OpenDeliveries(ctx, r.deliveries(b.rows, tasks, failed)); err != nil {
		b.rollback(ctx)
		return errors.Join(firstErr, fmt.Errorf("outbox: open deliveries: %w", err))
	}
	if err := b.tx.Commit(ctx); err != nil {
		return errors.Join(firstErr, fmt.Errorf("outbox: commit claim: %w", err))
	}
	if r.metrics != nil {
		r.metrics.observeSent(b.rows, failed)
	}
	return firstErr
}

// batchTask is one asynq task of a Handle subscription: events of a claim, oldest first.
type batchTask struct {
	sub  Subscription
	rows []int     // indexes into the claimed rows
	id   uuid.UUID // made of sub and the events: TaskID(id, sub.Subscriber) is its task id
}

// batchTasks cuts a claim's rows into tasks, per Handle subscription. A task ends
// before an event whose id says so (one in TaskEvents, by the id's random bits), after
// 4 x TaskEvents events, and at the claim's end; its id is a hash of its subscription
// and events. The cuts depend on the events, not on where a claim starts: when a relay
// dies before its commit, the next claim of the same rows (often with a few more, or a
// few fewer, at its ends) makes the same tasks but at its ends, which asynq refuses as
// duplicate task ids, so few events are carried by two tasks (and those run once: see
// TakeDeliveries).
func (r *Relay) batchTasks(rows []claimed) []batchTask {
	var tasks []batchTask
	most := 4 * r.cfg.TaskEvents
	for _, s := range r.subs {
		if s.Batched() {
			continue // the dispatcher takes it from its delivery row
		}
		var cur []int
		flush := func() {
			if len(cur) > 0 {
				tasks = append(tasks, batchTask{sub: s, rows: cur, id: batchTaskUUID(s, rows, cur)})
				cur = nil
			}
		}
		for i := range rows {
			if rows[i].Topic != string(s.Topic) {
				continue
			}
			if len(cur) == most || (len(cur) > 0 && binary.BigEndian.Uint32(rows[i].ID[12:])%uint32(r.cfg.TaskEvents) == 0) {
				flush()
			}
			cur = append(cur, i)
		}
		flush()
	}
	return tasks
}

// batchTaskSpace is the UUID name space of batch task ids (RFC 9562 name-based UUIDs).
var batchTaskSpace = uuid.MustParse("6f0c3f5e-8d7a-4c1e-9a55-0b7e3d2c9f41")

// batchTaskUUID names the task of sub carrying rows[idx...]: the same events, the same id.
func batchTaskUUID(s Subscription, rows []claimed, idx []int) uuid.UUID {
	data := make([]byte, 0, len(s.Subscriber)+len(s.Topic)+2+16*len(idx))
	data = append(append(append(append(data, s.Subscriber...), 0), s.Topic...), 0)
	for _, i := range idx {
		data = append(data, rows[i].ID[:]...)
	}
	return uuid.NewHash(md5.New(), batchTaskSpace, data, 3)
}

// enqueueAll enqueues tasks with up to cfg.Parallel in flight and returns the rows of
// the tasks that failed (by index) and the first error.
func (r *Relay) enqueueAll(ctx context.Context, rows []claimed, tasks []batchTask) (failed map[int]bool, firstErr error) {
	bodies := make([][]byte, len(rows))
	for _, t := range tasks {
		for _, i := range t.rows {
			if bodies[i] != nil {
				continue
			}
			body, err := envelope(rows[i].ID, events.Topic(rows[i].Topic), rows[i].AggregateKey, rows[i].CreatedAt, rows[i].RequestID, rows[i].Payload)
			if err != nil {
				return nil, err // a claimed row's JSON came from PostgreSQL's jsonb: cannot fail
			}
			bodies[i] = body
		}
	}
	results := make([]error, len(tasks))
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(r.cfg.Parallel, len(tasks)) {
		wg.Go(func() {
			for i := range next {
				results[i] = r.enqueue(ctx, tasks[i], bodies)
			}
		})
	}
	for i := range tasks {
		next <- i
	}
	close(next)
	wg.Wait()
	failed = map[int]bool{}
	for i, err := range results {
		if err == nil {
			continue
		}
		for _, row := range tasks[i].rows {
			failed[row] = true
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return failed, firstErr
}

// enqueue enqueues one batch task: its events' envelopes as a JSON array.
func (r *Relay) enqueue(ctx context.Context, t batchTask, bodies [][]byte) error {
	size := 2
	for _, i := range t.rows {
		size += len(bodies[i]) + 1
	}
	payload := make([]byte, 0, size)
	payload = append(payload, '[')
	for n, i := range t.rows {
		if n > 0 {
			payload = append(payload, ',')
		}
		payload = append(payload, bodies[i]...)
	}
	payload = append(payload, ']')
	err := enqueueTask(ctx, r.tasks, t.sub, payload, TaskID(t.id.String(), t.sub.Subscriber), r.cfg.Retention, r.cfg.MaxRetry)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		// Enqueued before by a relay that died before its commit: delivered.
		if r.metrics != nil {
			r.metrics.duplicates.Add(float64(len(t.rows)))
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("outbox: enqueue task %s (%d events) for %s: %w", t.id, len(t.rows), t.sub.Subscriber, err)
	}
	return nil
}

// deliveries are the delivery rows of a batch's sent rows: one per event and
// subscription of its topic, with the task that carries it, sorted by event and
// subscriber (see OpenDeliveries).
func (r *Relay) deliveries(rows []claimed, tasks []batchTask, failed map[int]bool) platformdb.OpenDeliveriesParams {
	type key struct {
		row int
		sub string
	}
	carrier := map[key]uuid.UUID{}
	for _, t := range tasks {
		for _, i := range t.rows {
			carrier[key{i, t.sub.Subscriber}] = t.id
		}
	}
	var p platformdb.OpenDeliveriesParams
	var woken []string // the dispatchers' subscribers with a delivery opened here
	for i, row := range rows {
		if failed[i] {
			continue
		}
		subs := r.routes[events.Topic(row.Topic)]
		if len(subs) == 0 {
			r.log.Debug("outbox event has no subscriber", "topic", row.Topic, "id", row.ID)
		}
		start := len(p.Subscribers)
		for _, s := range subs {
			if slices.Contains(p.Subscribers[start:], s.Subscriber) {
				continue
			}
			p.EventIds = append(p.EventIds, row.ID)
			p.Subscribers = append(p.Subscribers, s.Subscriber)
			p.Tasks = append(p.Tasks, carrier[key{i, s.Subscriber}]) // uuid.Nil: the dispatcher's
			if s.Batched() && !slices.Contains(woken, s.Subscriber) {
				woken = append(woken, s.Subscriber)
			}
		}
		sortDeliveries(p.Subscribers[start:], p.Tasks[start:])
	}
	p.Woken = strings.Join(woken, ",")
	return p
}

// sortDeliveries sorts one event's subscribers, and their tasks with them.
func sortDeliveries(subs []string, tasks []uuid.UUID) {
	for i := 1; i < len(subs); i++ {
		for j := i; j > 0 && subs[j] < subs[j-1]; j-- {
			subs[j], subs[j-1] = subs[j-1], subs[j]
			tasks[j], tasks[j-1] = tasks[j-1], tasks[j]
		}
	}
}

// envelope is the task payload of an outbox event: events.Envelope in JSON, written by
// hand (encoding/json's reflection was an eighth of the relay's CPU). payload is the
// event's jsonb as PostgreSQL prints it, valid JSON already.
func envelope(id uuid.UUID, topic events.Topic, key string, at time.Time, requestID string, payload []byte) ([]byte, error) {
	if at.Year() < 0 || at.Year() > 9999 || len(payload) == 0 {
		// What encoding/json refuses, it refuses here too.
		return json.Marshal(events.Envelope{ID: id, Topic: topic, Key: key, OccurredAt: at, RequestID: requestID, Payload: payload})
	}
	b := make([]byte, 0, 128+len(topic)+len(key)+len(requestID)+len(payload))
	b = append(b, `{"id":"`...)
	b = append(b, id.String()...)
	b = append(b, `","topic":`...)
	b = appendJSONString(b, string(topic))
	b = append(b, `,"key":`...)
	b = appendJSONString(b, key)
	b = append(b, `,"occurred_at":"`...)
	b = at.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if requestID != "" {
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, requestID)
	}
	b = append(b, `,"payload":`...)
	b = append(b, payload...)
	return append(b, '}'), nil
}

// appendJSONString appends s as a JSON string. Bytes that are not valid UTF-8 pass
// through as they are (PostgreSQL's text is valid UTF-8).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// enqueueTask enqueues one task for one subscriber under taskID.
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
