package consumer

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Task types of the points jobs.
const (
	TaskPointsRelease = "consumer:points_release"
	TaskPointsExpire  = "consumer:points_expire"
	TaskTierEvaluate  = "consumer:tier_evaluate"
	TaskPointsRemind  = "consumer:points_remind"
	TaskTierNotice    = "consumer:tier_notice"
)

// jobBatch is how many members one transaction of a job covers.
const jobBatch = 2000

func (s *Service) tasks() []domain.Task {
	return []domain.Task{
		{Type: TaskPointsRemind, Cron: "0 10 * * *", Unique: time.Hour, Queue: "low",
			Help:   "Tell members whose points expire within the reminder window, once per lot",
			Handle: func(ctx context.Context, _ []byte) error { _, err := s.RemindExpiring(ctx); return err }},
		{Type: TaskTierEvaluate, Cron: "10 0 * * *", Unique: time.Hour, Queue: "low",
			Help:   "End the tier evaluation periods that are over: retain or downgrade",
			Handle: func(ctx context.Context, _ []byte) error { _, err := s.EvaluatePeriods(ctx); return err }},
		{Type: TaskTierNotice, Cron: "30 10 * * *", Unique: time.Hour, Queue: "low",
			Help:   "Tell members whose tier will drop at their period's end, once per period",
			Handle: func(ctx context.Context, _ []byte) error { _, err := s.NoticeDrops(ctx); return err }},
		{Type: TaskPointsRelease, Cron: "@every 10m", Unique: 10 * time.Minute, Queue: "low",
			Help:   "Make pending points whose refund window has passed spendable",
			Handle: func(ctx context.Context, _ []byte) error { _, err := s.ReleasePending(ctx); return err }},
		{Type: TaskPointsExpire, Cron: "@hourly", Unique: time.Hour, Queue: "low",
			Help:   "Expire what remains of points lots past their expiry",
			Handle: func(ctx context.Context, _ []byte) error { _, err := s.ExpireLots(ctx); return err }},
	}
}

// JobResult is what a run of a points job did.
type JobResult struct {
	Members int   `json:"members"`
	Points  int64 `json:"points"`
}

// ReleasePending makes pending lots whose refund window has passed spendable, and
// from then on they count toward tiers. Idempotent: a lot is released once whatever
// the number of runs, and concurrent runs lock the same member rows in the same order.
func (s *Service) ReleasePending(ctx context.Context) (JobResult, error) {
	var res JobResult
	now := s.now()
	after := uuid.Nil
	for {
		var last uuid.UUID
		var n int
		err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
			q := consumerdb.New(tx)
			ids, err := q.ReleasableConsumers(ctx, consumerdb.ReleasableConsumersParams{Now: now, After: after, Lim: jobBatch})
			if err != nil || len(ids) == 0 {
				return err
			}
			n, last = len(ids), ids[len(ids)-1]
			rows, err := q.ReleaseLots(ctx, consumerdb.ReleaseLotsParams{Consumers: ids, Now: now})
			if err != nil {
				return err
			}
			m := consumerdb.MoveBatchParams{At: now}
			for _, r := range rows {
				m.Consumers = append(m.Consumers, r.ConsumerID)
				m.Balance = append(m.Balance, r.Remaining)
				m.Pending = append(m.Pending, -r.Remaining)
				m.Earned = append(m.Earned, r.Counted)
				res.Members++
				res.Points += r.Remaining
			}
			if err := q.MoveBatch(ctx, m); err != nil {
				return err
			}
			if err := s.publishBalances(ctx, q, m.Consumers); err != nil {
				return err
			}
			for _, r := range rows { // released lots count toward tiers now
				if err := s.addMetric(ctx, q, r.ConsumerID, r.Growth, r.Counted); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return res, wrap("release pending points", err)
		}
		if n < jobBatch {
			return res, nil
		}
		after = last
	}
}

// RemindExpiring publishes consumer.points_expiring for every member with points
// expiring within the program's reminder window that no reminder has named yet: once
// per lot, however often it runs (the lot is marked in the same transaction).
func (s *Service) RemindExpiring(ctx context.Context) (JobResult, error) {
	var res JobResult
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		res = JobResult{}
		q := consumerdb.New(tx)
		prog, err := s.program(ctx, q)
		if err != nil || prog.RemindDays == 0 {
			return err
		}
		now := s.now()
		rows, err := q.MarkReminders(ctx, consumerdb.MarkRemindersParams{Now: &now, Horizon: now.AddDate(0, 0, prog.RemindDays)})
		if err != nil {
			return err
		}
		for _, r := range rows {
			if _, err := outbox.Publish(ctx, tx, events.TopicPointsExpiring, r.ConsumerID.String(), events.PointsExpiring{
				ConsumerID: r.ConsumerID, Points: r.Points, FirstExpiry: r.FirstExpiry, LastDay: lastDay(r.FirstExpiry)}); err != nil {
				return err
			}
			res.Members++
			res.Points += r.Points
		}
		return nil
	})
	return res, wrap("remind expiring points", err)
}
