package identity

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Role is a named set of permissions at one data scope.
type Role struct {
	ID          uuid.UUID    `json:"id"`
	Key         string       `json:"key"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Scope       Level        `json:"scope"`
	Builtin     bool         `json:"builtin"`
	Permissions []Permission `json:"permissions"`
}

// RoleInput creates or changes a role.
type RoleInput struct {
	Key         string // on create only
	Name        string
	Description string
	Scope       Level
	Permissions []Permission
}

func loadRoles(ctx context.Context, q *identitydb.Queries) (map[string]Role, error) {
	rows, err := q.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	perms, err := q.ListRolePermissions(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[uuid.UUID][]Permission{}
	for _, rp := range perms {
		byID[rp.RoleID] = append(byID[rp.RoleID], Permission(rp.Permission))
	}
	out := make(map[string]Role, len(rows))
	for _, r := range rows {
		out[r.Key] = Role{ID: r.ID, Key: r.Key, Name: r.Name, Description: r.Description, Scope: Level(r.Scope),
			Builtin: r.Builtin, Permissions: append([]Permission{}, byID[r.ID]...)}
	}
	return out, nil
}

// ListRoles lists every role (PermRoleRead), built-in first.
func (s *Service) ListRoles(ctx context.Context, p *Principal) ([]Role, error) {
	if _, err := p.Require(PermRoleRead); err != nil {
		return nil, err
	}
	q := identitydb.New(s.db)
	order, err := q.ListRoles(ctx)
	if err != nil {
		return nil, fmt.Errorf("identity: roles: %w", err)
	}
	roles, err := loadRoles(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("identity: roles: %w", err)
	}
	out := make([]Role, len(order))
	for i, r := range order {
		out[i] = roles[r.Key]
	}
	return out, nil
}

var roleKeyRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

func (in *RoleInput) validate(create bool) error {
	in.Name = strings.TrimSpace(in.Name)
	if create && !roleKeyRE.MatchString(in.Key) {
		return errs.Invalidf("key", "a role key has 2 to 40 characters: lower-case letters, digits and '_'")
	}
	if in.Name == "" || len([]rune(in.Name)) > 100 {
		return errs.Invalidf("name", "a role name has 1 to 100 characters")
	}
	if !in.Scope.Valid() {
		return errs.Invalidf("scope", "scope is one of own, team, subtree, all, merchant")
	}
	slices.Sort(in.Permissions)
	in.Permissions = slices.Compact(in.Permissions)
	for _, perm := range in.Permissions {
		if !perm.Known() {
			return errs.Invalidf("permissions", "no such permission: %s", perm)
		}
	}
	return nil
}

// CreateRole adds a role (PermRoleWrite) whose permissions and scope the principal
// holds: nobody makes a role broader than themselves.
func (s *Service) CreateRole(ctx context.Context, p *Principal, in RoleInput) (Role, error) {
	if _, err := p.Require(PermRoleWrite); err != nil {
		return Role{}, err
	}
	if err := in.validate(true); err != nil {
		return Role{}, err
	}
	if !p.canGrant(in.Scope, in.Permissions) {
		return Role{}, s.denied(ctx, p, grantForbidden(in.Key).WithField("permissions"), "identity.role", in.Key, in)
	}
	r := Role{ID: newID(), Key: in.Key, Name: in.Name, Description: in.Description, Scope: in.Scope, Permissions: in.Permissions}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		err := q.InsertRole(ctx, identitydb.InsertRoleParams{ID: r.ID, Key: r.Key, Name: r.Name, Description: r.Description, Scope: string(r.Scope)})
		if pg.IsUniqueViolation(err, "roles_key_key") {
			return &errs.Error{Kind: errs.KindConflict, Code: "identity.role_exists", Field: "key", Message: "a role " + r.Key + " exists", Err: err}
		}
		if err != nil {
			return err
		}
		if err := setPermissions(ctx, q, r.ID, r.Permissions); err != nil {
			return err
		}
		return record(ctx, tx, p, "identity.role.create", "identity.role", r.ID.String(), nil, r)
	})
	if err != nil {
		return Role{}, fmt.Errorf("identity: create role: %w", pg.Classify(err))
	}
	return r, nil
}

// UpdateRole changes a role's name, scope and permissions. The principal must be able
// to grant the role both as it was and as it becomes; the admin role cannot change.
func (s *Service) UpdateRole(ctx context.Context, p *Principal, id uuid.UUID, in RoleInput) (Role, error) {
	if _, err := p.Require(PermRoleWrite); err != nil {
		return Role{}, err
	}
	if err := in.validate(false); err != nil {
		return Role{}, err
	}
	var out Role
	var refusal *errs.Error
	err := s.changeTx(ctx, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		row, err := q.GetRole(ctx, id)
		if err != nil {
			return notFound(err, "identity.role")
		}
		roles, err := loadRoles(ctx, q)
		if err != nil {
			return err
		}
		before := roles[row.Key]
		if before.Key == RoleAdmin {
			return errs.E(errs.KindUnprocessable, "identity.role_locked", "the admin role always holds every permission")
		}
		if (before.Scope == LevelMerchant) != (in.Scope == LevelMerchant) {
			return errs.Invalidf("scope", "a merchant role stays a merchant role, and a staff role a staff role")
		}
		if !p.canGrant(before.Scope, before.Permissions) || !p.canGrant(in.Scope, in.Permissions) {
			refusal = grantForbidden(before.Key).WithField("permissions")
			return refusal
		}
		out = Role{ID: id, Key: before.Key, Name: in.Name, Description: in.Description, Scope: in.Scope, Builtin: before.Builtin, Permissions: in.Permissions}
		if err := q.UpdateRole(ctx, identitydb.UpdateRoleParams{ID: id, Name: out.Name, Description: out.Description, Scope: string(out.Scope)}); err != nil {
			return err
		}
		if err := q.ClearRolePermissions(ctx, id); err != nil {
			return err
		}
		if err := setPermissions(ctx, q, id, out.Permissions); err != nil {
			return err
		}
		return record(ctx, tx, p, "identity.role.update", "identity.role", id.String(), before, out)
	})
	if refusal != nil {
		return Role{}, s.denied(ctx, p, refusal, "identity.role", id.String(), in)
	}
	if err != nil {
		return Role{}, fmt.Errorf("identity: update role: %w", pg.Classify(err))
	}
	return out, nil
}

func setPermissions(ctx context.Context, q *identitydb.Queries, id uuid.UUID, perms []Permission) error {
	for _, perm := range perms {
		if err := q.AddRolePermission(ctx, identitydb.AddRolePermissionParams{RoleID: id, Permission: string(perm)}); err != nil {
			return err
		}
	}
	return nil
}
