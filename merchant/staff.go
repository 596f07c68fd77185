package merchant

import (
	"context"
	"fmt"
	"slices"

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

// Staff is the B-CRM's one port to identity's users; declared here, satisfied in
// cmd/tandem by IdentityStaff.
type Staff interface {
	StaffMember(ctx context.Context, id uuid.UUID) (StaffMember, error)
	// StaffMembers looks several users up in one read (a report naming its reps);
	// unknown ids are missing from the answer.
	StaffMembers(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]StaffMember, error)
	// Reps lists the sales reps p may see (identity's own scope of identity.user.read),
	// for a manager choosing whom to assign to.
	Reps(ctx context.Context, p *identity.Principal) ([]StaffMember, error)
	// TeamReps lists the enabled sales reps of one unit, in a stable order (an
	// assignment rule's team), read as the system.
	TeamReps(ctx context.Context, unit uuid.UUID) ([]StaffMember, error)
	// UnitPath is the unit and its ancestors, nearest first (whose assignment rules apply).
	UnitPath(ctx context.Context, unit uuid.UUID) ([]uuid.UUID, error)
	// Units names the units p may see, for choosing a rule's team.
	Units(ctx context.Context, p *identity.Principal) ([]identity.OrgUnit, error)
	// MerchantUsers lists the users of p's own merchant (its portal's staff list):
	// identity scopes a merchant owner to their merchant.
	MerchantUsers(ctx context.Context, p *identity.Principal) ([]identity.User, error)
}

// IdentityStaff satisfies Staff with shared/identity.
type IdentityStaff struct{ Users *identity.Service }

// StaffMember returns the user's name, unit and state, read as the system.
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

// StaffMembers returns the users among ids with their teams' names: one read of the
// users and one of the org tree, however many ids.
func (s IdentityStaff) StaffMembers(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]StaffMember, error) {
	sys := identity.System()
	users, err := s.Users.UsersByID(ctx, sys, ids)
	if err != nil {
		return nil, fmt.Errorf("staff: %w", err)
	}
	out := make(map[uuid.UUID]StaffMember, len(users))
	if len(users) == 0 {
		return out, nil
	}
	tree, err := s.Users.OrgTree(ctx, sys)
	if err != nil {
		return nil, fmt.Errorf("staff: org tree: %w", err)
	}
	unitName := make(map[uuid.UUID]string, len(tree))
	for _, o := range tree {
		unitName[o.ID] = o.Name
	}
	for _, u := range users {
		out[u.ID] = StaffMember{ID: u.ID, Name: u.DisplayName, OrgUnitID: u.OrgUnitID.UUID, Team: unitName[u.OrgUnitID.UUID],
			Disabled: u.Disabled}
	}
	return out, nil
}

// Reps lists the enabled sales reps in p's scope of identity.user.read.
func (s IdentityStaff) Reps(ctx context.Context, p *identity.Principal) ([]StaffMember, error) {
	return s.reps(ctx, p, uuid.Nil)
}

// TeamReps lists the enabled sales reps of unit.
func (s IdentityStaff) TeamReps(ctx context.Context, unit uuid.UUID) ([]StaffMember, error) {
	return s.reps(ctx, identity.System(), unit)
}

func (s IdentityStaff) reps(ctx context.Context, p *identity.Principal, unit uuid.UUID) ([]StaffMember, error) {
	var out []StaffMember
	after := uuid.Nil
	for {
		users, next, err := s.Users.ListUsers(ctx, p, identity.UserFilter{Role: identity.RoleSalesRep, OrgUnitID: unit, After: after, Limit: 200})
		if err != nil {
			return nil, fmt.Errorf("reps: %w", err)
		}
		for _, u := range users {
			if !u.Disabled && (unit == uuid.Nil || u.OrgUnitID.UUID == unit) {
				out = append(out, StaffMember{ID: u.ID, Name: u.DisplayName, OrgUnitID: u.OrgUnitID.UUID})
			}
		}
		if next == uuid.Nil {
			return out, nil
		}
		after = next
	}
}

// UnitPath walks identity's org tree up from unit.
func (s IdentityStaff) UnitPath(ctx context.Context, unit uuid.UUID) ([]uuid.UUID, error) {
	tree, err := s.Users.OrgTree(ctx, identity.System())
	if err != nil {
		return nil, fmt.Errorf("unit path: %w", err)
	}
	parent := map[uuid.UUID]uuid.NullUUID{}
	for _, o := range tree {
		parent[o.ID] = o.ParentID
	}
	var out []uuid.UUID
	for cur := unit; cur != uuid.Nil && len(out) < 32; {
		out = append(out, cur)
		cur = parent[cur].UUID
	}
	return out, nil
}

// Units is identity's org tree as p may see it.
func (s IdentityStaff) Units(ctx context.Context, p *identity.Principal) ([]identity.OrgUnit, error) {
	return s.Users.OrgTree(ctx, p)
}

// MerchantUsers lists the users p may see; for a merchant owner, their merchant's.
func (s IdentityStaff) MerchantUsers(ctx context.Context, p *identity.Principal) ([]identity.User, error) {
	users, _, err := s.Users.ListUsers(ctx, p, identity.UserFilter{Limit: 100})
	return users, err
}

// member looks a user up through the port; without one (some tests) the id stands in.
func (s *Service) member(ctx context.Context, id uuid.UUID) (StaffMember, error) {
	if s.staff == nil {
		return StaffMember{ID: id, Name: id.String()}, nil
	}
	return s.staff.StaffMember(ctx, id)
}

// unitsSeen answers whether an id names one of the org units p sees. A scope of all
// allows any id, so an id a request names is looked up before it is kept.
func (s *Service) unitsSeen(ctx context.Context, p *identity.Principal) (func(uuid.UUID) bool, error) {
	units, err := s.staff.Units(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("merchant: units: %w", err)
	}
	return func(id uuid.UUID) bool {
		return slices.ContainsFunc(units, func(u identity.OrgUnit) bool { return u.ID == id })
	}, nil
}
