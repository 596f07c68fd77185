// Package outbox is the transactional outbox: Publish writes an event in the caller's
// transaction, so the event exists if and only if the change that caused it committed;
// the Relay moves committed events to asynq, in tasks of many events per subscriber.
//
// Guarantees: at least once, never lost. A relay claims a batch in a transaction that
// stays open while it enqueues the batch; one that dies before its commit has the claim
// rolled back, and the next claim takes the rows at once and makes the same tasks again
// (a task's id is made of its subscriber and its events), which asynq refuses as
// duplicates (it keeps a task's id for 24 h, Retention); the few events the next claim
// groups otherwise are carried by two tasks, and each runs once because a task takes
// its events' deliveries before running them (DeliverBatch). asynq taking a task is not
// the end of it: an event is done for a subscriber when its handler has committed,
// recorded per event and subscriber in platform.outbox_deliveries by Register's
// wrapper, and the Redriver enqueues again what Redis lost. No order is promised, not
// even per aggregate: asynq runs tasks concurrently and retries failed ones later, so a
// handler must be idempotent and check state rather than rely on arrival order.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/platform/platformdb"
)

// NotifyChannel is the PostgreSQL channel Publish notifies on commit, waking relays
// at once instead of at their next poll.
const NotifyChannel = "tandem_outbox"

// Publish writes an event inside tx. It returns the event's id.
func Publish(ctx context.Context, tx pgx.Tx, topic events.Topic, key string, payload any) (uuid.UUID, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, fmt.Errorf("outbox: %w", err)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return uuid.Nil, fmt.Errorf("outbox: payload of %s: %w", topic, err)
	}
	err = platformdb.New(tx).InsertOutbox(ctx, platformdb.InsertOutboxParams{
		ID: id, Topic: string(topic), AggregateKey: key, Payload: body, RequestID: logging.RequestID(ctx)})
	if err != nil {
		return uuid.Nil, fmt.Errorf("outbox: publish %s: %w", topic, err)
	}
	// The relays are woken once the transaction has committed, by a notification of its
	// own that is not flushed to disk. A NOTIFY inside the transaction would be cheaper by
	// a round trip but costs far more: PostgreSQL holds one lock across every notifying
	// transaction's commit, WAL flush included, so durable commits that notify are made
	// one at a time (170-290 a second here) instead of being flushed in groups. The
	// wake-up is a hint: a lost one (a crash right after the commit) costs one poll.
	if !pg.AfterCommit(tx, NotifyChannel, wakeRelays) {
		if _, err := tx.Exec(ctx, "SELECT pg_notify($1, '')", NotifyChannel); err != nil {
			return uuid.Nil, fmt.Errorf("outbox: notify: %w", err)
		}
	}
	return id, nil
}

// wakeRelays notifies the relays in a transaction of its own whose commit does not wait
// for the disk (the notification needs no durability), so it holds PostgreSQL's notify
// lock for microseconds.
func wakeRelays(ctx context.Context, db pg.Execer) {
	_, _ = db.Exec(ctx, "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, '')", NotifyChannel)
}
