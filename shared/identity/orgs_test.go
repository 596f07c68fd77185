package identity_test

import (
	"testing"

	"github.com/tandemcrm/tandem/shared/identity"
)

func TestMovingATeamMovesItsSubtreeAndScopes(t *testing.T) {
	w := newWorld(t)
	admin := w.p(t, "admin")
	// The Hangzhou team is not in the Shanghai manager's scope...
	names := func(login string) map[string]bool {
		units, err := w.svc.OrgTree(w.ctx, w.p(t, login))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]bool{}
		for _, u := range units {
			m[u.Name] = true
		}
		return m
	}
	if got := names("sh.manager"); len(got) != 3 || got[identity.DemoHZTeam1] {
		t.Fatalf("before: %v", got)
	}
	// ... until it moves to Shanghai: then it and its people are.
	if _, err := w.svc.MoveOrgUnit(w.ctx, admin, w.demo.Units[identity.DemoHZTeam1], w.demo.Units[identity.DemoShanghai]); err != nil {
		t.Fatal(err)
	}
	if got := names("sh.manager"); len(got) != 4 || !got[identity.DemoHZTeam1] {
		t.Fatalf("after: %v", got)
	}
	if _, err := w.svc.GetUser(w.ctx, w.p(t, "sh.manager"), w.demo.Users["hz1.rep"]); err != nil {
		t.Fatalf("moved team's rep: %v", err)
	}
	// A city moves with its teams (moved under a new region).
	east2, err := w.svc.CreateOrgUnit(w.ctx, admin, identity.NewOrgUnit{ParentID: mustRoot(t, w), Kind: identity.OrgRegion, Name: "华南 South"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.MoveOrgUnit(w.ctx, admin, w.demo.Units[identity.DemoShanghai], east2.ID); err != nil {
		t.Fatal(err)
	}
	tree, _ := w.svc.OrgTree(w.ctx, admin)
	depth := map[string]int{}
	for _, u := range tree {
		depth[u.Name] = u.Depth
	}
	if depth[identity.DemoSHTeam1] != 3 || depth[identity.DemoShanghai] != 2 || depth["华南 South"] != 1 {
		t.Fatalf("depths: %v", depth)
	}
	// Wrong kinds and cycles are refused; out of scope is not found.
	_, err = w.svc.MoveOrgUnit(w.ctx, admin, w.demo.Units[identity.DemoSHTeam1], w.demo.Units[identity.DemoRegion])
	wantCode(t, err, "identity.org_kind")
	_, err = w.svc.MoveOrgUnit(w.ctx, w.p(t, "sh.manager"), w.demo.Units[identity.DemoSHTeam1], w.demo.Units[identity.DemoHangzhou])
	wantCode(t, err, "identity.forbidden") // city managers do not hold identity.org.write
	_, err = w.svc.CreateOrgUnit(w.ctx, admin, identity.NewOrgUnit{ParentID: w.demo.Units[identity.DemoShanghai], Kind: identity.OrgTeam, Name: identity.DemoSHTeam1})
	wantCode(t, err, "identity.org_name_taken")
}

func mustRoot(t *testing.T, w *world) (id [16]byte) {
	t.Helper()
	r, err := w.svc.RootOrgUnit(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}
