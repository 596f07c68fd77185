package matching_test

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Staff reads of members' data (a consumer's recommendations and owned shops, a
// merchant's audience and owner, the merges of consumers) take consumer.member.read at
// scope all, and the steps on merges consumer.member.write at scope all, as the C-CRM's
// member routes do: a custom role holding them at team scope finds none of them (404,
// the same answer as for an id that does not exist), growth (scope all) reads them,
// and finance, without the permission, is refused (403).
func TestMemberReadsNeedScopeAll(t *testing.T) {
	t.Parallel()
	w, ids, as := staffWorld(t)
	a, b := w.live("A", "restaurant", 31.23, 121.47), w.live("B", "restaurant", 31.231, 121.47)
	x, y := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	w.pay(x, a, 1000)
	w.pay(y, a, 1000)
	w.pay(y, b, 1000) // x's neighbour y also buys at B: B is recommended to x
	// A pair waiting for review: the merges' reads and steps are tried on it.
	if _, queued, err := w.svc.Propose(w.ctx, []matching.Candidate{{A: x, B: y, Confidence: 0.7, Decision: matching.DecisionReview,
		Evidence: []matching.Evidence{{Kind: matching.EvidenceUnionID, Value: "u", Weight: 0.7}}}}); err != nil || queued != 1 {
		t.Fatalf("propose: %d %v", queued, err)
	}

	admin := as("admin")
	if _, err := ids.CreateRole(w.ctx, admin, identity.RoleInput{Key: "member_team", Name: "Team members", Scope: identity.LevelTeam,
		Permissions: []identity.Permission{identity.PermMemberRead, identity.PermMemberWrite}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ids.SetUserRoles(w.ctx, admin, as("sh1.lead").User.ID, []string{identity.RoleTeamLead, "member_team"}); err != nil {
		t.Fatal(err)
	}
	narrow := as("sh1.lead")
	if sc, err := narrow.Require(identity.PermMemberRead); err != nil || sc.Level() != identity.LevelTeam {
		t.Fatalf("the narrow reader holds %s at %q (%v)", identity.PermMemberRead, sc.Level(), err)
	}
	growth, finance := as("growth"), as("finance")
	review, err := w.svc.ListMerges(w.ctx, growth, matching.MergeReview, uuid.Nil, 10)
	if err != nil || len(review) != 1 {
		t.Fatalf("growth lists the review queue: %+v, %v", review, err)
	}
	merge := review[0].ID

	if recs, err := w.svc.ConsumerRecommendations(w.ctx, growth, x, 10); err != nil || len(recs) == 0 || recs[0].MerchantID != b {
		t.Fatalf("growth reads x's recommendations: %+v, %v", recs, err)
	}
	if _, err := w.svc.Audience(w.ctx, growth, b, 10); err != nil {
		t.Fatalf("growth reads B's audience: %v", err)
	}
	for _, c := range []struct {
		name string
		err  func(p *identity.Principal) error
		code string
	}{
		{"recommendations", func(p *identity.Principal) error {
			_, err := w.svc.ConsumerRecommendations(w.ctx, p, x, 10)
			return err
		}, "matching.consumer_not_found"},
		{"owned shops", func(p *identity.Principal) error {
			_, err := w.svc.ShopsOwnedBy(w.ctx, p, x)
			return err
		}, "matching.consumer_not_found"},
		{"audience", func(p *identity.Principal) error {
			_, err := w.svc.Audience(w.ctx, p, b, 10)
			return err
		}, "matching.merchant_not_found"},
		{"owner", func(p *identity.Principal) error {
			_, err := w.svc.OwnerOf(w.ctx, p, b)
			return err
		}, "matching.merchant_not_found"},
		{"merges", func(p *identity.Principal) error {
			_, err := w.svc.ListMerges(w.ctx, p, "", uuid.Nil, 10)
			return err
		}, "matching.merge_not_found"},
		{"merge", func(p *identity.Principal) error {
			_, err := w.svc.GetMerge(w.ctx, p, merge)
			return err
		}, "matching.merge_not_found"},
	} {
		if err := c.err(growth); err != nil {
			t.Errorf("%s as growth: %v", c.name, err)
		}
		if err := c.err(narrow); errs.KindOf(err) != errs.KindNotFound || !errs.Is(err, c.code) {
			t.Errorf("%s at team scope: %v, want 404 %s", c.name, err, c.code)
		}
		if err := c.err(finance); errs.KindOf(err) != errs.KindForbidden {
			t.Errorf("%s without the permission: %v, want 403", c.name, err)
		}
	}
	// The steps: the narrow writer is refused each before it changes anything; growth rejects.
	for _, step := range []func(context.Context, *identity.Principal, uuid.UUID) (matching.Merge, error){w.svc.Approve, w.svc.Reject, w.svc.Undo} {
		if _, err := step(w.ctx, narrow, merge); errs.KindOf(err) != errs.KindNotFound || !errs.Is(err, "matching.merge_not_found") {
			t.Errorf("a step on a merge at team scope: %v, want 404 matching.merge_not_found", err)
		}
	}
	if m, err := w.svc.GetMerge(w.ctx, growth, merge); err != nil || m.State != matching.MergeReview {
		t.Fatalf("after the narrow steps: %+v, %v", m, err)
	}
	if m, err := w.svc.Reject(w.ctx, growth, merge); err != nil || m.State != matching.MergeRejected {
		t.Fatalf("growth rejects: %+v, %v", m, err)
	}
}
