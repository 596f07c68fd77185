package merchant_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
)

// deliverStaffEvents hands identity's staff events of user, read from the outbox, to the
// merchant's subscription, as the relay would (twice: delivery is at least once).
func deliverStaffEvents(t *testing.T, w *world, user uuid.UUID) {
	t.Helper()
	var handle func(events.Envelope) error
	for _, s := range domain.Collect(w.svc).Subscriptions() {
		if s.Topic == events.TopicStaffChanged {
			handle = func(e events.Envelope) error { return s.Handle(w.ctx, e) }
		}
	}
	rows, err := w.db.Query(w.ctx, `SELECT id, payload FROM platform.outbox WHERE topic = $1 AND aggregate_key = $2 ORDER BY id`,
		events.TopicStaffChanged, user.String())
	if err != nil {
		t.Fatal(err)
	}
	var es []events.Envelope
	for rows.Next() {
		var e events.Envelope
		if err := rows.Scan(&e.ID, &e.Payload); err != nil {
			t.Fatal(err)
		}
		e.Topic = events.TopicStaffChanged
		es = append(es, e)
	}
	rows.Close()
	if len(es) == 0 {
		t.Fatal("identity published no staff event")
	}
	for range 2 {
		for _, e := range es {
			if err := handle(e); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// When identity disables a rep, their open leads go back to their pools, marked as
// handed over, and the team lead finds them; moving a rep to another team hands over
// the old team's leads only; taking a handed-over lead clears the mark.
func TestAutomaticHandOverOnIdentityEvents(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	admin, tl := w.p(t, "admin"), w.p(t, "sh1.lead")
	rep := addRep(t, w, "sh1.leaving", identity.DemoSHTeam1)
	ls := leads(t, w, "sh1.rep", 300, 3)
	for _, l := range ls {
		must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, l.ID))
	}
	off := true
	must[identity.User](t)(w.ids.UpdateUser(w.ctx, admin, rep.User.ID, identity.UserPatch{Disabled: &off}))
	deliverStaffEvents(t, w, rep.User.ID)
	over, _, err := w.svc.ListLeads(w.ctx, tl, merchant.LeadFilter{HandedOver: true})
	if err != nil || len(over) != 3 {
		t.Fatalf("the team lead sees %d handed-over leads (%v)", len(over), err)
	}
	hist := must[[]merchant.OwnerChange](t)(w.svc.OwnerHistory(w.ctx, tl, ls[0].ID))
	if last := hist[len(hist)-1]; last.Event != merchant.EventReclaimed || last.Reason != merchant.ReasonRepDisabled || !over[0].HandedOver {
		t.Fatalf("history: %+v", last)
	}
	got := must[merchant.Lead](t)(w.svc.Claim(w.ctx, w.p(t, "sh1.rep"), ls[0].ID))
	if got.HandedOver {
		t.Fatal("a claimed lead is still marked handed over")
	}

	// A rep moved to team 2 hands over team 1's leads, keeps none of them.
	mover := addRep(t, w, "sh1.mover", identity.DemoSHTeam1)
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, mover, ls[1].ID))
	team2 := w.demo.Units[identity.DemoSHTeam2]
	must[identity.User](t)(w.ids.UpdateUser(w.ctx, admin, mover.User.ID, identity.UserPatch{OrgUnitID: &team2}))
	deliverStaffEvents(t, w, mover.User.ID)
	if got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, tl, ls[1].ID)); !got.InPool || !got.HandedOver {
		t.Fatalf("moved rep's lead: %+v", got)
	}
}

// Policy: a lead's contract and visits go with the lead. After a transfer the new
// owner reads them; the former owner no longer does.
func TestContractAndVisitsFollowTheLead(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	l := negotiating(t, w, "13800000851")
	must[merchant.Contract](t)(w.svc.SignContract(w.ctx, w.p(t, "sh.manager"), l.ID, merchant.NewContract{CommissionRate: "6%",
		SettlementCycle: merchant.CycleT7, StartsOn: "2026-12-01", EndsOn: "2027-11-30"}))
	next := addRep(t, w, "sh1.next", identity.DemoSHTeam1)
	out := must[[]merchant.AssignOutcome](t)(w.svc.Assign(w.ctx, w.p(t, "sh1.lead"), []uuid.UUID{l.ID}, next.User.ID, "territory change"))
	if out[0].Code != "" {
		t.Fatalf("transfer: %+v", out[0])
	}
	if _, err := w.svc.GetContract(w.ctx, next, l.ID); err != nil {
		t.Fatalf("the new owner reads the contract: %v", err)
	}
	if vs, err := w.svc.Timeline(w.ctx, next, l.ID); err != nil || len(vs) == 0 {
		t.Fatalf("the new owner reads the timeline: %v", err)
	}
	if _, err := w.svc.GetContract(w.ctx, w.p(t, "sh1.rep"), l.ID); err == nil {
		t.Fatal("the former owner still reads the contract")
	}
	if _, err := w.svc.Timeline(w.ctx, w.p(t, "sh1.rep"), l.ID); err == nil {
		t.Fatal("the former owner still reads the visits")
	}
}
