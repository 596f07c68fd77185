// Package outboxtest helps the tests of a domain's subscribers.
package outboxtest

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// ErrBatchDied is what RunBatch returns for a batch whose worker died before its commit.
var ErrBatchDied = errors.New("the batch's worker died")

// RunBatch runs sub's batch handler over es in one transaction, as the dispatcher runs a
// claimed batch. die: the worker dies after the handler ran and before the commit, so
// the transaction rolls back and RunBatch returns ErrBatchDied; a test then runs the
// batch again and checks that nothing is doubled.
func RunBatch(ctx context.Context, db pg.Beginner, sub outbox.Subscription, es []events.Envelope, die bool) error {
	return pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
		if err := sub.HandleBatchTx(ctx, tx, es); err != nil {
			return err
		}
		if die {
			return ErrBatchDied
		}
		return nil
	})
}
