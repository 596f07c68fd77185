package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// lockOrderSQL is LockOrderByNo (queries/billing.sql) written out, to be sent behind
// BEGIN in one round trip: sqlc's methods wait for each statement's answer.
const lockOrderSQL = `SELECT * FROM billing.orders WHERE order_no = $1 FOR UPDATE`

// applyNotifiedPayment is a payment notification's usual case, a genuine payment of
// an order that awaits it, in three round trips where pg.InTx and applyPayment take
// six: BEGIN goes with the order's lock; the rate of the day is asked (the merchant
// port); ApplyPayment and the log go with COMMIT. COMMIT need not wait for their
// answers, because ApplyPayment fails rather than write half, and after an error
// PostgreSQL skips the rest of the round trip, COMMIT included. The 204 still waits
// for the durable commit's answer. Anything else (no such order, a mismatch, an
// order not awaiting payment, a repeat among them, an error PostgreSQL asks to
// retry) rolls back, with nothing written, and returns false: applyPayment judges
// it as for every other notification. The outbox relays are woken within a few
// milliseconds, once for the commits made meanwhile (outbox.Waker).
func (s *Service) applyNotifiedPayment(ctx context.Context, n *wxpay.Notification) (applied bool, err error) {
	t := n.Payment
	conn, err := s.db.Acquire(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		// Begun and not committed: undo it (a connection left in a transaction would be
		// closed by the pool instead of reused).
		if status := conn.Conn().PgConn().TxStatus(); status == 'T' || status == 'E' {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		conn.Release()
	}()

	var b pgx.Batch
	b.Queue("BEGIN")
	var o billingdb.BillingOrder
	found := false
	b.Queue(lockOrderSQL, t.OutTradeNo).Query(func(rows pgx.Rows) error {
		var err error
		o, err = pgx.CollectExactlyOneRow(rows, pgx.RowToStructByPos[billingdb.BillingOrder])
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	})
	if err := conn.SendBatch(ctx, &b).Close(); err != nil {
		return false, retryElsewhere(err)
	}
	if !found || len(paymentDiffs(t, o)) > 0 || !CanMove(State(o.State), StatePaid) {
		return false, nil
	}

	p, err := s.paymentWrites(ctx, o, t, sourceNotification)
	if err != nil {
		return false, err
	}
	var w writeBatch
	if _, err := billingdb.New(&w).ApplyPayment(ctx, p); err != nil {
		return false, err
	}
	if err := s.record(ctx, nil, &w, n, result{outcome: OutcomeApplied}, t.OutTradeNo, ""); err != nil {
		return false, err
	}
	w.b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		if ct.String() != "COMMIT" {
			return fmt.Errorf("billing: payment of %s not committed (%s)", t.OutTradeNo, ct)
		}
		return nil
	})
	if err := conn.SendBatch(ctx, &w.b).Close(); err != nil {
		return false, retryElsewhere(err)
	}
	s.relays.Wake(ctx)
	return true, nil
}

// retryElsewhere is nil for an error PostgreSQL asks to retry (a deadlock, a
// serialization failure): the general path, which retries, takes the notification.
func retryElsewhere(err error) error {
	if pg.IsRetryable(err) {
		return nil
	}
	return err
}
