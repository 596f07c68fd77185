package outbox

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/pg"
)

// Wake has the relays take events that a caller wrote with its own statement rather
// than through Publish (a one-statement change that writes its event in the same
// statement, to spare the round trips). In tx, the relays are woken once it has
// committed, as Publish does; with tx nil the statement has committed and they are
// woken now, on db.
func Wake(ctx context.Context, tx pgx.Tx, db pg.Execer) error {
	if tx == nil {
		wakeRelays(ctx, db)
		return nil
	}
	if pg.AfterCommit(tx, NotifyChannel, wakeRelays) {
		return nil
	}
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, '')", NotifyChannel); err != nil {
		return fmt.Errorf("outbox: notify: %w", err)
	}
	return nil
}
