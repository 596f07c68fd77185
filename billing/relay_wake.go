package billing

import (
	"context"
	"sync"
	"time"

	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// relayWakeWindow is how long a wake-up of the outbox relays waits for other
// commits to share it. The relay gathers for longer than that after a wake-up
// (shared/outbox), so the wait costs no latency worth the name, and at 1,000
// payments a second it spares four wake-ups in five: each a round trip and a
// transaction of its own.
const relayWakeWindow = 5 * time.Millisecond

// relayWaker wakes the outbox relays after the commits of applyNotifiedPayment: one
// wake-up (outbox.Wake) within relayWakeWindow for every commit asked about in the
// meantime. A commit asked about is always followed by a wake-up sent after it; as
// with every wake-up, one lost costs the relays a poll, never an event.
type relayWaker struct {
	db      pg.Execer
	mu      sync.Mutex
	pending bool // a wake-up is scheduled and not yet sent
}

// wake has the relays woken within relayWakeWindow, after the caller's commit.
func (w *relayWaker) wake(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending {
		return
	}
	w.pending = true
	ctx = context.WithoutCancel(ctx)
	time.AfterFunc(relayWakeWindow, func() {
		w.mu.Lock()
		w.pending = false
		w.mu.Unlock()
		_ = outbox.Wake(ctx, nil, w.db)
	})
}
