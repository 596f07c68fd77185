package identity

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// UsersByID returns the users among ids that are in the principal's scope of
// PermUserRead, in one read: what a report naming thousands of reps asks instead of
// one GetUser per row. Unknown ids and ids out of scope are left out.
func (s *Service) UsersByID(ctx context.Context, p *Principal, ids []uuid.UUID) ([]User, error) {
	sc, err := p.Require(PermUserRead)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := identitydb.New(s.db).GetUsersByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("identity: users by id: %w", pg.Classify(err))
	}
	out := make([]User, 0, len(rows))
	for _, r := range rows {
		u := userOf(r)
		u.Roles = append(u.Roles, r.RoleKeys...)
		if !sc.Allows(u.row()) {
			continue
		}
		u.Phone = p.Phone(u.Phone)
		out = append(out, u)
	}
	return out, nil
}
