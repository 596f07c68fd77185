// Package mergefollow is how a domain follows matching's consumer merges
// (events.TopicConsumersMerged, events.TopicConsumerMergeUndone): on a merge it moves
// what hangs on the merged consumer (points, coupons, orders) to the survivor; on the
// undo it moves back exactly what it moved, where it still is with the survivor, so the
// later activity stays with the consumer it happened to.
//
// What a domain moved is recorded in the audit log, in the same transaction as the move
// (action "<domain>.merge_follow", object "matching.merge" and the merge id,
// the moved ids as After): the record that says what happened is the one the undo reads,
// and no domain needs a table of its own for it. Each step runs once per merge and
// domain, whatever the redeliveries, under a transaction-scoped lock on the merge: a
// merge already followed is not followed again, and an undo that arrives before its
// merge (events are unordered) is recorded so that the late merge is skipped.
package mergefollow

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// ObjectType is the audit object of a followed merge: matching's merge.
const ObjectType = "matching.merge"

// Follower moves one domain's records of merged consumers. T is what Move moved (ids),
// stored as JSON in the audit log and handed back to Back on the undo.
type Follower[T any] struct {
	// Domain names the subscribers ("<domain>.merge_follow", "<domain>.merge_unfollow")
	// and the audit actions.
	Domain string
	DB     *pgxpool.Pool
	// Move moves, in tx, what hangs on merged to survivor and says what it moved.
	Move func(ctx context.Context, tx pgx.Tx, survivor, merged uuid.UUID, mergeID uuid.UUID) (T, error)
	// Back moves back to merged what Move moved, where it is still with survivor.
	Back func(ctx context.Context, tx pgx.Tx, survivor, merged uuid.UUID, mergeID uuid.UUID, moved T) error
}

// Actions of the audit log.
func (f Follower[T]) followAction() string   { return f.Domain + ".merge_follow" }
func (f Follower[T]) unfollowAction() string { return f.Domain + ".merge_unfollow" }

// Subscriptions are the two handlers to register with the domain's others. Each step
// runs in its delivery's transaction, which closes the delivery with it.
func (f Follower[T]) Subscriptions() []outbox.Subscription {
	return []outbox.Subscription{
		{Topic: events.TopicConsumersMerged, Subscriber: f.followAction(), HandleTx: f.onMerged},
		{Topic: events.TopicConsumerMergeUndone, Subscriber: f.unfollowAction(), HandleTx: f.onUndone},
	}
}

func (f Follower[T]) onMerged(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	var p events.ConsumersMerged
	if err := e.Decode(&p); err != nil {
		return fmt.Errorf("%s: decode %s: %w", f.Domain, e.Topic, err)
	}
	if err := f.follow(ctx, tx, p.MergeID, p.Survivor, p.Merged); err != nil {
		return fmt.Errorf("%s: follow merge %s: %w", f.Domain, p.MergeID, pg.Classify(err))
	}
	return nil
}

func (f Follower[T]) onUndone(ctx context.Context, tx pgx.Tx, e events.Envelope) error {
	var p events.ConsumerMergeUndone
	if err := e.Decode(&p); err != nil {
		return fmt.Errorf("%s: decode %s: %w", f.Domain, e.Topic, err)
	}
	if err := f.unfollow(ctx, tx, p.MergeID, p.Survivor, p.Merged); err != nil {
		return fmt.Errorf("%s: undo merge %s: %w", f.Domain, p.MergeID, pg.Classify(err))
	}
	return nil
}

// Follow moves the merged consumer's records to the survivor, once per merge.
func (f Follower[T]) Follow(ctx context.Context, mergeID, survivor, merged uuid.UUID) error {
	err := pg.InTx(ctx, f.DB, pg.TxOptions{}, func(tx pgx.Tx) error { return f.follow(ctx, tx, mergeID, survivor, merged) })
	if err != nil {
		return fmt.Errorf("%s: follow merge %s: %w", f.Domain, mergeID, pg.Classify(err))
	}
	return nil
}

func (f Follower[T]) follow(ctx context.Context, tx pgx.Tx, mergeID, survivor, merged uuid.UUID) error {
	steps, err := f.steps(ctx, tx, mergeID)
	if err != nil {
		return err
	}
	if steps[f.followAction()] != nil || steps[f.unfollowAction()] != nil {
		return nil // followed already, or undone before it came
	}
	moved, err := f.Move(ctx, tx, survivor, merged, mergeID)
	if err != nil {
		return err
	}
	return audit.Record(ctx, tx, audit.Event{Actor: audit.Actor{Login: "system"}, Action: f.followAction(),
		ObjectType: ObjectType, ObjectID: mergeID.String(),
		Before: map[string]any{"survivor": survivor, "merged": merged}, After: moved})
}

// Unfollow moves back exactly what Follow moved, once per merge. An undo that comes
// before its merge is recorded with nothing moved, so the merge is then skipped.
func (f Follower[T]) Unfollow(ctx context.Context, mergeID, survivor, merged uuid.UUID) error {
	err := pg.InTx(ctx, f.DB, pg.TxOptions{}, func(tx pgx.Tx) error { return f.unfollow(ctx, tx, mergeID, survivor, merged) })
	if err != nil {
		return fmt.Errorf("%s: undo merge %s: %w", f.Domain, mergeID, pg.Classify(err))
	}
	return nil
}

func (f Follower[T]) unfollow(ctx context.Context, tx pgx.Tx, mergeID, survivor, merged uuid.UUID) error {
	steps, err := f.steps(ctx, tx, mergeID)
	if err != nil {
		return err
	}
	if steps[f.unfollowAction()] != nil {
		return nil
	}
	var back any
	if e := steps[f.followAction()]; e != nil {
		var moved T
		if err := json.Unmarshal(e.After, &moved); err != nil {
			return fmt.Errorf("what merge %s moved: %w", mergeID, err)
		}
		if err := f.Back(ctx, tx, survivor, merged, mergeID, moved); err != nil {
			return err
		}
		back = moved
	}
	return audit.Record(ctx, tx, audit.Event{Actor: audit.Actor{Login: "system"}, Action: f.unfollowAction(),
		ObjectType: ObjectType, ObjectID: mergeID.String(),
		Before: map[string]any{"survivor": survivor, "merged": merged}, After: map[string]any{"moved_back": back}})
}

// steps locks the merge for this domain (transaction-scoped, so two deliveries of the
// same or of both events run one after the other) and reads the steps done, by action,
// in the same transaction: what a step recorded committed before the lock was released,
// so it is visible here.
func (f Follower[T]) steps(ctx context.Context, tx pgx.Tx, mergeID uuid.UUID) (map[string]*audit.Entry, error) {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f.Domain+":merge:"+mergeID.String()); err != nil {
		return nil, err
	}
	entries, err := audit.ObjectHistory(ctx, tx, ObjectType, mergeID.String(), f.Domain+".merge_", 10)
	if err != nil {
		return nil, err
	}
	out := map[string]*audit.Entry{}
	for i := range entries {
		out[entries[i].Action] = &entries[i]
	}
	return out, nil
}
