package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// RedriveConfig tunes a Redriver; zero values take the defaults.
type RedriveConfig struct {
	// After is how long a delivery may stay not done after its enqueue (or the last
	// look) before the re-driver asks asynq about its task (default 1 min).
	After     time.Duration
	BatchSize int           // deliveries claimed per round (default 500)
	Every     time.Duration // Run's period (default After / 2)
	Retention time.Duration // as RelayConfig (default 24 h)
	MaxRetry  int           // as RelayConfig (default 25)
	Parallel  int           // asynq look-ups in flight (default 8)
}

// Redriver puts back on asynq the deliveries asynq lost (of Handle subscriptions; the
// Dispatcher reads batched ones from PostgreSQL and needs no re-drive): a delivery not done a lease
// after its enqueue whose task asynq no longer has (Redis lost its data) is enqueued
// again, under a new task id. A task asynq still holds (waiting, running, retrying) is
// left alone; so is one asynq gave up on (archived after MaxRetry: a handler failing for
// weeks is for a person to look at, in /admin/queues). Handlers are idempotent and
// Register skips events already done, so a re-drive never doubles an effect.
type Redriver struct {
	q       *platformdb.Queries
	tasks   Enqueuer
	rdb     redis.UniversalClient
	inspect *asynq.Inspector
	queues  []any // the subscriptions' queue names, for asynqQueuesKey
	subs    map[events.Topic]map[string]Subscription
	names   []string // the subscribers delivered through asynq
	cfg     RedriveConfig
	log     *slog.Logger
	metrics *Metrics
}

// NewRedriver returns a re-driver of subs' deliveries that enqueues with q and asks
// asynq about tasks through rdb (asynq's Redis).
func NewRedriver(db *pgxpool.Pool, q Enqueuer, rdb redis.UniversalClient, subs []Subscription, cfg RedriveConfig, log *slog.Logger, m *Metrics) *Redriver {
	if cfg.After <= 0 {
		cfg.After = time.Minute
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.Every <= 0 {
		cfg.Every = cfg.After / 2
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
	routes := map[events.Topic]map[string]Subscription{}
	var queues []any
	var names []string
	for _, s := range subs {
		if s.Batched() {
			continue // the dispatcher claims these from the delivery table itself
		}
		if !slices.Contains(names, s.Subscriber) {
			names = append(names, s.Subscriber)
		}
		if routes[s.Topic] == nil {
			routes[s.Topic] = map[string]Subscription{}
		}
		routes[s.Topic][s.Subscriber] = s
		if !slices.Contains(queues, any(s.queue())) {
			queues = append(queues, s.queue())
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Redriver{q: platformdb.New(db), tasks: q, rdb: rdb, inspect: asynq.NewInspectorFromRedisClient(rdb), queues: queues,
		subs: routes, names: names, cfg: cfg, log: log, metrics: m}
}

// asynqQueuesKey is asynq's set of queue names (internal/base.AllQueues). Its inspector
// answers "queue not found" for a queue missing there, whatever the queue holds, and an
// asynq client adds a queue to it once per process: after Redis lost its data, the set
// stays without the queues of long-running clients. The re-driver puts ours back before
// every pass, so that "not found" means a lost task (and the dashboard sees the queues).
const asynqQueuesKey = "asynq:queues"

// RedriveResult counts one pass.
type RedriveResult struct {
	Checked  int // deliveries not done past the lease, looked up in asynq
	Redriven int // of those, enqueued again because asynq no longer had their task
	Dead     int // of those, archived by asynq after its last retry (left alone)
}

// Run re-drives every Every until ctx ends.
func (r *Redriver) Run(ctx context.Context) error {
	for {
		res, err := r.RedriveOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.log.ErrorContext(ctx, "outbox re-drive failed", "err", err)
		} else if res.Redriven > 0 {
			r.log.WarnContext(ctx, "outbox deliveries re-driven (asynq had lost them)", "redriven", res.Redriven, "checked", res.Checked)
		}
		sleepCtx(ctx, r.cfg.Every)
		if ctx.Err() != nil {
			return nil
		}
	}
}

// RedriveOnce makes one pass over the deliveries not done a lease after their enqueue
// or the last look (by the database's clock); a delivery it looks at is not looked at
// again before another lease has passed.
func (r *Redriver) RedriveOnce(ctx context.Context) (RedriveResult, error) {
	var res RedriveResult
	if len(r.queues) > 0 {
		if err := r.rdb.SAdd(ctx, asynqQueuesKey, r.queues...).Err(); err != nil {
			return res, fmt.Errorf("outbox: re-drive: register queues: %w", err)
		}
	}
	cutoff, err := r.q.RedriveCutoff(ctx, r.cfg.After.Milliseconds())
	if err != nil {
		return res, fmt.Errorf("outbox: re-drive: %w", err)
	}
	for {
		rows, err := r.q.ClaimUndelivered(ctx, platformdb.ClaimUndeliveredParams{Cutoff: cutoff, BatchSize: int32(r.cfg.BatchSize), Subscribers: r.names})
		if err != nil {
			return res, fmt.Errorf("outbox: re-drive: claim: %w", err)
		}
		outcomes := make([]redriveOutcome, len(rows))
		errs := make([]error, len(rows))
		var wg sync.WaitGroup
		next := make(chan int)
		for range min(r.cfg.Parallel, len(rows)) {
			wg.Go(func() {
				for i := range next {
					outcomes[i], errs[i] = r.redrive(ctx, rows[i])
				}
			})
		}
		for i := range rows {
			next <- i
		}
		close(next)
		wg.Wait()
		res.Checked += len(rows)
		for _, o := range outcomes {
			switch o {
			case redriven:
				res.Redriven++
				if r.metrics != nil {
					r.metrics.redriven.Inc()
				}
			case dead:
				res.Dead++
			}
		}
		if err := errors.Join(errs...); err != nil {
			return res, err
		}
		if len(rows) < r.cfg.BatchSize {
			return res, nil
		}
	}
}

type redriveOutcome int

const (
	alive redriveOutcome = iota // asynq has the task: waiting, running or retrying
	redriven
	dead
)

// redrive looks up one delivery's current task and enqueues it again when asynq has lost
// it (or finished it without the delivery being recorded done).
func (r *Redriver) redrive(ctx context.Context, d platformdb.ClaimUndeliveredRow) (redriveOutcome, error) {
	s, ok := r.subs[events.Topic(d.Topic)][d.Subscriber]
	if !ok {
		// The subscription is gone from this build: nothing to deliver to. It stays
		// undelivered (visible in the metrics) for a build that has it.
		r.log.WarnContext(ctx, "outbox delivery to an unknown subscriber", "event", d.EventID, "subscriber", d.Subscriber, "topic", d.Topic)
		return alive, nil
	}
	id := d.EventID.String()
	taskID := RedriveTaskID(id, d.Subscriber, int(d.Attempts))
	if d.Attempts <= 1 && d.Task != uuid.Nil {
		taskID = TaskID(d.Task.String(), d.Subscriber) // the relay's task of many events
	}
	info, err := r.inspect.GetTaskInfo(s.queue(), taskID)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		// Lost: Redis lost its data (or the task outlived its retention undone).
	case err != nil:
		return alive, fmt.Errorf("outbox: re-drive: look up %s for %s: %w", id, d.Subscriber, err)
	case info.State == asynq.TaskStateArchived:
		return dead, nil
	case info.State != asynq.TaskStateCompleted:
		return alive, nil
	default:
		// Completed since the claim read the row, most likely: then it is done by now.
		done, err := r.q.DeliveryDone(ctx, platformdb.DeliveryDoneParams{EventID: d.EventID, Subscriber: d.Subscriber})
		if err != nil {
			return alive, fmt.Errorf("outbox: re-drive: %w", err)
		}
		if done {
			return alive, nil
		}
	}
	body, err := envelope(d.EventID, events.Topic(d.Topic), d.AggregateKey, d.CreatedAt, d.RequestID, d.Payload)
	if err != nil {
		return alive, err
	}
	attempt := int(d.Attempts) + 1
	err = enqueueTask(ctx, r.tasks, s, body, RedriveTaskID(id, d.Subscriber, attempt), r.cfg.Retention, r.cfg.MaxRetry)
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) { // a conflict: a re-driver that died before recording it
		return alive, fmt.Errorf("outbox: re-drive %s for %s: %w", id, d.Subscriber, err)
	}
	if err := r.q.SetDeliveryAttempts(ctx, platformdb.SetDeliveryAttemptsParams{
		EventID: d.EventID, Subscriber: d.Subscriber, Attempts: int32(attempt)}); err != nil {
		return alive, fmt.Errorf("outbox: re-drive %s for %s: %w", id, d.Subscriber, err)
	}
	return redriven, nil
}
