package identity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// Level is a data scope's breadth: which rows a permission reaches.
type Level string

const (
	LevelNone     Level = ""         // no rows at all: the permission is not held
	LevelOwn      Level = "own"      // rows the user owns
	LevelTeam     Level = "team"     // rows of the user's org unit
	LevelSubtree  Level = "subtree"  // rows of the user's org unit and every unit below it
	LevelAll      Level = "all"      // every row
	LevelMerchant Level = "merchant" // rows of the user's merchant (merchant-side users)
)

// Levels lists the levels a role may carry, narrowest first.
func Levels() []Level { return []Level{LevelOwn, LevelTeam, LevelSubtree, LevelAll, LevelMerchant} }

// Valid reports whether l is a level a role may carry.
func (l Level) Valid() bool { return slices.Contains(Levels(), l) }

// Covers reports whether a holder of l may hand out o (a role at level o): all covers
// everything; merchant covers merchant and own; otherwise own < team < subtree.
func (l Level) Covers(o Level) bool {
	switch {
	case l == LevelNone || o == LevelNone:
		return false
	case l == LevelAll:
		return true
	case l == LevelMerchant:
		return o == LevelMerchant || o == LevelOwn
	case o == LevelMerchant || o == LevelAll:
		return false
	}
	return rank(l) >= rank(o)
}

func rank(l Level) int { return slices.Index([]Level{LevelOwn, LevelTeam, LevelSubtree}, l) }

// broader returns the broader of two levels a user holds one permission at.
func broader(a, b Level) Level {
	if a == LevelNone || b.Covers(a) {
		return b
	}
	return a
}

// Scope is the one data filter every domain query applies: the rows a principal may
// see with one permission. A row is in scope when its owner is one of OwnerIDs, or
// its org unit is one of OrgUnitIDs, or its merchant is one of MerchantIDs, or when
// SeesAll. The zero Scope sees nothing, so a forgotten permission check fails closed.
//
// Domains apply it in one of two ways:
//
//   - sqlc queries take it as parameters (the same four lines in every scoped query):
//
//     WHERE (sqlc.arg(scope_all)::bool
//     OR owner_id    = ANY(sqlc.arg(scope_owner_ids)::uuid[])
//     OR org_unit_id = ANY(sqlc.arg(scope_org_unit_ids)::uuid[])
//     OR merchant_id = ANY(sqlc.arg(scope_merchant_ids)::uuid[]))
//
//     and the call passes ScopeAll: s.SeesAll(), ScopeOwnerIds: s.OwnerIDs(), ...
//     (a table without one of the columns leaves that line out: fewer rows, never more);
//
//   - hand-built dynamic SQL asks Predicate for the fragment and its arguments.
//
// The org units are resolved (the subtree expanded) when the principal is loaded, so
// a domain never reads the identity schema.
type Scope struct {
	level    Level
	userID   uuid.UUID
	units    []uuid.UUID
	merchant uuid.UUID
}

// NewScope builds a scope by hand: for tests and for system jobs. units are the org
// units a team or subtree scope reaches (already expanded).
func NewScope(level Level, userID uuid.UUID, units []uuid.UUID, merchantID uuid.UUID) Scope {
	return Scope{level: level, userID: userID, units: slices.Clone(units), merchant: merchantID}
}

// AllScope sees every row: for system jobs that act for no user.
func AllScope() Scope { return Scope{level: LevelAll} }

// Level is the scope's breadth.
func (s Scope) Level() Level { return s.level }

// SeesAll reports whether every row is in scope.
func (s Scope) SeesAll() bool { return s.level == LevelAll }

// OwnerIDs are the owners whose rows are in scope: the user, at every level but none.
func (s Scope) OwnerIDs() []uuid.UUID {
	if s.level == LevelNone || s.userID == uuid.Nil {
		return []uuid.UUID{}
	}
	return []uuid.UUID{s.userID}
}

// OrgUnitIDs are the org units whose rows are in scope (team: one; subtree: the unit
// and all below it).
func (s Scope) OrgUnitIDs() []uuid.UUID {
	if s.level != LevelTeam && s.level != LevelSubtree {
		return []uuid.UUID{}
	}
	return slices.Clone(s.units)
}

// MerchantIDs are the merchants whose rows are in scope.
func (s Scope) MerchantIDs() []uuid.UUID {
	if s.level != LevelMerchant || s.merchant == uuid.Nil {
		return []uuid.UUID{}
	}
	return []uuid.UUID{s.merchant}
}

// Row is what Allows checks of one row; uuid.Nil for a column the row does not have.
type Row struct{ Owner, OrgUnit, Merchant uuid.UUID }

// Allows reports whether one row is in scope: the check a service makes on a single
// object it loaded by id (and answers "not found" when false, so ids cannot be probed).
func (s Scope) Allows(r Row) bool {
	switch {
	case s.level == LevelNone:
		return false
	case s.level == LevelAll:
		return true
	case r.Owner != uuid.Nil && r.Owner == s.userID:
		return true
	case r.OrgUnit != uuid.Nil && slices.Contains(s.OrgUnitIDs(), r.OrgUnit):
		return true
	case r.Merchant != uuid.Nil && slices.Contains(s.MerchantIDs(), r.Merchant):
		return true
	}
	return false
}

// Columns names a table's scope columns for Predicate; "" for one it lacks.
type Columns struct{ Owner, OrgUnit, Merchant string }

// Predicate returns the scope as a SQL boolean over cols, with its arguments numbered
// from $first: for queries built at run time. Column names are the caller's constants,
// never input.
func (s Scope) Predicate(cols Columns, first int) (string, []any) {
	if s.SeesAll() {
		return "true", nil
	}
	var parts []string
	var args []any
	add := func(col string, ids []uuid.UUID) {
		if col == "" || len(ids) == 0 {
			return
		}
		parts = append(parts, fmt.Sprintf("%s = ANY($%d::uuid[])", col, first+len(args)))
		args = append(args, ids)
	}
	add(cols.Owner, s.OwnerIDs())
	add(cols.OrgUnit, s.OrgUnitIDs())
	add(cols.Merchant, s.MerchantIDs())
	if len(parts) == 0 {
		return "false", nil
	}
	return "(" + strings.Join(parts, " OR ") + ")", args
}
