package reconciliation

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Error codes of an assignment refused for who the assignee is (field "assignee").
const (
	CodeAssigneeUnknown     = "recon.assignee_unknown"
	CodeAssigneeDisabled    = "recon.assignee_disabled"
	CodeAssigneeNotFinance  = "recon.assignee_not_finance"
	CodeAssigneesUnverified = "recon.assignee_unverified"
)

// Assignee is what the queue needs to know of a user it is asked to assign an item to.
type Assignee struct {
	Found    bool
	Disabled bool
	// CanWork: the user holds recon.exception.resolve, so can work the item they get.
	CanWork bool
}

// Assignees tells the queue who a user is (identity's published read interface,
// adapted by IdentityAssignees); nil: items can only be assigned to the caller.
type Assignees interface {
	Assignee(ctx context.Context, id uuid.UUID) (Assignee, error)
}

// IdentityAssignees implements Assignees over identity's service: the user's
// principal (roles and permissions as identity resolves them, custom roles included).
type IdentityAssignees struct {
	Users interface {
		Principal(ctx context.Context, userID uuid.UUID) (*identity.Principal, error)
	}
}

// Assignee implements Assignees.
func (a IdentityAssignees) Assignee(ctx context.Context, id uuid.UUID) (Assignee, error) {
	p, err := a.Users.Principal(ctx, id)
	if errs.KindOf(err) == errs.KindNotFound {
		return Assignee{}, nil
	} else if err != nil {
		return Assignee{}, fmt.Errorf("assignee %s: %w", id, err)
	}
	return Assignee{Found: true, Disabled: p.User.Disabled, CanWork: p.Can(identity.PermReconResolve)}, nil
}

// checkAssignee refuses to give an item to a user who does not exist, is disabled or
// cannot work the queue (no recon.exception.resolve). Without an Assignees port only
// the caller (who holds the permission) can be assigned.
func (s *Service) checkAssignee(ctx context.Context, p *identity.Principal, id *uuid.UUID) error {
	if id == nil { // unassign
		return nil
	}
	refuse := func(code, msg string) error {
		return errs.E(errs.KindUnprocessable, code, msg).WithField("assignee")
	}
	if s.ports.Assignees == nil {
		if p != nil && p.User.ID == *id {
			return nil
		}
		return refuse(CodeAssigneesUnverified, "only yourself can be assigned here: the users cannot be looked up")
	}
	a, err := s.ports.Assignees.Assignee(ctx, *id)
	switch {
	case err != nil:
		return fmt.Errorf("reconciliation: %w", err)
	case !a.Found:
		return refuse(CodeAssigneeUnknown, fmt.Sprintf("no user %s", id))
	case a.Disabled:
		return refuse(CodeAssigneeDisabled, fmt.Sprintf("user %s is disabled", id))
	case !a.CanWork:
		return refuse(CodeAssigneeNotFinance, fmt.Sprintf("user %s cannot work reconciliation exceptions (needs %s)", id, identity.PermReconResolve))
	}
	return nil
}
