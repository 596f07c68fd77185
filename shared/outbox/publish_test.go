package outbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// platform.publish, which a statement calls to write its event (loyalty's credit and
// redemption), writes the row outbox.Publish writes: every column but the id the same
// for the same event, and an id of the same kind (a UUIDv7 of now) when the caller
// brings none.
func TestSQLPublishWritesTheRowPublishWrites(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := logging.WithRequestID(context.Background(), "req-shape")
	var goID, sqlID uuid.UUID
	err := pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
		var err error
		if goID, err = outbox.Publish(ctx, tx, topic, "agg-1", map[string]int{"n": 1}); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT platform.publish($1, $2, $3, $4)`, string(topic), "agg-1", `{"n": 1}`, "req-shape").Scan(&sqlID)
	})
	if err != nil {
		t.Fatal(err)
	}
	var same bool
	var goRow, sqlRow string
	err = db.QueryRow(ctx, `SELECT (to_jsonb(g) - 'id') = (to_jsonb(s) - 'id'), (to_jsonb(g) - 'id')::text, (to_jsonb(s) - 'id')::text
		FROM platform.outbox g, platform.outbox s WHERE g.id = $1 AND s.id = $2`, goID, sqlID).Scan(&same, &goRow, &sqlRow)
	if err != nil {
		t.Fatal(err)
	}
	if !same {
		t.Fatalf("rows differ:\n outbox.Publish   %s\n platform.publish %s", goRow, sqlRow)
	}
	for name, id := range map[string]uuid.UUID{"outbox.Publish": goID, "platform.publish": sqlID} {
		sec, nsec := id.Time().UnixTime()
		if at := time.Unix(sec, nsec); id.Version() != 7 || time.Since(at).Abs() > time.Minute {
			t.Errorf("%s made id %s: version %d, time %s; want a UUIDv7 of now", name, id, id.Version(), at)
		}
	}

	// A caller's own id is kept, and a missing request id is ''.
	own := uuid.Must(uuid.NewV7())
	var got uuid.UUID
	var requestID string
	if err := db.QueryRow(ctx, `SELECT platform.publish($1, 'k', '{}', NULL, $2)`, string(topic), own).Scan(&got); err != nil {
		t.Fatal(err)
	}
	err = db.QueryRow(ctx, `SELECT request_id FROM platform.outbox WHERE id = $1`, own).Scan(&requestID)
	if err != nil || got != own || requestID != "" {
		t.Fatalf("with the caller's id: %s, request id %q, %v; want %s and ''", got, requestID, err, own)
	}
}
