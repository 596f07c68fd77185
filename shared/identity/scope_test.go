package identity_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/identity"
)

func TestScopePredicateAndAllows(t *testing.T) {
	me, unit, sub, m := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	cols := identity.Columns{Owner: "owner_id", OrgUnit: "org_unit_id", Merchant: "merchant_id"}
	cases := []struct {
		s     identity.Scope
		sql   string
		nargs int
		allow identity.Row
		deny  identity.Row
	}{
		{identity.Scope{}, "false", 0, identity.Row{}, identity.Row{Owner: me}},
		{identity.NewScope(identity.LevelOwn, me, nil, uuid.Nil), "(owner_id = ANY($3::uuid[]))", 1, identity.Row{Owner: me}, identity.Row{OrgUnit: unit}},
		{identity.NewScope(identity.LevelTeam, me, []uuid.UUID{unit}, uuid.Nil), "(owner_id = ANY($3::uuid[]) OR org_unit_id = ANY($4::uuid[]))", 2,
			identity.Row{Owner: uuid.New(), OrgUnit: unit}, identity.Row{OrgUnit: sub}},
		{identity.NewScope(identity.LevelSubtree, me, []uuid.UUID{unit, sub}, uuid.Nil), "(owner_id = ANY($3::uuid[]) OR org_unit_id = ANY($4::uuid[]))", 2,
			identity.Row{OrgUnit: sub}, identity.Row{OrgUnit: uuid.New()}},
		{identity.NewScope(identity.LevelMerchant, me, nil, m), "(owner_id = ANY($3::uuid[]) OR merchant_id = ANY($4::uuid[]))", 2,
			identity.Row{Merchant: m}, identity.Row{Merchant: uuid.New()}},
		{identity.AllScope(), "true", 0, identity.Row{OrgUnit: uuid.New()}, identity.Row{}},
	}
	for _, c := range cases {
		sql, args := c.s.Predicate(cols, 3)
		if sql != c.sql || len(args) != c.nargs {
			t.Errorf("%s: %s %d", c.s.Level(), sql, len(args))
		}
		if c.s.Level() != identity.LevelNone && !c.s.Allows(c.allow) {
			t.Errorf("%s must allow %+v", c.s.Level(), c.allow)
		}
		if c.s.Level() != identity.LevelAll && c.s.Allows(c.deny) {
			t.Errorf("%s must deny %+v", c.s.Level(), c.deny)
		}
	}
	if identity.LevelTeam.Covers(identity.LevelSubtree) || !identity.LevelSubtree.Covers(identity.LevelTeam) ||
		identity.LevelMerchant.Covers(identity.LevelTeam) || !identity.LevelAll.Covers(identity.LevelMerchant) ||
		identity.LevelSubtree.Covers(identity.LevelMerchant) {
		t.Error("Covers")
	}
}
