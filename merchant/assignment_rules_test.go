package merchant_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/identity"
)

// addRep makes a sales rep in a demo unit and returns them.
func addRep(t *testing.T, w *world, login, unit string) *identity.Principal {
	t.Helper()
	u := must[identity.User](t)(w.ids.CreateUser(w.ctx, w.p(t, "admin"), identity.NewUser{Login: login, DisplayName: login,
		Kind: identity.KindStaff, OrgUnitID: w.demo.Units[unit], Password: "Rep-password-123", Roles: []string{identity.RoleSalesRep}}))
	return must[*identity.Principal](t)(w.ids.Principal(w.ctx, u.ID))
}

// peopleSquare is a polygon around 人民广场, where shop() places its leads.
const peopleSquare = `{"type":"Polygon","coordinates":[[[121.40,31.00],[121.60,31.00],[121.60,31.50],[121.40,31.50],[121.40,31.00]]]}`

// The city manager's rules route new leads: the first matching rule by position wins
// (a district named in the address before a polygon), round robin takes reps in turn,
// by load fills the emptiest rep first and never above the capacity (the rest waits in
// the team's pool); rules of Shanghai do not touch Hangzhou's leads.
func TestAssignmentRulesRouteNewLeads(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	mgr := w.p(t, "sh.manager")
	sh2b := addRep(t, w, "sh2.rep.b", identity.DemoSHTeam2)
	sh1b := addRep(t, w, "sh1.rep.b", identity.DemoSHTeam1)
	pudong := must[merchant.AssignmentRule](t)(w.svc.SaveAssignmentRule(w.ctx, mgr, uuid.Nil, merchant.RuleInput{Position: 1, Name: "浦东",
		Districts: []string{"浦东新区", " "}, TeamUnitID: w.demo.Units[identity.DemoSHTeam2], Method: merchant.MethodRoundRobin, Enabled: true}))
	must[merchant.AssignmentRule](t)(w.svc.SaveAssignmentRule(w.ctx, mgr, uuid.Nil, merchant.RuleInput{Position: 2, Name: "centre",
		Area: json.RawMessage(peopleSquare), TeamUnitID: w.demo.Units[identity.DemoSHTeam1], Method: merchant.MethodLoad, Capacity: 2, Enabled: true}))
	if len(pudong.Districts) != 1 || pudong.OwnerUnitID != w.demo.Units[identity.DemoShanghai] {
		t.Fatalf("rule: %+v", pudong)
	}

	// Pudong addresses (inside the polygon too): the first rule wins, reps in turn.
	var owners []uuid.UUID
	for i := range 4 {
		in := shop(fmt.Sprintf("1390000%04d", 100+i*7))
		in.Name, in.Address = fmt.Sprintf("浦东店 %d", i), "上海市浦东新区张杨路"+fmt.Sprint(i)+"号"
		l := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, "sh1.rep"), in))
		if l.OwnerID == nil || *l.OrgUnitID != w.demo.Units[identity.DemoSHTeam2] {
			t.Fatalf("lead %d not routed to team 2: %+v", i, l)
		}
		owners = append(owners, *l.OwnerID)
	}
	if owners[0] == owners[1] || owners[0] != owners[2] || owners[1] != owners[3] ||
		(owners[0] != sh2b.User.ID && owners[1] != sh2b.User.ID) {
		t.Fatalf("round robin: %v", owners)
	}
	hist := must[[]merchant.OwnerChange](t)(w.svc.OwnerHistory(w.ctx, mgr, mustLead(t, w, owners[0]).ID))
	if last := hist[len(hist)-1]; last.Event != merchant.EventAssigned || last.Reason != "assignment rule 浦东" {
		t.Fatalf("history: %+v", hist)
	}

	// The centre: by load, capacity 2 each, the fifth waits in team 1's pool.
	count := map[uuid.UUID]int{}
	for i := range 5 {
		l := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, "sh2.rep"), shop(fmt.Sprintf("1390001%04d", i*4))))
		if *l.OrgUnitID != w.demo.Units[identity.DemoSHTeam1] {
			t.Fatalf("lead %d not in team 1: %+v", i, l)
		}
		if l.OwnerID == nil {
			if i != 4 {
				t.Fatalf("lead %d unassigned", i)
			}
			if l.PoolID != myPool(t, w, "sh1.rep").ID {
				t.Fatalf("the unassigned lead is not in team 1's pool")
			}
			continue
		}
		count[*l.OwnerID]++
	}
	if count[sh1b.User.ID] != 2 || count[w.demo.Users["sh1.rep"]] != 2 {
		t.Fatalf("by load: %v", count)
	}

	// Hangzhou's leads are not Shanghai's rules' business.
	hz := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, "hz1.rep"), shop("13900029999")))
	if hz.OwnerID != nil || *hz.OrgUnitID != w.demo.Units[identity.DemoHZTeam1] {
		t.Fatalf("hangzhou lead routed: %+v", hz)
	}
}

// mustLead finds one lead held by owner, as the admin.
func mustLead(t *testing.T, w *world, owner uuid.UUID) merchant.Lead {
	t.Helper()
	ls, _, err := w.svc.ListLeads(w.ctx, w.p(t, "admin"), merchant.LeadFilter{OwnerID: owner})
	if err != nil || len(ls) == 0 {
		t.Fatalf("no lead of %s: %v", owner, err)
	}
	return ls[0]
}

// Rules are the managers' own: a rep may not write them, another city's lead does not
// see them, and a rule needs a territory, a valid polygon and a team in scope.
func TestAssignmentRulesScopeAndValidation(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	mgr := w.p(t, "sh.manager")
	ok := merchant.RuleInput{Name: "x", Districts: []string{"黄浦区"}, TeamUnitID: w.demo.Units[identity.DemoSHTeam1], Method: merchant.MethodLoad}
	_, err := w.svc.SaveAssignmentRule(w.ctx, w.p(t, "sh1.rep"), uuid.Nil, ok)
	wantCode(t, err, "identity.forbidden")
	bad := ok
	bad.Districts = nil
	_, err = w.svc.SaveAssignmentRule(w.ctx, mgr, uuid.Nil, bad)
	if e := wantCode(t, err, "invalid_input"); e.Field != "districts" {
		t.Fatalf("field %q", e.Field)
	}
	bad = ok
	bad.Area = json.RawMessage(`{"type":"Polygon","coordinates":[[[1,2]]]}`)
	_, err = w.svc.SaveAssignmentRule(w.ctx, mgr, uuid.Nil, bad)
	if e := wantCode(t, err, "invalid_input"); e.Field != "area" {
		t.Fatalf("field %q", e.Field)
	}
	bad = ok
	bad.TeamUnitID = w.demo.Units[identity.DemoHZTeam1]
	_, err = w.svc.SaveAssignmentRule(w.ctx, mgr, uuid.Nil, bad)
	if e := wantCode(t, err, "invalid_input"); e.Field != "team_unit_id" {
		t.Fatalf("field %q", e.Field)
	}
	// The admin's scope is all, yet a rule's units must exist.
	for _, field := range []string{"owner_unit_id", "team_unit_id"} {
		bad = ok
		if field == "owner_unit_id" {
			bad.OwnerUnitID = uuid.Must(uuid.NewV7())
		} else {
			bad.TeamUnitID = uuid.Must(uuid.NewV7())
		}
		_, err = w.svc.SaveAssignmentRule(w.ctx, w.p(t, "admin"), uuid.Nil, bad)
		if e := wantCode(t, err, "invalid_input"); e.Field != field {
			t.Fatalf("an unknown unit: field %q, want %q", e.Field, field)
		}
	}
	r := must[merchant.AssignmentRule](t)(w.svc.SaveAssignmentRule(w.ctx, mgr, uuid.Nil, ok))
	if got := must[[]merchant.AssignmentRule](t)(w.svc.ListAssignmentRules(w.ctx, w.p(t, "hz.lead"))); len(got) != 0 {
		t.Fatalf("hangzhou sees %d rules", len(got))
	}
	_, err = w.svc.GetAssignmentRule(w.ctx, w.p(t, "hz.lead"), r.ID)
	wantCode(t, err, "merchant.assignment_rule_not_found")
	if err := w.svc.DeleteAssignmentRule(w.ctx, mgr, r.ID); err != nil {
		t.Fatal(err)
	}
	if got := must[[]merchant.AssignmentRule](t)(w.svc.ListAssignmentRules(w.ctx, mgr)); len(got) != 0 {
		t.Fatalf("%d rules after delete", len(got))
	}
}
