package consumer

import (
	"context"
	"sync"

	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// relayWaker wakes the outbox relays for the one-statement credits and redemptions,
// which write their event themselves and have committed by the time they ask. Instead
// of a notification per change on the caller's path (a round trip each, and each a
// turn on PostgreSQL's notify lock), a change only marks that a wake-up is due and
// returns; one goroutine sends the notifications, one at a time, and sends another
// while changes committed during the last one. Every change is thus followed by a
// notification sent after its commit, as outbox.Wake promises; the relays, which
// coalesce wake-ups anyway, see no difference. A wake-up is a hint: one lost in a
// crash costs the relays one poll.
type relayWaker struct {
	db pg.Execer

	mu      sync.Mutex
	sending bool // a goroutine is sending
	due     bool // a change committed after the sender's last notification began
}

// wake asks for a notification sent after now; it never waits for one.
func (w *relayWaker) wake(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sending {
		w.due = true
		return
	}
	w.sending = true
	go w.send(context.WithoutCancel(ctx))
}

func (w *relayWaker) send(ctx context.Context) {
	for {
		_ = outbox.Wake(ctx, nil, w.db) // a failed wake-up costs the relays one poll
		w.mu.Lock()
		if !w.due {
			w.sending = false
			w.mu.Unlock()
			return
		}
		w.due = false
		w.mu.Unlock()
	}
}
