package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// Queues and their weights: finance work first, then domain events, then the rest.
var queueWeights = map[string]int{"critical": 6, "default": 3, "low": 1}

// platformTasks are the platform's own scheduled tasks, beside the domains'.
func (a *app) platformTasks() []domain.Task {
	return []domain.Task{{Type: "platform:cleanup", Cron: "@hourly", Queue: "low", Unique: time.Hour,
		Help:   "delete outbox rows sent over 7 days ago and idempotency keys past their 24 h",
		Handle: func(ctx context.Context, _ []byte) error { return a.cleanup(ctx) }}}
}

// tasks are every background task of this process: the platform's and each domain's.
func (a *app) tasks() []domain.Task { return append(a.platformTasks(), a.registry().Tasks()...) }

// workerHelp is `tandem worker --help`; TestWorkerHelpListsTheScheduledTasks keeps its
// list of scheduled tasks equal to what is registered.
const workerHelp = `Runs the background side of Tandem:
  worker     the asynq server (every task handler), the outbox relay and its
             re-driver (re-enqueues what Redis lost; see 'tandem outbox redrive'),
             and the dispatcher (database-only subscribers, in batches)
  scheduler  the asynq scheduler (the periodic tasks below)
  all        both (the default)
Handlers and relays are safe in any number of replicas (relays share rows with
FOR UPDATE SKIP LOCKED and leases). Periodic tasks carry a per-period task id, so a
second scheduler for a moment (a rolling update) enqueues nothing twice.

Periodic tasks (schedule in Asia/Shanghai):
  platform:cleanup         @hourly      delete outbox rows sent over 7 days ago and done by every subscriber, and idempotency keys past their 24 h
  billing:sweep-paying     @every 5m    ask WeChat about orders still paying after 10 minutes and apply what it says
  billing:close-expired    @every 5m    close orders unpaid 2 hours after they were placed (at WeChat first; one paid meanwhile is applied)
  billing:retry-refunds    @every 5m    retry refunds WeChat never answered (same out_refund_no), cancel them after 5 calls
  billing:follow-refunds   @every 10m   ask WeChat about PROCESSING and ABNORMAL refunds until they settle
  reconciliation:daily     5,35 10-23 * * *   reconcile yesterday's bill of every merchant account (again every 30 min while WeChat is making it)
  matching:rebuild         30 3 * * *   recompute co-purchase pairs and every consumer's recommendations
  merchant:applyments      @every 1m    mirror the states of onboarding applications at WeChat Pay; finished and approved shops go live
  merchant:reclaim         @every 30m   return held leads to their pools by the pools' reclaim rules; remind owners before, once
  merchant:imports         @every 1m    take up lead imports whose runner died (queued ones start at once through merchant.import_queued)
  merchant:visit-reminders @every 1m    send the reminders of planned visits that are due: a to-do and a notification to the rep
  merchant:contracts-expiry @every 1h   end contracts past their last day: the merchant stops being live, merchant.contract_ended is published
  consumer:points_release  @every 10m   make pending points whose refund window has passed spendable
  consumer:points_expire   @hourly      expire what remains of points lots past their expiry
  consumer:points_remind   0 10 * * *   tell members whose points expire within the reminder window, once per lot
  consumer:tier_evaluate   10 0 * * *   end the tier evaluation periods that are over: retain or downgrade
  consumer:tier_notice     30 10 * * *  tell members whose tier will drop at their period's end, once per period
  marketing:campaigns         @every 5s    start the campaign runs that are due and send the runs no sender holds
  marketing:index_snapshot    @every 10m   write the segment index's snapshot to PostgreSQL and prune its change log
  marketing:referral_rewards  @every 1h    reward both sides of referrals whose first order survived the refund window
  marketing:rfm               30 2 * * *   score every member's recency, frequency and monetary value
  marketing:triggers          @every 1m    start runs of triggered campaigns (birthday, first order, lapse, tier change)
`

func workerCmd() *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run background work: asynq task handlers, the outbox relay and the scheduler",
		Long:  workerHelp,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if role != "all" && role != "worker" && role != "scheduler" {
				return fmt.Errorf("--role=%q: want worker, scheduler or all", role)
			}
			a, err := openWithPayments(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			return a.runBackground(cmd.Context(), role)
		},
	}
	cmd.Flags().StringVar(&role, "role", "all", "what to run: worker, scheduler or all")
	return cmd
}

// runBackground runs the parts of the worker named by role until ctx ends.
func (a *app) runBackground(ctx context.Context, role string) error {
	g, ctx := errgroup.WithContext(ctx)
	if role == "all" || role == "worker" {
		subs := a.subscriptions()
		srv := asynq.NewServer(a.queue, asynq.Config{
			Concurrency: a.cfg.WorkerConc,
			Queues:      queueWeights,
			// asynq's default (1 s) makes an idle worker notice a new task after ~0.5 s on
			// average; 10 ms brings that to a few ms for ~100 cheap Redis calls a second.
			TaskCheckInterval: a.cfg.WorkerPoll,
			ShutdownTimeout:   a.cfg.ShutdownTimeout,
			Logger:            asynqLogger{a.log},
			LogLevel:          asynq.WarnLevel,
			RetryDelayFunc:    retryDelay,
			ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
				a.log.ErrorContext(ctx, "task failed", "type", t.Type(), "err", err)
			}),
		})
		mux := asynq.NewServeMux()
		outbox.Register(mux, a.db, subs)
		for _, t := range a.tasks() {
			handle := t.Handle
			mux.HandleFunc(t.Type, func(ctx context.Context, task *asynq.Task) error { return handle(ctx, task.Payload()) })
		}
		if err := srv.Start(mux); err != nil {
			return fmt.Errorf("asynq server: %w", err)
		}
		g.Go(func() error {
			<-ctx.Done()
			srv.Shutdown()
			return nil
		})
		client, err := outbox.NewPipelinedClient(a.queue)
		if err != nil {
			return err
		}
		relay := outbox.NewRelay(a.db, client, subs, outbox.RelayConfig{Poll: a.cfg.RelayPoll}, a.log, a.outboxMetrics)
		redriver, closeRedriver := a.redriver(client, subs)
		dispatcher := a.dispatcher(subs)
		g.Go(func() error {
			defer client.Close()
			defer closeRedriver()
			rg, rctx := errgroup.WithContext(ctx)
			rg.Go(func() error { return relay.Run(rctx) })
			rg.Go(func() error { return redriver.Run(rctx) })
			rg.Go(func() error { return dispatcher.Run(rctx) })
			return rg.Wait()
		})
	}
	if role == "all" || role == "scheduler" {
		g.Go(func() error { return a.runScheduler(ctx) })
	}
	a.log.Info("worker running", "role", role, "concurrency", a.cfg.WorkerConc, "poll", a.cfg.WorkerPoll)
	return g.Wait()
}

// retryDelay is asynq's backoff, except for a task whose worker died under it (kill -9,
// a lost node): asynq finds it only when its lease has run out (30 s, looked at every
// minute), and it failed through no fault of its own, so it runs again at once.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if errors.Is(err, asynq.ErrLeaseExpired) {
		return time.Second
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

func (a *app) runScheduler(ctx context.Context) error {
	s := asynq.NewScheduler(a.queue, &asynq.SchedulerOpts{Location: clock.Shanghai, Logger: asynqLogger{a.log}, LogLevel: asynq.WarnLevel})
	for _, t := range a.tasks() {
		if t.Cron == "" {
			continue
		}
		queue := t.Queue
		if queue == "" {
			queue = "default"
		}
		unique := t.Unique
		if unique <= 0 {
			unique = time.Hour
		}
		// Unique per period: two schedulers for a moment enqueue the period's task once.
		if _, err := s.Register(t.Cron, asynq.NewTask(t.Type, nil), asynq.Queue(queue), asynq.Unique(unique)); err != nil {
			return fmt.Errorf("schedule %s (%s): %w", t.Type, t.Cron, err)
		}
	}
	if err := s.Start(); err != nil {
		return fmt.Errorf("asynq scheduler: %w", err)
	}
	<-ctx.Done()
	s.Shutdown()
	return nil
}

// redriver re-enqueues what asynq lost (see outbox.Redriver), through asynq's own Redis;
// the function it returns closes that connection.
func (a *app) redriver(client outbox.Enqueuer, subs []outbox.Subscription) (*outbox.Redriver, func()) {
	rdb := a.queue.MakeRedisClient().(redis.UniversalClient)
	r := outbox.NewRedriver(a.db, client, rdb, subs, outbox.RedriveConfig{After: a.cfg.RedriveAfter}, a.log, a.outboxMetrics)
	return r, func() { rdb.Close() }
}

// dispatcher delivers the database-only subscriptions in batches from the delivery
// table (see outbox.Dispatcher), polling as often as the relay.
func (a *app) dispatcher(subs []outbox.Subscription) *outbox.Dispatcher {
	return outbox.NewDispatcher(a.db, subs, outbox.DispatchConfig{Poll: a.cfg.RelayPoll}, a.log, a.outboxMetrics)
}

// cleanup deletes what has served its purpose: outbox rows sent over 7 days ago and
// done by every subscriber, their deliveries, and idempotency keys past their 24 h life.
func (a *app) cleanup(ctx context.Context) error {
	q := platformdb.New(a.db)
	if _, err := q.DeleteSentOutbox(ctx, (7 * 24 * time.Hour).Milliseconds()); err != nil {
		return err
	}
	if _, err := q.DeleteDoneDeliveries(ctx, (7 * 24 * time.Hour).Milliseconds()); err != nil {
		return err
	}
	_, err := q.DeleteOldIdempotencyKeys(ctx, (24 * time.Hour).Milliseconds())
	return err
}
