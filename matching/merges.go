package matching

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Merges of consumers (resolve.go finds the candidates). A merge moves matching's own
// record of the merged consumer's purchases to the survivor, noting each order moved;
// while it stands, purchases that arrive for the merged consumer go to the survivor and
// are noted too. An undo moves exactly the noted orders back, so each consumer gets back
// its own records and the later activity stays with the consumer it happened to. Other
// domains follow through events.TopicConsumersMerged and TopicConsumerMergeUndone.

// Merge states.
const (
	MergeReview   = "review"
	MergeMerged   = "merged"
	MergeRejected = "rejected"
	MergeUndone   = "undone"
)

// Error codes of merges.
const (
	mergeObject     = "matching.merge"
	CodeMergeState  = "matching.merge_state" // the merge is not in a state that allows this
	CodeMergeChain  = "matching.merge_chain" // one of the consumers is in another standing merge
	CodeInvalidList = "matching.invalid_filter"
)

// Merge is a candidate pair or a merge, with its history.
type Merge struct {
	ID         uuid.UUID  `json:"id"`
	Survivor   uuid.UUID  `json:"survivor"`
	Merged     uuid.UUID  `json:"merged"`
	Confidence float64    `json:"confidence"`
	Evidence   []Evidence `json:"evidence"`
	Conflicts  []Evidence `json:"conflicts"`
	Automatic  bool       `json:"automatic"`
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"created_at"`
	DecidedAt  *time.Time `json:"decided_at,omitempty"`
	DecidedBy  string     `json:"decided_by,omitempty"`
	UndoneAt   *time.Time `json:"undone_at,omitempty"`
	UndoneBy   string     `json:"undone_by,omitempty"`
}

func mergeOf(r matchingdb.MatchingMerge) Merge {
	m := Merge{ID: r.ID, Survivor: r.Survivor, Merged: r.Merged, Confidence: r.Confidence, Automatic: r.Automatic, State: r.State,
		CreatedAt: r.CreatedAt.UTC(), DecidedAt: r.DecidedAt, DecidedBy: r.DecidedBy, UndoneAt: r.UndoneAt, UndoneBy: r.UndoneBy}
	_ = json.Unmarshal(r.Evidence, &m.Evidence)
	_ = json.Unmarshal(r.Conflicts, &m.Conflicts)
	return m
}

// Propose records candidate pairs (Resolve's): each automatic one is merged at once by
// the system, the others wait in the review queue. A pair already open is skipped, so
// running the resolution again proposes nothing twice.
func (s *Service) Propose(ctx context.Context, cands []Candidate) (merged, queued int, err error) {
	for _, c := range cands {
		ev, _ := json.Marshal(c.Evidence)
		cf, _ := json.Marshal(nonNil(c.Conflicts))
		err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
			q := matchingdb.New(tx)
			id, err := q.InsertMerge(ctx, matchingdb.InsertMergeParams{ID: uuid.Must(uuid.NewV7()), Survivor: c.A, Merged: c.B,
				Confidence: c.Confidence, Evidence: ev, Conflicts: cf, Automatic: c.Decision == DecisionAuto, CreatedAt: s.clock.Now().UTC()})
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			if c.Decision != DecisionAuto {
				queued++
				return nil
			}
			m, err := q.LockMerge(ctx, id)
			if err != nil {
				return err
			}
			if err := s.apply(ctx, tx, q, m, audit.Actor{Login: "system"}); err != nil {
				if errs.Is(err, CodeMergeChain) { // leave it to a reviewer
					queued++
					return nil
				}
				return err
			}
			merged++
			return nil
		})
		if err != nil {
			return merged, queued, fmt.Errorf("matching: propose %s–%s: %w", c.A, c.B, pg.Classify(err))
		}
	}
	for _, c := range cands {
		if c.Decision == DecisionAuto {
			s.cache.forget([]uuid.UUID{c.B}) // served the survivor's list from now on
			if _, err := s.Recompute(ctx, c.A); err != nil {
				return merged, queued, err
			}
		}
	}
	return merged, queued, nil
}

func nonNil(e []Evidence) []Evidence {
	if e == nil {
		return []Evidence{}
	}
	return e
}

// apply merges a locked candidate in tx.
func (s *Service) apply(ctx context.Context, tx pgx.Tx, q *matchingdb.Queries, m matchingdb.MatchingMerge, actor audit.Actor) error {
	if m.State != MergeReview {
		return errs.E(errs.KindConflict, CodeMergeState, "only a merge waiting for review can be merged")
	}
	for _, c := range []uuid.UUID{m.Survivor, m.Merged} {
		if _, err := q.ActiveMergeOf(ctx, c); err == nil {
			return errs.E(errs.KindConflict, CodeMergeChain, "one of the consumers is in another merge: undo that one first")
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
	}
	now := s.clock.Now().UTC()
	if err := q.SetMergeState(ctx, matchingdb.SetMergeStateParams{ID: m.ID, State: MergeMerged, At: &now, Actor: actorName(actor)}); err != nil {
		return err
	}
	if _, err := q.MovePurchases(ctx, matchingdb.MovePurchasesParams{Survivor: m.Survivor, Merged: m.Merged, MergeID: m.ID}); err != nil {
		return err
	}
	if err := recount(ctx, q, m.Survivor, m.Merged); err != nil {
		return err
	}
	if err := q.DeleteRecommendations(ctx, []uuid.UUID{m.Merged}); err != nil {
		return err
	}
	if err := q.NoteServingChange(ctx, []uuid.UUID{m.Survivor, m.Merged}); err != nil {
		return err
	}
	if _, err := outbox.Publish(ctx, tx, events.TopicConsumersMerged, m.ID.String(), events.ConsumersMerged{MergeID: m.ID,
		Survivor: m.Survivor, Merged: m.Merged, Automatic: m.Automatic, At: now}); err != nil {
		return err
	}
	return audit.Record(ctx, tx, audit.Event{Actor: actor, Action: "matching.consumer.merge", ObjectType: mergeObject, ObjectID: m.ID.String(),
		Before: map[string]any{"state": m.State}, After: map[string]any{"state": MergeMerged, "survivor": m.Survivor, "merged": m.Merged, "confidence": m.Confidence}})
}

func actorName(a audit.Actor) string {
	if a.Login != "" {
		return a.Login
	}
	return a.ID.String()
}

// recount rebuilds the aggregates of two consumers from their purchases.
func recount(ctx context.Context, q *matchingdb.Queries, a, b uuid.UUID) error {
	both := []uuid.UUID{a, b}
	if err := q.DeleteConsumerMerchantsOf(ctx, both); err != nil {
		return err
	}
	if err := q.RecountConsumerMerchantsOf(ctx, both); err != nil {
		return err
	}
	if err := q.RecountBuyersOf(ctx, both); err != nil {
		return err
	}
	for _, c := range both {
		if err := q.DeleteConsumerPosition(ctx, c); err != nil {
			return err
		}
	}
	return q.RefreshConsumerPositions(ctx, both)
}

// decide runs one reviewer's step on a merge.
func (s *Service) decide(ctx context.Context, p *identity.Principal, id uuid.UUID, step func(tx pgx.Tx, q *matchingdb.Queries, m matchingdb.MatchingMerge) error) (Merge, error) {
	if err := requireMemberScope(p, identity.PermMemberWrite, mergeObject); err != nil {
		return Merge{}, err
	}
	var out Merge
	var m matchingdb.MatchingMerge
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		var err error
		if m, err = q.LockMerge(ctx, id); errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound(mergeObject)
		} else if err != nil {
			return err
		}
		if err := step(tx, q, m); err != nil {
			return err
		}
		r, err := q.GetMerge(ctx, id)
		out = mergeOf(r)
		return err
	})
	if err != nil {
		return Merge{}, pg.Classify(err)
	}
	for _, c := range []uuid.UUID{m.Survivor, m.Merged} {
		if _, err := s.Recompute(ctx, c); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Approve merges a candidate waiting for review.
func (s *Service) Approve(ctx context.Context, p *identity.Principal, id uuid.UUID) (Merge, error) {
	return s.decide(ctx, p, id, func(tx pgx.Tx, q *matchingdb.Queries, m matchingdb.MatchingMerge) error {
		return s.apply(ctx, tx, q, m, p.Actor())
	})
}

// Reject closes a candidate: the two consumers are two people.
func (s *Service) Reject(ctx context.Context, p *identity.Principal, id uuid.UUID) (Merge, error) {
	return s.decide(ctx, p, id, func(tx pgx.Tx, q *matchingdb.Queries, m matchingdb.MatchingMerge) error {
		if m.State != MergeReview {
			return errs.E(errs.KindConflict, CodeMergeState, "only a merge waiting for review can be rejected")
		}
		now := s.clock.Now().UTC()
		if err := q.SetMergeState(ctx, matchingdb.SetMergeStateParams{ID: m.ID, State: MergeRejected, At: &now, Actor: actorName(p.Actor())}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "matching.consumer.merge_reject", ObjectType: mergeObject,
			ObjectID: m.ID.String(), Before: map[string]any{"state": m.State}, After: map[string]any{"state": MergeRejected}})
	})
}

// Undo undoes a standing merge exactly: the orders it moved (and those of the merged
// consumer that came while it stood) go back to the merged consumer; the survivor keeps
// its own, including what it bought during the merge.
func (s *Service) Undo(ctx context.Context, p *identity.Principal, id uuid.UUID) (Merge, error) {
	return s.decide(ctx, p, id, func(tx pgx.Tx, q *matchingdb.Queries, m matchingdb.MatchingMerge) error {
		if m.State != MergeMerged {
			return errs.E(errs.KindConflict, CodeMergeState, "only a standing merge can be undone")
		}
		if _, err := q.MoveBack(ctx, matchingdb.MoveBackParams{Merged: m.Merged, MergeID: m.ID}); err != nil {
			return err
		}
		if err := recount(ctx, q, m.Survivor, m.Merged); err != nil {
			return err
		}
		if err := q.NoteServingChange(ctx, []uuid.UUID{m.Survivor, m.Merged}); err != nil {
			return err
		}
		now := s.clock.Now().UTC()
		if err := q.SetMergeUndone(ctx, matchingdb.SetMergeUndoneParams{ID: m.ID, At: &now, Actor: actorName(p.Actor())}); err != nil {
			return err
		}
		if _, err := outbox.Publish(ctx, tx, events.TopicConsumerMergeUndone, m.ID.String(), events.ConsumerMergeUndone{MergeID: m.ID,
			Survivor: m.Survivor, Merged: m.Merged, At: now}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "matching.consumer.merge_undo", ObjectType: mergeObject,
			ObjectID: m.ID.String(), Before: map[string]any{"state": m.State}, After: map[string]any{"state": MergeUndone}})
	})
}

// ListMerges lists merges, newest first: the review queue (state review) or the history.
// Merges are of consumers, so only a reader of members at scope all lists them; a
// narrower scope finds none (404 matching.merge_not_found, as for one merge).
func (s *Service) ListMerges(ctx context.Context, p *identity.Principal, state string, before uuid.UUID, limit int) ([]Merge, error) {
	if err := requireMemberRead(p, mergeObject); err != nil {
		return nil, err
	}
	switch state {
	case "", MergeReview, MergeMerged, MergeRejected, MergeUndone:
	default:
		return nil, errs.E(errs.KindInvalid, CodeInvalidList, "state is review, merged, rejected or undone").WithField("state")
	}
	rows, err := matchingdb.New(s.db).ListMerges(ctx, matchingdb.ListMergesParams{State: state, Before: before, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("matching: merges: %w", pg.Classify(err))
	}
	out := make([]Merge, len(rows))
	for i, r := range rows {
		out[i] = mergeOf(r)
	}
	return out, nil
}

// GetMerge is one merge.
func (s *Service) GetMerge(ctx context.Context, p *identity.Principal, id uuid.UUID) (Merge, error) {
	if err := requireMemberRead(p, mergeObject); err != nil {
		return Merge{}, err
	}
	r, err := matchingdb.New(s.db).GetMerge(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return Merge{}, errs.NotFound(mergeObject)
	}
	if err != nil {
		return Merge{}, fmt.Errorf("matching: merge: %w", pg.Classify(err))
	}
	return mergeOf(r), nil
}
