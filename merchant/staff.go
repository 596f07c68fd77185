package merchant

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/identity"
)

// StaffMember is what the B-CRM needs to know of a user it assigns leads to or names
// in a duplicate's answer: never more than a name, a team and whether they still work.
type StaffMember struct {
	ID        uuid.UUID
	Name      string
	OrgUnitID uuid.UUID // uuid.Nil: no unit
	Team      string    // the unit's name
	Disabled  bool
}

// Staff looks users up; declared here, satisfied in cmd/tandem by IdentityStaff.
type Staff interface {
	StaffMember(ctx context.Context, id uuid.UUID) (StaffMember, error)
	// Reps lists the sales reps p may see (identity's own scope of identity.user.read),
	// for a manager choosing whom to assign to.
	Reps(ctx context.Context, p *identity.Principal) ([]StaffMember, error)
}

// IdentityStaff satisfies Staff with shared/identity, read as the system.
type IdentityStaff struct{ Users *identity.Service }

// StaffMember returns the user's name, unit and state.
func (s IdentityStaff) StaffMember(ctx context.Context, id uuid.UUID) (StaffMember, error) {
	sys := identity.System()
	u, err := s.Users.GetUser(ctx, sys, id)
	if err != nil {
		return StaffMember{}, fmt.Errorf("staff %s: %w", id, err)
	}
	m := StaffMember{ID: u.ID, Name: u.DisplayName, OrgUnitID: u.OrgUnitID.UUID, Disabled: u.Disabled}
	if u.OrgUnitID.Valid {
		tree, err := s.Users.OrgTree(ctx, sys)
		if err != nil {
			return StaffMember{}, fmt.Errorf("staff %s: org tree: %w", id, err)
		}
		for _, o := range tree {
			if o.ID == u.OrgUnitID.UUID {
				m.Team = o.Name
			}
		}
	}
	return m, nil
}

// Reps lists the enabled sales reps in p's scope of identity.user.read.
func (s IdentityStaff) Reps(ctx context.Context, p *identity.Principal) ([]StaffMember, error) {
	users, _, err := s.Users.ListUsers(ctx, p, identity.UserFilter{Role: identity.RoleSalesRep, Limit: 200})
	if err != nil {
		return nil, fmt.Errorf("reps: %w", err)
	}
	var out []StaffMember
	for _, u := range users {
		if !u.Disabled {
			out = append(out, StaffMember{ID: u.ID, Name: u.DisplayName, OrgUnitID: u.OrgUnitID.UUID})
		}
	}
	return out, nil
}

// member looks a user up through the port; without one (some tests) the id stands in.
func (s *Service) member(ctx context.Context, id uuid.UUID) (StaffMember, error) {
	if s.people == nil {
		return StaffMember{ID: id, Name: id.String()}, nil
	}
	return s.people.StaffMember(ctx, id)
}
