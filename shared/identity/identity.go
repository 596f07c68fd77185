// Package identity is who may do what in Tandem: staff users on an org tree (root →
// region → city → team), merchant-side users bound to one merchant, roles granting
// permissions at a data scope (own, team, subtree, all, merchant), console sessions,
// API tokens, consumers' identities, the masking of personal data, and the rate limits
// on signing in and on tokens.
//
// Every public method of Service owns its transaction and checks the caller's
// permission and scope itself (the handlers in http.go only translate HTTP); a row the
// caller may not see answers "not found", never "forbidden", so ids cannot be probed.
// Every change is written to the audit log (shared/audit) in the same transaction.
package identity

import (
	"embed"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/phone"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the identity schema's migration set; it comes after platform and audit.
var Migrations = pg.EmbeddedMigrations("identity", migrationFiles, "migrations")

// UserKind tells staff from merchant-side users.
type UserKind string

const (
	KindStaff    UserKind = "staff"    // bound to an org unit
	KindMerchant UserKind = "merchant" // bound to one merchant
)

// User is a person who signs in. Phone is masked unless the reader holds PermPIIRead.
type User struct {
	ID          uuid.UUID     `json:"id"`
	Login       string        `json:"login"`
	DisplayName string        `json:"display_name"`
	Kind        UserKind      `json:"kind"`
	OrgUnitID   uuid.NullUUID `json:"org_unit_id"`
	MerchantID  uuid.NullUUID `json:"merchant_id"`
	Phone       string        `json:"phone"`
	Roles       []string      `json:"roles"`
	Disabled    bool          `json:"disabled"`
	LockedUntil *time.Time    `json:"locked_until,omitempty"`
	LastLoginAt *time.Time    `json:"last_login_at,omitempty"`
	CreatedAt   time.Time     `json:"created_at"`
}

// row is how scopes see a user: owned by themselves, in their unit or merchant.
func (u User) row() Row {
	return Row{Owner: u.ID, OrgUnit: u.OrgUnitID.UUID, Merchant: u.MerchantID.UUID}
}

// RoleRef names a role a user holds.
type RoleRef struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Scope Level  `json:"scope"`
}

// Principal is an authenticated caller: the user, what they hold, and how they came.
type Principal struct {
	User  User
	Roles []RoleRef
	perms map[Permission]Level
	// subtree is the user's org unit followed by every unit below it.
	subtree   []uuid.UUID
	SessionID uuid.UUID // set when authenticated by a session cookie
	TokenID   uuid.UUID // set when authenticated by an API token
	CSRFToken string    // the session's CSRF token
}

// Can reports whether the principal holds perm at any scope.
func (p *Principal) Can(perm Permission) bool { return p != nil && p.perms[perm] != LevelNone }

// Permissions returns every permission held with its scope.
func (p *Principal) Permissions() map[Permission]Level {
	out := make(map[Permission]Level, len(p.perms))
	for k, v := range p.perms {
		out[k] = v
	}
	return out
}

// Scope returns the rows perm reaches for this principal (the zero Scope when the
// permission is not held). With several roles granting perm the broadest wins.
func (p *Principal) Scope(perm Permission) Scope {
	if p == nil {
		return Scope{}
	}
	return p.scopeAt(p.perms[perm])
}

func (p *Principal) scopeAt(l Level) Scope {
	s := Scope{level: l, userID: p.User.ID, merchant: p.User.MerchantID.UUID}
	switch l {
	case LevelTeam:
		if p.User.OrgUnitID.Valid {
			s.units = []uuid.UUID{p.User.OrgUnitID.UUID}
		}
	case LevelSubtree:
		s.units = slices.Clone(p.subtree)
	}
	return s
}

// Require returns perm's scope, or a 403 when the principal does not hold it.
func (p *Principal) Require(perm Permission) (Scope, error) {
	if !p.Can(perm) {
		return Scope{}, errs.E(errs.KindForbidden, "identity.forbidden", "you do not have the permission "+string(perm))
	}
	return p.Scope(perm), nil
}

// RequireAll checks that p holds perm at scope all, for data that belongs to no owner,
// org unit or merchant (the C-CRM's members and what is kept of them): a narrower scope
// reaches none of it, so such a caller is answered errs.NotFound(notFound), as for a row
// outside their scope, and cannot tell what exists.
func (p *Principal) RequireAll(perm Permission, notFound string) error {
	if p == nil {
		return ErrUnauthenticated
	}
	sc, err := p.Require(perm)
	if err != nil {
		return err
	}
	if !sc.SeesAll() {
		return errs.NotFound(notFound)
	}
	return nil
}

// Actor is the principal as the audit log records it.
func (p *Principal) Actor() audit.Actor {
	if p == nil {
		return audit.Actor{}
	}
	return audit.Actor{ID: p.User.ID, Login: p.User.Login, OrgUnitID: p.User.OrgUnitID.UUID, MerchantID: p.User.MerchantID.UUID}
}

// canGrant reports whether the principal may hand out perms at level l: they must
// hold every one of them at a level that covers l.
func (p *Principal) canGrant(l Level, perms []Permission) bool {
	for _, perm := range perms {
		if !p.perms[perm].Covers(l) {
			return false
		}
	}
	return true
}

// Phone returns a phone number as this principal may see it.
func (p *Principal) Phone(s string) string {
	if p.Can(PermPIIRead) {
		return s
	}
	return phone.Mask(s)
}

// IDNumber returns an identity-card number as this principal may see it.
func (p *Principal) IDNumber(s string) string {
	if p.Can(PermPIIRead) {
		return s
	}
	return MaskIDNumber(s)
}

// AuthMethod says how the principal authenticated: "session" or "token".
func (p *Principal) AuthMethod() string {
	if p.TokenID != uuid.Nil {
		return "token"
	}
	return "session"
}
