package outbox

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// notifier is a database that counts notifications and holds each until released.
type notifier struct {
	started chan struct{}
	release chan struct{}
	mu      sync.Mutex
	sent    int
}

func (n *notifier) Exec(_ context.Context, sql string, _ ...any) (pgconn.CommandTag, error) {
	if !strings.Contains(sql, "pg_notify") {
		panic("not a notification: " + sql)
	}
	n.started <- struct{}{}
	<-n.release
	n.mu.Lock()
	n.sent++
	n.mu.Unlock()
	return pgconn.CommandTag{}, nil
}

// Changes that commit while a notification is on its way get one more, sent after
// them; a change never waits for one; and a change after a quiet spell gets its own.
func TestWakerSendsOneNotificationAfterEveryChange(t *testing.T) {
	t.Parallel()
	db := &notifier{started: make(chan struct{}), release: make(chan struct{})}
	w := NewWaker(db)
	ctx := context.Background()
	awaitStart := func() {
		t.Helper()
		select {
		case <-db.started:
		case <-time.After(10 * time.Second):
			t.Fatal("no notification was sent")
		}
	}
	w.Wake(ctx) // returns although the notification is held
	awaitStart()
	for range 50 { // committed while the first is on its way
		w.Wake(ctx)
	}
	db.release <- struct{}{}
	awaitStart() // one more, started after all 50
	db.release <- struct{}{}
	for { // the sender stops once nothing is due
		w.mu.Lock()
		sending := w.sending
		w.mu.Unlock()
		if !sending {
			break
		}
		select {
		case <-db.started:
			t.Fatal("a third notification for changes the second covered")
		case <-time.After(time.Millisecond):
		}
	}
	db.mu.Lock()
	sent := db.sent
	db.mu.Unlock()
	if sent != 2 {
		t.Fatalf("%d notifications for 51 changes, want 2", sent)
	}
	w.Wake(ctx) // after a quiet spell
	awaitStart()
	db.release <- struct{}{}
}
