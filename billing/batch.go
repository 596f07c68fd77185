package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// writeBatch gathers billingdb's writes to send them to PostgreSQL together, in one
// round trip, where each would otherwise wait for its own answer (a payment's apply
// is ten writes: its round trips, not PostgreSQL's work, were most of its time).
// It is a billingdb.DBTX that only queues: every write queued must change exactly
// one row, so Exec answers "1 row" at once and send checks it, failing the whole
// transaction when one changed none (an order that left its state under its lock,
// a ledger entry already booked). Reads cannot be queued: they go to the
// transaction itself, and see none of the queued writes until send.
type writeBatch struct {
	b pgx.Batch
	// rows is what each queued write must change when not one (a write of many
	// rows at once, ApplyPayments).
	rows int64
}

// oneRow is what a queued write answers before it has run.
var oneRow = pgconn.NewCommandTag("QUEUED 1")

var errQueuedRead = errors.New("billing: a read cannot be queued in a write batch")

func (w *writeBatch) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	n := w.b.Len()
	w.b.Queue(sql, args...).Exec(func(ct pgconn.CommandTag) error {
		if want := max(w.rows, 1); ct.RowsAffected() != want {
			return fmt.Errorf("billing: queued write %d (%s) changed %d rows, not %d", n+1, ct, ct.RowsAffected(), want)
		}
		return nil
	})
	return oneRow, nil
}

func (w *writeBatch) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errQueuedRead
}

func (w *writeBatch) QueryRow(context.Context, string, ...any) pgx.Row { return errRow{} }

type errRow struct{}

func (errRow) Scan(...any) error { return errQueuedRead }

// send runs the queued writes in tx, in the order queued, and checks each.
func (w *writeBatch) send(ctx context.Context, tx pgx.Tx) error {
	if w.b.Len() == 0 {
		return nil
	}
	err := tx.SendBatch(ctx, &w.b).Close()
	w.b = pgx.Batch{}
	return err
}
