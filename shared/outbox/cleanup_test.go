package outbox_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// v7At is a UUIDv7 of instant at, as Publish makes one then.
func v7At(at time.Time) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(at.UnixMilli()))
	copy(id[:6], ms[2:])
	return id
}

// The clean-up deletes events sent before the cut-off and done by every subscriber,
// found by their ids' time: not a newer one, not an unsent one, not one a subscriber
// has not done (the re-driver needs its payload).
func TestDeleteSentOutboxKeepsWhatIsStillNeeded(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	now := time.Now()
	old, recent := now.Add(-8*24*time.Hour), now.Add(-6*24*time.Hour)
	type event struct {
		id     uuid.UUID
		sent   *time.Time
		undone bool
		kept   bool
	}
	evs := []event{
		{id: v7At(old), sent: &old},
		{id: v7At(old.Add(time.Hour)), sent: &old},
		{id: v7At(old), sent: &old, undone: true, kept: true},
		{id: v7At(old), kept: true},                   // never sent
		{id: v7At(old), sent: &recent, kept: true},    // sent late
		{id: v7At(recent), sent: &recent, kept: true}, // not old enough
	}
	for _, e := range evs {
		_, err := db.Exec(ctx, `INSERT INTO platform.outbox (id, topic, aggregate_key, payload, created_at, sent_at)
			VALUES ($1, 't', 'k', '{}', $2, $3)`, e.id, now, e.sent)
		if err != nil {
			t.Fatal(err)
		}
		if e.sent != nil {
			_, err := db.Exec(ctx, `INSERT INTO platform.outbox_deliveries (event_id, subscriber, done_at)
				VALUES ($1, 's', CASE WHEN $2 THEN NULL ELSE now() END)`, e.id, e.undone)
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	n, err := platformdb.New(db).DeleteSentOutbox(ctx, (7 * 24 * time.Hour).Milliseconds())
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v; want the 2 old done events", n, err)
	}
	for i, e := range evs {
		var kept bool
		if err := db.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM platform.outbox WHERE id = $1)", e.id).Scan(&kept); err != nil {
			t.Fatal(err)
		}
		if kept != e.kept {
			t.Errorf("event %d: kept %v, want %v", i, kept, e.kept)
		}
	}
}
