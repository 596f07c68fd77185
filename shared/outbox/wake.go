package outbox

import (
	"context"
	"fmt"
	"sync"
	"time"

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

// WakeWindow is how long a Waker lets commits gather before it wakes the relays: the
// relays gather for longer than that after a wake-up, so the wait costs no latency
// worth the name, and under load one notification covers the commits of the window
// instead of each commit paying a round trip and a turn on PostgreSQL's notify lock.
const WakeWindow = 5 * time.Millisecond

// Waker wakes the relays after the commits of one-statement changes that wrote their
// own events (as Wake with tx nil does), off the caller's path: a caller marks a
// wake-up due and returns, and one goroutine sends a notification WakeWindow later,
// then another while changes committed during the last. Every change is thus followed
// by a notification sent after its commit, as Wake promises. A wake-up is a hint: one
// lost in a crash costs the relays one poll, never an event.
type Waker struct {
	db pg.Execer

	mu      sync.Mutex
	sending bool // a goroutine is sending
	due     bool // a change committed after the sender's last notification began
}

// NewWaker returns a Waker that notifies on db.
func NewWaker(db pg.Execer) *Waker { return &Waker{db: db} }

// Wake asks for a notification sent after now; it never waits for one. Call it after
// the change has committed. A nil Waker (a service built without a database) does
// nothing.
func (w *Waker) Wake(ctx context.Context) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sending {
		w.due = true
		return
	}
	w.sending = true
	go w.send(context.WithoutCancel(ctx))
}

func (w *Waker) send(ctx context.Context) {
	for {
		time.Sleep(WakeWindow) // let the commits of the window share the notification
		w.mu.Lock()
		w.due = false // the notification below is sent after every change so far
		w.mu.Unlock()
		wakeRelays(ctx, w.db)
		w.mu.Lock()
		if !w.due {
			w.sending = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}
