package billing

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// Schedule is when billing's scheduled money work acts on an order or a refund.
type Schedule struct {
	// PayingAfter: an order still paying this long after it was placed is asked
	// about at WeChat (its notification may be lost) [10 minutes].
	PayingAfter time.Duration
	// OrderTTL: an order not paid this long after it was placed is closed, at
	// WeChat first [2 hours, WeChat's own default life of a JSAPI order].
	OrderTTL time.Duration
	// RefundRetryAfter: a refund WeChat never answered is retried (same
	// out_refund_no) once it is this old [1 minute]; RefundAttempts calls in all,
	// then it is cancelled, which frees its amount [5].
	RefundRetryAfter time.Duration
	RefundAttempts   int
	// FollowAfter: a refund WeChat took (PROCESSING) or could not pay back
	// (ABNORMAL) is asked about once it is this old, until it settles [5 minutes].
	FollowAfter time.Duration
	// Batch bounds the orders or refunds one task looks at [500]; the next run takes the rest.
	Batch int
}

func (c Schedule) withDefaults() Schedule {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.PayingAfter, 10*time.Minute)
	def(&c.OrderTTL, 2*time.Hour)
	def(&c.RefundRetryAfter, time.Minute)
	def(&c.FollowAfter, 5*time.Minute)
	if c.RefundAttempts <= 0 {
		c.RefundAttempts = 5
	}
	if c.Batch <= 0 {
		c.Batch = 500
	}
	return c
}

// Task types of billing's scheduled work.
const (
	TaskSweepPaying   = "billing:sweep-paying"
	TaskCloseExpired  = "billing:close-expired"
	TaskRetryRefunds  = "billing:retry-refunds"
	TaskFollowRefunds = "billing:follow-refunds"
)

// Tasks are billing's scheduled money work. Each is unique per period (two
// schedulers for a moment enqueue it once) and safe to run twice: every step locks
// its order or refund and acts only on the state it finds.
func (s *Service) Tasks() []domain.Task {
	every := func(typ, cron string, period time.Duration, help string, run func(context.Context) (int, error)) domain.Task {
		return domain.Task{Type: typ, Cron: cron, Unique: period, Queue: "critical", Help: help,
			Handle: func(ctx context.Context, _ []byte) error {
				n, err := run(ctx)
				if n > 0 {
					s.log.InfoContext(ctx, "billing: scheduled work", "task", typ, "acted_on", n)
				}
				return err
			}}
	}
	return []domain.Task{
		every(TaskSweepPaying, "@every 5m", 5*time.Minute,
			"ask WeChat about orders still paying after 10 minutes and apply what it says", s.SweepPaying),
		every(TaskCloseExpired, "@every 5m", 5*time.Minute,
			"close orders unpaid 2 hours after they were placed (at WeChat first; one paid meanwhile is applied)", s.CloseExpired),
		every(TaskRetryRefunds, "@every 5m", 5*time.Minute,
			"retry refunds WeChat never answered (same out_refund_no), cancel them after 5 calls", s.RetryRefunds),
		every(TaskFollowRefunds, "@every 10m", 10*time.Minute,
			"ask WeChat about PROCESSING and ABNORMAL refunds until they settle", s.FollowRefunds),
	}
}

// SweepPaying asks WeChat about every order left paying for Schedule.PayingAfter
// and applies a payment it reports, as the lost notification would have. It
// returns how many it found paid.
func (s *Service) SweepPaying(ctx context.Context) (int, error) {
	rows, err := billingdb.New(s.db).ListStaleOrders(ctx, billingdb.ListStaleOrdersParams{State: string(StatePaying),
		Before: s.now().Add(-s.cfg.Schedule.PayingAfter), Lim: int32(s.cfg.Schedule.Batch)})
	if err != nil {
		return 0, wrap("sweep paying", err)
	}
	var paid int
	var errsSeen []error
	for _, o := range rows {
		ok, err := s.QueryAndApply(ctx, o.OrderNo)
		switch {
		case err != nil && errs.KindOf(err) != errs.KindNotFound: // never prepaid at WeChat: nothing to apply
			errsSeen = append(errsSeen, err)
		case ok:
			paid++
		}
	}
	return paid, errors.Join(errsSeen...)
}

// CloseExpired closes the orders not paid Schedule.OrderTTL after they were
// placed. It returns how many it closed.
func (s *Service) CloseExpired(ctx context.Context) (int, error) {
	var closed int
	var errsSeen []error
	for _, st := range []State{StateCreated, StatePaying} {
		rows, err := billingdb.New(s.db).ListStaleOrders(ctx, billingdb.ListStaleOrdersParams{State: string(st),
			Before: s.now().Add(-s.cfg.Schedule.OrderTTL), Lim: int32(s.cfg.Schedule.Batch)})
		if err != nil {
			return closed, wrap("close expired", err)
		}
		for _, o := range rows {
			if err := s.closeUnpaid(ctx, o.ID, o.OrderNo, st, "expired"); err != nil {
				errsSeen = append(errsSeen, err)
				continue
			}
			closed++
		}
	}
	return closed, errors.Join(errsSeen...)
}

// closeUnpaid closes an unpaid order: at WeChat first when it is paying, so that it
// cannot be paid after. When WeChat answers that it was paid meanwhile, the payment
// is applied instead (queried, as its notification would) and nothing is closed.
func (s *Service) closeUnpaid(ctx context.Context, id uuid.UUID, orderNo string, seen State, cause string) error {
	if seen == StatePaying {
		err := s.pay.CloseOrder(ctx, orderNo)
		switch {
		case errs.Is(err, wxpay.CodeOrderPaid):
			if _, err := s.QueryAndApply(ctx, orderNo); err != nil {
				return err
			}
			return nil
		case errs.Is(err, wxpay.CodeOrderNotExist), errs.Is(err, wxpay.CodeOrderClosed):
			// never prepaid at WeChat, or closed there already: close ours
		case err != nil:
			return fmt.Errorf("billing: close %s at WeChat Pay: %w", orderNo, err)
		}
	}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		row, err := q.LockOrder(ctx, id)
		if err != nil {
			return err
		}
		switch State(row.State) {
		case StateClosed:
			return nil
		case StateCreated, StatePaying:
		default: // paid meanwhile (its notification came first): nothing to close
			return nil
		}
		now := s.now()
		if err := s.move(ctx, q, row, StateClosed, cause, moveOpts{closedAt: &now}); err != nil {
			return err
		}
		_, err = outbox.Publish(ctx, tx, events.TopicOrderClosed, row.ID.String(), events.OrderClosed{OrderID: row.ID,
			OrderNo: row.OrderNo, ConsumerID: row.ConsumerID, MerchantID: row.MerchantID, Cause: cause, ClosedAt: now})
		return err
	})
	return wrap("close", err)
}

// RetryRefunds takes the refunds WeChat never answered (still requested after
// Schedule.RefundRetryAfter). Each is first looked up at WeChat by its
// out_refund_no: one WeChat has is applied as it stands; one it does not have is
// sent again, until Schedule.RefundAttempts calls, then cancelled (rejected, which
// frees its amount). It returns how many it settled one way or the other.
func (s *Service) RetryRefunds(ctx context.Context) (int, error) {
	q := billingdb.New(s.db)
	rows, err := q.ListOpenRefunds(ctx, billingdb.ListOpenRefundsParams{State: RefundRequested,
		Before: s.now().Add(-s.cfg.Schedule.RefundRetryAfter), Lim: int32(s.cfg.Schedule.Batch)})
	if err != nil {
		return 0, wrap("retry refunds", err)
	}
	var n int
	var errsSeen []error
	for _, ref := range rows {
		wr, err := s.pay.QueryRefund(ctx, ref.OutRefundNo)
		switch {
		case err == nil:
			if _, err := s.applyRefundReport(ctx, nil, wr); err != nil {
				errsSeen = append(errsSeen, err)
				continue
			}
			n++
			continue
		case errs.KindOf(err) != errs.KindNotFound:
			errsSeen = append(errsSeen, fmt.Errorf("billing: query refund %s: %w", ref.OutRefundNo, err))
			continue
		}
		// WeChat has no such refund: it never took it.
		if int(ref.Attempts) >= s.cfg.Schedule.RefundAttempts {
			msg := fmt.Sprintf("cancelled: WeChat Pay did not take it in %d attempts (last: %s)", ref.Attempts, ref.LastError)
			if _, err := q.RejectRefund(ctx, billingdb.RejectRefundParams{ID: ref.ID, LastError: msg, At: optTime(s.now())}); err != nil {
				errsSeen = append(errsSeen, wrap("cancel refund", err))
				continue
			}
			n++
			continue
		}
		o, err := q.GetOrder(ctx, ref.OrderID)
		if err != nil {
			errsSeen = append(errsSeen, wrap("retry refund", err))
			continue
		}
		// A refusal rejects it (sendRefund logs why); no answer leaves it for the next
		// run, which is not an error of this one (asynq would only hurry the attempts).
		if reached, err := s.sendRefund(ctx, ref, o, 1); reached {
			n++
		} else if err != nil {
			errsSeen = append(errsSeen, err)
		}
	}
	return n, errors.Join(errsSeen...)
}

// FollowRefunds asks WeChat about the refunds it took and has not settled
// (PROCESSING) or could not pay back (ABNORMAL), and applies what it says: an
// ABNORMAL refund WeChat later pays is applied as a success. It returns how many
// changed.
func (s *Service) FollowRefunds(ctx context.Context) (int, error) {
	var n int
	var errsSeen []error
	for _, st := range []string{RefundProcessing, RefundAbnormal} {
		rows, err := billingdb.New(s.db).ListOpenRefunds(ctx, billingdb.ListOpenRefundsParams{State: st,
			Before: s.now().Add(-s.cfg.Schedule.FollowAfter), Lim: int32(s.cfg.Schedule.Batch)})
		if err != nil {
			return n, wrap("follow refunds", err)
		}
		for _, ref := range rows {
			wr, err := s.pay.QueryRefund(ctx, ref.OutRefundNo)
			if err != nil {
				errsSeen = append(errsSeen, fmt.Errorf("billing: query refund %s: %w", ref.OutRefundNo, err))
				continue
			}
			r, err := s.applyRefundReport(ctx, nil, wr)
			if err != nil {
				errsSeen = append(errsSeen, err)
			} else if r.outcome == OutcomeApplied {
				n++
			}
		}
	}
	return n, errors.Join(errsSeen...)
}
