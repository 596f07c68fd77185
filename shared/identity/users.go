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
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity/internal/identitydb"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/phone"
)

var (
	loginRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{2,63}$`)
)

// NewUser is what CreateUser takes. Staff need OrgUnitID; merchant users MerchantID
// (a merchant-scoped creator's own merchant when zero).
type NewUser struct {
	Login       string
	DisplayName string
	Kind        UserKind
	OrgUnitID   uuid.UUID
	MerchantID  uuid.UUID
	Phone       string
	Password    string
	Roles       []string
}

// UserPatch changes the fields that are set.
type UserPatch struct {
	DisplayName *string
	Phone       *string
	OrgUnitID   *uuid.UUID
	Disabled    *bool
}

// UserFilter narrows ListUsers; zero fields do not filter.
type UserFilter struct {
	Q         string // part of the login or the name
	OrgUnitID uuid.UUID
	Role      string // a role key
	After     uuid.UUID
	Limit     int
}

// ErrSelfGrant refuses changing one's own roles.
var ErrSelfGrant = errs.E(errs.KindForbidden, "identity.self_grant", "you cannot change your own roles")

func grantForbidden(role string) *errs.Error {
	return &errs.Error{Kind: errs.KindForbidden, Code: "identity.grant_forbidden", Field: "roles",
		Message: "you cannot grant the role " + role + ": it holds permissions or a scope you do not hold"}
}

// CreateUser adds a user inside the principal's scope of PermUserWrite, with roles the
// principal may grant.
func (s *Service) CreateUser(ctx context.Context, p *Principal, in NewUser) (User, error) {
	sc, err := p.Require(PermUserWrite)
	if err != nil {
		return User{}, err
	}
	in.Login = strings.ToLower(strings.TrimSpace(in.Login))
	in.DisplayName = strings.TrimSpace(in.DisplayName)
	if in.Kind == "" {
		in.Kind = KindStaff
	}
	if err := validateUser(in); err != nil {
		return User{}, err
	}
	if in.Phone, err = optionalPhone(in.Phone); err != nil {
		return User{}, err
	}
	switch in.Kind {
	case KindStaff:
		in.MerchantID = uuid.Nil
		if !sc.Allows(Row{OrgUnit: in.OrgUnitID}) {
			return User{}, errs.NotFound("identity.org_unit").WithField("org_unit_id")
		}
	case KindMerchant:
		in.OrgUnitID = uuid.Nil
		if in.MerchantID == uuid.Nil {
			in.MerchantID = p.User.MerchantID.UUID
		}
		if in.MerchantID == uuid.Nil {
			return User{}, errs.Invalidf("merchant_id", "a merchant user needs a merchant_id")
		}
		if !sc.Allows(Row{Merchant: in.MerchantID}) {
			return User{}, errs.NotFound("merchant").WithField("merchant_id")
		}
	}
	hash, err := hashPassword(in.Password, s.cfg.Argon2)
	if err != nil {
		return User{}, err
	}
	id := newID()
	var refusal *errs.Error
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		roles, err := loadRoles(ctx, q)
		if err != nil {
			return err
		}
		if refusal = checkGrants(p, in.Kind, nil, in.Roles, roles); refusal != nil {
			return refusal
		}
		if in.Kind == KindStaff {
			if _, err := q.GetOrgUnit(ctx, in.OrgUnitID); err != nil {
				return notFound(err, "identity.org_unit")
			}
		}
		err = q.InsertUser(ctx, identitydb.InsertUserParams{ID: id, Login: in.Login, DisplayName: in.DisplayName, Kind: string(in.Kind),
			OrgUnitID: nullUUID(in.OrgUnitID), MerchantID: nullUUID(in.MerchantID), Phone: in.Phone, PasswordHash: hash})
		if pg.IsUniqueViolation(err, "users_login_key") {
			return &errs.Error{Kind: errs.KindConflict, Code: "identity.login_taken", Field: "login", Message: "the login " + in.Login + " is taken", Err: err}
		}
		if err != nil {
			return err
		}
		if err := grantRoles(ctx, q, p, id, in.Roles, roles); err != nil {
			return err
		}
		u, err := getUser(ctx, q, id)
		if err != nil {
			return err
		}
		return record(ctx, tx, p, "identity.user.create", "identity.user", id.String(), nil, auditView(u))
	})
	if refusal != nil {
		return User{}, s.denied(ctx, p, refusal, "identity.user", in.Login, map[string]any{"roles": in.Roles})
	}
	if err != nil {
		return User{}, fmt.Errorf("identity: create user: %w", pg.Classify(err))
	}
	return s.GetUser(ctx, p, id)
}

// optionalPhone is a user's phone in E.164, or "" when none is given.
func optionalPhone(s string) (string, error) {
	if strings.TrimSpace(s) == "" {
		return "", nil
	}
	return phone.Normalize("phone", s)
}

func validateUser(in NewUser) error {
	switch {
	case !loginRE.MatchString(in.Login):
		return errs.Invalidf("login", "a login has 3 to 64 characters: lower-case letters, digits, '.', '_' or '-'")
	case in.DisplayName == "" || len([]rune(in.DisplayName)) > 100:
		return errs.Invalidf("display_name", "a name has 1 to 100 characters")
	case in.Kind != KindStaff && in.Kind != KindMerchant:
		return errs.Invalidf("kind", "kind is staff or merchant")
	case in.Kind == KindStaff && in.OrgUnitID == uuid.Nil:
		return errs.Invalidf("org_unit_id", "a staff user needs an org unit")
	}
	return CheckPassword(in.Password, in.Login)
}

// GetUser returns a user in the principal's scope of PermUserRead; any other id is
// "not found".
func (s *Service) GetUser(ctx context.Context, p *Principal, id uuid.UUID) (User, error) {
	sc, err := p.Require(PermUserRead)
	if err != nil {
		return User{}, err
	}
	u, err := getUser(ctx, identitydb.New(s.db), id)
	if err != nil {
		return User{}, err
	}
	if !sc.Allows(u.row()) {
		return User{}, errs.NotFound("identity.user")
	}
	u.Phone = p.Phone(u.Phone)
	return u, nil
}

func getUser(ctx context.Context, q *identitydb.Queries, id uuid.UUID) (User, error) {
	// One primary-key lookup: the role keys are on the row (migration 005's trigger).
	row, err := q.GetUser(ctx, id)
	if err != nil {
		return User{}, notFound(err, "identity.user")
	}
	u := userOf(row)
	u.Roles = append(u.Roles, row.RoleKeys...)
	return u, nil
}

// ListUsers lists the users in the principal's scope of PermUserRead, oldest first;
// it returns the cursor of the next page (uuid.Nil at the end).
func (s *Service) ListUsers(ctx context.Context, p *Principal, f UserFilter) ([]User, uuid.UUID, error) {
	sc, err := p.Require(PermUserRead)
	if err != nil {
		return nil, uuid.Nil, err
	}
	limit := int(pg.PageLimit(f.Limit))
	q := identitydb.New(s.db)
	rows, err := q.ListUsers(ctx, identitydb.ListUsersParams{
		ScopeAll: sc.SeesAll(), ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs(), ScopeMerchantIds: sc.MerchantIDs(),
		AfterID: nullUUID(f.After), Q: optString(f.Q), OrgUnitID: nullUUID(f.OrgUnitID), RoleKey: optString(f.Role),
		MaxRows: int32(limit + 1)})
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("identity: list users: %w", pg.Classify(err))
	}
	rows, next := pg.TrimPage(rows, limit, func(r identitydb.IdentityUser) uuid.UUID { return r.ID })
	ids := make([]uuid.UUID, len(rows))
	out := make([]User, len(rows))
	index := map[uuid.UUID]int{}
	for i, r := range rows {
		out[i] = userOf(r)
		out[i].Phone = p.Phone(out[i].Phone)
		ids[i], index[r.ID] = r.ID, i
	}
	keys, err := q.UserRoleKeys(ctx, ids)
	if err != nil {
		return nil, uuid.Nil, fmt.Errorf("identity: list users: %w", err)
	}
	for _, k := range keys {
		out[index[k.UserID]].Roles = append(out[index[k.UserID]].Roles, k.Key)
	}
	return out, next, nil
}

// UpdateUser changes a user in the principal's scope of PermUserWrite. Disabling a
// user ends their sessions; nobody disables themselves.
func (s *Service) UpdateUser(ctx context.Context, p *Principal, id uuid.UUID, patch UserPatch) (User, error) {
	sc, err := p.Require(PermUserWrite)
	if err != nil {
		return User{}, err
	}
	err = s.changeTx(ctx, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		row, err := q.GetUserForUpdate(ctx, id)
		if err != nil {
			return notFound(err, "identity.user")
		}
		before := userOf(row)
		if !sc.Allows(before.row()) {
			return errs.NotFound("identity.user")
		}
		next := identitydb.UpdateUserProfileParams{ID: id, DisplayName: row.DisplayName, Phone: row.Phone, OrgUnitID: row.OrgUnitID, DisabledAt: row.DisabledAt}
		if patch.DisplayName != nil {
			next.DisplayName = strings.TrimSpace(*patch.DisplayName)
			if next.DisplayName == "" || len([]rune(next.DisplayName)) > 100 {
				return errs.Invalidf("display_name", "a name has 1 to 100 characters")
			}
		}
		if patch.Phone != nil {
			if next.Phone, err = optionalPhone(*patch.Phone); err != nil {
				return err
			}
		}
		if patch.OrgUnitID != nil {
			if row.Kind != string(KindStaff) {
				return errs.Invalidf("org_unit_id", "only staff belong to an org unit")
			}
			if !sc.Allows(Row{OrgUnit: *patch.OrgUnitID}) {
				return errs.NotFound("identity.org_unit").WithField("org_unit_id")
			}
			if _, err := q.GetOrgUnit(ctx, *patch.OrgUnitID); err != nil {
				return notFound(err, "identity.org_unit")
			}
			next.OrgUnitID = nullUUID(*patch.OrgUnitID)
		}
		if patch.Disabled != nil {
			switch {
			case *patch.Disabled && id == p.User.ID:
				return &errs.Error{Kind: errs.KindUnprocessable, Code: "identity.self_disable", Field: "disabled", Message: "you cannot disable yourself"}
			case *patch.Disabled && row.DisabledAt == nil:
				now := s.now()
				next.DisabledAt = &now
				if err := q.RevokeUserSessions(ctx, id); err != nil {
					return err
				}
			case !*patch.Disabled:
				next.DisabledAt = nil
			}
		}
		if err := q.UpdateUserProfile(ctx, next); err != nil {
			return err
		}
		// Other domains act on a user leaving their work (the B-CRM hands their leads over).
		if disabled, moved := next.DisabledAt != nil && row.DisabledAt == nil, next.OrgUnitID != row.OrgUnitID; disabled || moved {
			if _, err := outbox.Publish(ctx, tx, events.TopicStaffChanged, id.String(), events.StaffChanged{UserID: id,
				Disabled: disabled, FromUnit: row.OrgUnitID, ToUnit: next.OrgUnitID}); err != nil {
				return err
			}
		}
		after, err := getUser(ctx, q, id)
		if err != nil {
			return err
		}
		before.Roles = after.Roles
		return record(ctx, tx, p, "identity.user.update", "identity.user", id.String(), auditView(before), auditView(after))
	})
	if err != nil {
		return User{}, fmt.Errorf("identity: update user: %w", pg.Classify(err))
	}
	return s.GetUser(ctx, p, id)
}

// SetUserRoles replaces a user's roles. The principal must see the user (PermUserWrite)
// and be able to grant every role added or removed: hold each of its permissions at a
// scope covering the role's. Nobody changes their own roles. Refusals are audited.
func (s *Service) SetUserRoles(ctx context.Context, p *Principal, id uuid.UUID, keys []string) (User, error) {
	sc, err := p.Require(PermUserWrite)
	if err != nil {
		return User{}, err
	}
	var refusal *errs.Error
	err = s.changeTx(ctx, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		before, err := getUserForUpdate(ctx, q, id)
		if err != nil {
			return err
		}
		if !sc.Allows(before.row()) {
			return errs.NotFound("identity.user")
		}
		if id == p.User.ID {
			refusal = ErrSelfGrant
			return refusal
		}
		roles, err := loadRoles(ctx, q)
		if err != nil {
			return err
		}
		if refusal = checkGrants(p, before.Kind, before.Roles, keys, roles); refusal != nil {
			return refusal
		}
		if err := q.ClearUserRoles(ctx, id); err != nil {
			return err
		}
		if err := grantRoles(ctx, q, p, id, keys, roles); err != nil {
			return err
		}
		after, err := getUser(ctx, q, id)
		if err != nil {
			return err
		}
		return record(ctx, tx, p, "identity.user.roles", "identity.user", id.String(),
			map[string]any{"roles": before.Roles}, map[string]any{"roles": after.Roles})
	})
	if refusal != nil {
		return User{}, s.denied(ctx, p, refusal, "identity.user", id.String(), map[string]any{"roles": keys})
	}
	if err != nil {
		return User{}, fmt.Errorf("identity: set roles: %w", pg.Classify(err))
	}
	return s.GetUser(ctx, p, id)
}

func getUserForUpdate(ctx context.Context, q *identitydb.Queries, id uuid.UUID) (User, error) {
	if _, err := q.GetUserForUpdate(ctx, id); err != nil {
		return User{}, notFound(err, "identity.user")
	}
	return getUser(ctx, q, id)
}

// checkGrants refuses a change from roles from to roles to unless every role added or
// removed exists, suits the user's kind and is grantable by p.
func checkGrants(p *Principal, kind UserKind, from, to []string, roles map[string]Role) *errs.Error {
	for _, key := range to {
		r, ok := roles[key]
		if !ok {
			return &errs.Error{Kind: errs.KindUnprocessable, Code: "identity.role_unknown", Field: "roles", Message: "no such role: " + key}
		}
		if (r.Scope == LevelMerchant) != (kind == KindMerchant) {
			return &errs.Error{Kind: errs.KindUnprocessable, Code: "identity.role_kind", Field: "roles",
				Message: "the role " + key + " is not for " + string(kind) + " users"}
		}
	}
	for _, key := range append(slices.Clone(from), to...) {
		if slices.Contains(from, key) && slices.Contains(to, key) {
			continue // kept, not changed
		}
		if r := roles[key]; !p.canGrant(r.Scope, r.Permissions) {
			return grantForbidden(key)
		}
	}
	return nil
}

func grantRoles(ctx context.Context, q *identitydb.Queries, p *Principal, id uuid.UUID, keys []string, roles map[string]Role) error {
	for _, key := range keys {
		if err := q.GrantRole(ctx, identitydb.GrantRoleParams{UserID: id, RoleID: roles[key].ID, GrantedBy: nullUUID(p.User.ID)}); err != nil {
			return err
		}
	}
	return nil
}

// SetPassword sets a password: one's own (giving the current one), or another user's
// in scope of PermUserWrite, which also unlocks the account and ends their sessions.
func (s *Service) SetPassword(ctx context.Context, p *Principal, id uuid.UUID, current, next string) error {
	self := id == p.User.ID
	var sc Scope
	if !self {
		var err error
		if sc, err = p.Require(PermUserWrite); err != nil {
			return err
		}
	}
	if self {
		if err := CheckPassword(next, p.User.Login); err != nil {
			return err
		}
	}
	hash, err := hashPassword(next, s.cfg.Argon2)
	if err != nil {
		return err
	}
	var refusal *errs.Error
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := identitydb.New(tx)
		row, err := q.GetUserForUpdate(ctx, id)
		if err != nil {
			return notFound(err, "identity.user")
		}
		if !self && !sc.Allows(userOf(row).row()) {
			return errs.NotFound("identity.user")
		}
		if err := CheckPassword(next, row.Login); err != nil {
			return err
		}
		if self && !verifyPassword(current, row.PasswordHash) {
			refusal = &errs.Error{Kind: errs.KindUnprocessable, Code: "identity.current_password_wrong", Field: "current_password", Message: "the current password is wrong"}
			return refusal
		}
		if err := q.SetPassword(ctx, identitydb.SetPasswordParams{ID: id, PasswordHash: hash}); err != nil {
			return err
		}
		if !self {
			if err := q.RevokeUserSessions(ctx, id); err != nil {
				return err
			}
		}
		return record(ctx, tx, p, "identity.user.password", "identity.user", id.String(), nil, map[string]bool{"by_self": self})
	})
	if refusal != nil {
		return s.denied(ctx, p, refusal, "identity.user", id.String(), nil)
	}
	if err != nil {
		return fmt.Errorf("identity: set password: %w", pg.Classify(err))
	}
	return nil
}

// auditView is a user as the audit log keeps it: personal data masked.
func auditView(u User) User {
	u.Phone = phone.Mask(u.Phone)
	return u
}

func nullUUID(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

func optString(s string) *string {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	return &s
}
