package identity_test

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/identity"
)

func TestUsersAreScoped(t *testing.T) {
	w := newWorld(t)
	visible := func(login string) map[uuid.UUID]string {
		users, _, err := w.svc.ListUsers(w.ctx, w.p(t, login), identity.UserFilter{})
		if err != nil {
			t.Fatalf("%s: %v", login, err)
		}
		return ids(users)
	}
	all := visible("admin")
	if len(all) != len(w.demo.Users) {
		t.Fatalf("admin sees %d of %d", len(all), len(w.demo.Users))
	}
	sh := visible("sh.manager")
	for login, want := range map[string]bool{"sh.manager": true, "sh1.lead": true, "sh1.rep": true, "sh2.rep": true, "reviewer": true,
		"hz.lead": false, "hz1.rep": false, "admin": false, "shop.owner": false} {
		if _, ok := sh[w.demo.Users[login]]; ok != want {
			t.Errorf("city manager sees %s: %v, want %v", login, ok, want)
		}
	}
	lead := visible("sh1.lead")
	if len(lead) != 2 || lead[w.demo.Users["sh1.rep"]] == "" {
		t.Errorf("team lead sees %v", lead)
	}
	owner := visible("shop.owner")
	if len(owner) != 2 || owner[w.demo.Users["shop.staff"]] == "" {
		t.Errorf("merchant owner sees %v", owner)
	}
	// By id: out of scope is "not found".
	_, err := w.svc.GetUser(w.ctx, w.p(t, "sh1.lead"), w.demo.Users["hz1.rep"])
	wantCode(t, err, "identity.user_not_found")
	_, err = w.svc.GetUser(w.ctx, w.p(t, "shop.owner"), w.demo.Users["shop2.owner"])
	wantCode(t, err, "identity.user_not_found")
	_, err = w.svc.GetUser(w.ctx, w.p(t, "sh1.rep"), w.demo.Users["sh1.rep"])
	wantCode(t, err, "identity.forbidden")
	// Phones are masked unless the reader may see them.
	u, err := w.svc.GetUser(w.ctx, w.p(t, "sh1.lead"), w.demo.Users["sh1.rep"])
	if err != nil || u.Phone != "138****5678" {
		t.Fatalf("lead sees phone %q (%v)", u.Phone, err)
	}
	u, _ = w.svc.GetUser(w.ctx, w.p(t, "sh.manager"), w.demo.Users["sh1.rep"])
	if u.Phone != "+8613812345678" { // stored in E.164, whatever form it was given in
		t.Fatalf("manager sees phone %q", u.Phone)
	}
	// Filters and pages.
	page, next, err := w.svc.ListUsers(w.ctx, w.p(t, "admin"), identity.UserFilter{Role: identity.RoleSalesRep, Limit: 2})
	if err != nil || len(page) != 2 || next == uuid.Nil {
		t.Fatalf("page 1: %v %d", err, len(page))
	}
	rest, next, err := w.svc.ListUsers(w.ctx, w.p(t, "admin"), identity.UserFilter{Role: identity.RoleSalesRep, Limit: 2, After: next})
	if err != nil || len(rest) != 1 || next != uuid.Nil {
		t.Fatalf("page 2: %v %d", err, len(rest))
	}
}

func TestNoEscalation(t *testing.T) {
	w := newWorld(t)
	mgr := w.p(t, "sh.manager")
	rep := w.demo.Users["sh1.rep"]
	cases := []struct {
		name  string
		who   *identity.Principal
		user  uuid.UUID
		roles []string
		code  string
	}{
		{"own roles", mgr, w.demo.Users["sh.manager"], []string{identity.RoleAdmin}, "identity.self_grant"},
		{"admin role", mgr, rep, []string{identity.RoleAdmin}, "identity.grant_forbidden"},
		{"role with permissions not held", mgr, rep, []string{identity.RoleFinance}, "identity.grant_forbidden"},
		{"user in another city", mgr, w.demo.Users["hz1.rep"], []string{identity.RoleSalesRep}, "identity.user_not_found"},
		{"unknown role", mgr, rep, []string{"wizard"}, "identity.role_unknown"},
		{"merchant role on staff", w.p(t, "admin"), rep, []string{identity.RoleMerchantOwner}, "identity.role_kind"},
		{"removing a role one could not grant", mgr, w.demo.Users["reviewer"], []string{}, "identity.grant_forbidden"},
		{"team lead of one's own city", mgr, w.demo.Users["sh2.rep"], []string{identity.RoleTeamLead}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := w.svc.GetUser(w.ctx, w.p(t, "admin"), c.user)
			_, err := w.svc.SetUserRoles(w.ctx, c.who, c.user, c.roles)
			if c.code == "" {
				if err != nil {
					t.Fatalf("allowed change refused: %v", err)
				}
				return
			}
			wantCode(t, err, c.code)
			after, _ := w.svc.GetUser(w.ctx, w.p(t, "admin"), c.user)
			if !slices.Equal(before.Roles, after.Roles) {
				t.Fatalf("roles changed: %v → %v", before.Roles, after.Roles)
			}
		})
	}
	// A city manager makes a team lead of a rep in their city: allowed.
	if _, err := w.svc.SetUserRoles(w.ctx, mgr, rep, []string{identity.RoleSalesRep, identity.RoleTeamLead}); err != nil {
		t.Fatal(err)
	}
	// Creating a user with a role above oneself, or outside one's subtree, fails too.
	_, err := w.svc.CreateUser(w.ctx, mgr, identity.NewUser{Login: "new.rep", DisplayName: "New", OrgUnitID: w.demo.Units[identity.DemoSHTeam1],
		Password: "long-enough-pw-1", Roles: []string{identity.RoleCityManager, identity.RoleFinance}})
	wantCode(t, err, "identity.grant_forbidden")
	_, err = w.svc.CreateUser(w.ctx, mgr, identity.NewUser{Login: "new.rep", DisplayName: "New", OrgUnitID: w.demo.Units[identity.DemoHZTeam1],
		Password: "long-enough-pw-1", Roles: []string{identity.RoleSalesRep}})
	wantCode(t, err, "identity.org_unit_not_found")
	made, err := w.svc.CreateUser(w.ctx, mgr, identity.NewUser{Login: "new.rep", DisplayName: "New", OrgUnitID: w.demo.Units[identity.DemoSHTeam1],
		Password: "long-enough-pw-1", Roles: []string{identity.RoleSalesRep}})
	if err != nil || !slices.Equal(made.Roles, []string{identity.RoleSalesRep}) {
		t.Fatalf("create: %v %+v", err, made)
	}
	_, err = w.svc.CreateUser(w.ctx, mgr, identity.NewUser{Login: "new.rep", DisplayName: "New", OrgUnitID: w.demo.Units[identity.DemoSHTeam1], Password: "long-enough-pw-1"})
	wantCode(t, err, "identity.login_taken")
	// Roles: no role broader than oneself.
	_, err = w.svc.CreateRole(w.ctx, w.p(t, "admin"), identity.RoleInput{Key: "auditor", Name: "Auditor", Scope: identity.LevelAll,
		Permissions: []identity.Permission{identity.PermAuditRead, identity.PermAuditExport}})
	if err != nil {
		t.Fatal(err)
	}
	denied := auditActions(t, w, audit.Filter{Action: "denied.identity.grant_forbidden"})
	if len(denied) != 4 {
		t.Fatalf("denied attempts audited: %v", denied)
	}
}

func TestRolesCannotExceedTheirMaker(t *testing.T) {
	w := newWorld(t)
	admin := w.p(t, "admin")
	roles, err := w.svc.ListRoles(w.ctx, admin)
	if err != nil || len(roles) != len(identity.BuiltinRoles()) {
		t.Fatalf("roles: %v %d", err, len(roles))
	}
	var adminRole, repRole identity.Role
	for _, r := range roles {
		switch r.Key {
		case identity.RoleAdmin:
			adminRole = r
		case identity.RoleSalesRep:
			repRole = r
		}
	}
	_, err = w.svc.UpdateRole(w.ctx, admin, adminRole.ID, identity.RoleInput{Name: "x", Scope: identity.LevelOwn})
	wantCode(t, err, "identity.role_locked")
	_, err = w.svc.CreateRole(w.ctx, admin, identity.RoleInput{Key: "bad", Name: "Bad", Scope: identity.LevelAll, Permissions: []identity.Permission{"no.such.thing"}})
	wantCode(t, err, "invalid_input")
	upd, err := w.svc.UpdateRole(w.ctx, admin, repRole.ID, identity.RoleInput{Name: "Field rep", Scope: identity.LevelOwn,
		Permissions: append(repRole.Permissions, identity.PermPIIRead)})
	if err != nil || !slices.Contains(upd.Permissions, identity.PermPIIRead) {
		t.Fatalf("update: %v", err)
	}
	// The rep now sees PII; their principal reflects the role's change.
	if !w.p(t, "sh1.rep").Can(identity.PermPIIRead) {
		t.Fatal("role change not applied")
	}
	_, err = w.svc.ListRoles(w.ctx, w.p(t, "sh1.rep"))
	wantCode(t, err, "identity.forbidden")
}
