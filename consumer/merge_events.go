package consumer

import (
	"context"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer/internal/consumerdb"
)

// tellMoved publishes what a merge (or its undo) changed of the two members, as the
// same membership events a tag or points change publishes (the whole set of tags, the
// available points), so marketing's segments count each member by what they hold now.
// Nothing moved, nothing is told; a redelivered merge moves nothing and tells nothing.
func (s *Service) tellMoved(ctx context.Context, q *consumerdb.Queries, from, to uuid.UUID, moved MemberMoves) error {
	if len(moved.Tags) > 0 {
		for _, id := range []uuid.UUID{from, to} {
			if err := s.publishTags(ctx, q, id); err != nil {
				return err
			}
		}
	}
	if moved.Points != 0 {
		return s.publishBalances(ctx, q, []uuid.UUID{from, to})
	}
	return nil
}
