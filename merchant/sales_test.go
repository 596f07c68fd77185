package merchant_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// deliverEvent hands an event to the merchant domain's subscriber of its topic, as the
// worker would (and again, as a redelivery would).
func deliverEvent(t *testing.T, w *fieldWorld, topic events.Topic, payload any) {
	t.Helper()
	body, _ := json.Marshal(payload)
	for _, sub := range domain.Collect(w.svc).Subscriptions() {
		if sub.Topic == topic && sub.Subscriber == "merchant.gmv" {
			if err := outbox.Run(w.ctx, w.db, sub, events.Envelope{ID: uuid.Must(uuid.NewV7()), Topic: topic, Payload: body}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no merchant.gmv subscriber of %s", topic)
}

func TestTargetsAttainmentCommissionAndReports(t *testing.T) {
	t.Parallel()
	w := newFieldWorld(t, merchant.Config{})
	rep, lead, mgr := w.p(t, "sh1.rep"), w.p(t, "sh1.lead"), w.p(t, "sh.manager")
	shop := liveShop(t, w.world, "13800001501", "1900001501", "2026-12-01", "2027-12-01")
	negotiating(t, w.world, "13800001502") // a second lead, not signed
	ms, _, err := w.svc.ListMerchants(w.ctx, mgr, uuid.Nil, 0)
	if err != nil || len(ms) != 1 {
		t.Fatalf("merchants %v %v", ms, err)
	}
	m := ms[0]
	// First-month GMV from billing's events: once per order, refunds subtract, and a
	// payment after the first 30 days does not count.
	order := uuid.Must(uuid.NewV7())
	paid := events.PaymentSucceeded{OrderID: order, MerchantID: m.ID, AmountFen: 100_000, PaidAt: m.LiveAt.Add(time.Hour)}
	deliverEvent(t, w, events.TopicPaymentSucceeded, paid)
	deliverEvent(t, w, events.TopicPaymentSucceeded, paid)
	deliverEvent(t, w, events.TopicRefundSucceeded, events.RefundSucceeded{RefundID: uuid.Must(uuid.NewV7()), OrderID: order, MerchantID: m.ID,
		RefundFen: 20_000, SucceededAt: m.LiveAt.Add(2 * time.Hour)})
	deliverEvent(t, w, events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), MerchantID: m.ID,
		AmountFen: 999_999, PaidAt: m.LiveAt.Add(31 * 24 * time.Hour)})

	// Targets: the team lead sets the rep's and the team's; not another team's rep.
	_, err = w.svc.SetTarget(w.ctx, lead, merchant.NewTarget{Month: "2026-12", Subject: "shop", SubjectID: rep.User.ID})
	if errs.As(err).Field != "subject" {
		t.Fatalf("bad subject: %v", err)
	}
	_, err = w.svc.SetTarget(w.ctx, lead, merchant.NewTarget{Month: "12/2026", Subject: "rep", SubjectID: rep.User.ID})
	if errs.As(err).Field != "month" {
		t.Fatalf("bad month: %v", err)
	}
	_, err = w.svc.SetTarget(w.ctx, lead, merchant.NewTarget{Month: "2026-12", Subject: "rep", SubjectID: w.p(t, "sh2.rep").User.ID, Signings: 3})
	wantCode(t, err, "merchant.rep_not_found")
	_, err = w.svc.SetTarget(w.ctx, rep, merchant.NewTarget{Month: "2026-12", Subject: "rep", SubjectID: rep.User.ID, Signings: 3})
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a rep setting their own target: %v", err)
	}
	must[merchant.Target](t)(w.svc.SetTarget(w.ctx, lead, merchant.NewTarget{Month: "2026-12", Subject: "rep", SubjectID: rep.User.ID,
		Signings: 2, LiveShops: 1, FirstMonthGMVFen: 100_000}))
	team := shop.OrgUnitID
	must[merchant.Target](t)(w.svc.SetTarget(w.ctx, mgr, merchant.NewTarget{Month: "2026-12", Subject: "team", SubjectID: *team, Signings: 10}))

	att := must[[]merchant.AttainmentRow](t)(w.svc.Attainment(w.ctx, lead, "2026-12"))
	var repRow, teamRow *merchant.AttainmentRow
	for i := range att {
		switch att[i].SubjectID {
		case rep.User.ID:
			repRow = &att[i]
		case *team:
			teamRow = &att[i]
		}
	}
	if repRow == nil || repRow.Achieved != (merchant.Achieved{Signings: 1, LiveShops: 1, GMVFen: 80_000}) ||
		*repRow.SigningsPct != 50 || *repRow.LivePct != 100 || *repRow.GMVPct != 80 || repRow.Name == "" {
		t.Fatalf("rep's attainment %+v", repRow)
	}
	if teamRow == nil || teamRow.Achieved.Signings != 1 || *teamRow.SigningsPct != 10 {
		t.Fatalf("team's attainment %+v", teamRow)
	}
	if other := must[[]merchant.AttainmentRow](t)(w.svc.Attainment(w.ctx, w.p(t, "sh2.rep"), "2026-12")); len(other) != 0 {
		t.Fatalf("another team's rep sees %+v", other)
	}
	board := must[[]merchant.Leader](t)(w.svc.Leaderboard(w.ctx, mgr, ""))
	if len(board) != 1 || board[0].Rank != 1 || board[0].RepID != rep.User.ID || board[0].GMVFen != 80_000 {
		t.Fatalf("leaderboard %+v", board)
	}

	// Commission: computed by the team lead, once; approved by the city manager.
	run := must[merchant.CommissionRun](t)(w.svc.ComputeCommission(w.ctx, lead, "2026-12", *team))
	if run.TotalFen != 20_000+30_000+800 || len(run.Lines) != 1 || run.Lines[0].AmountFen != 50_800 || run.ApprovalID == nil {
		t.Fatalf("commission %+v", run)
	}
	_, err = w.svc.ComputeCommission(w.ctx, lead, "2026-12", *team)
	wantCode(t, err, merchant.CodeCommissionRun)
	_, err = w.svc.ComputeCommission(w.ctx, w.p(t, "hz.lead"), "2026-12", *team)
	wantCode(t, err, "merchant.team_not_found")
	// The admin sees every unit, yet a unit that does not exist has no commission.
	_, err = w.svc.ComputeCommission(w.ctx, w.p(t, "admin"), "2026-12", uuid.Must(uuid.NewV7()))
	wantCode(t, err, "merchant.team_not_found")
	_, err = w.approvals.Decide(w.ctx, lead, *run.ApprovalID, approval.Decision{Approve: true})
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("the team lead approving their own run: %v", err)
	}
	must[approval.Request](t)(w.approvals.Decide(w.ctx, mgr, *run.ApprovalID, approval.Decision{Approve: true, Comment: "ok"}))
	got := must[merchant.CommissionRun](t)(w.svc.GetCommission(w.ctx, lead, run.ID))
	if got.State != merchant.CommissionApproved || got.Lines[0].Achieved.GMVFen != 80_000 {
		t.Fatalf("after approval %+v", got)
	}
	_, err = w.svc.GetCommission(w.ctx, w.p(t, "hz.lead"), run.ID)
	wantCode(t, err, "merchant.commission_run_not_found")

	// Reports in the city manager's scope.
	funnel := must[[]merchant.StageCount](t)(w.svc.Funnel(w.ctx, mgr, merchant.ReportQuery{}))
	counts := map[merchant.Stage]int64{}
	for _, f := range funnel {
		counts[f.Stage] = f.Leads
	}
	if counts[merchant.StageLive] != 1 || counts[merchant.StageNegotiating] != 1 {
		t.Fatalf("funnel %+v", funnel)
	}
	conv := must[[]merchant.Conversion](t)(w.svc.Conversions(w.ctx, mgr, merchant.ReportQuery{}))
	if conv[0].From != merchant.StageLead || conv[0].FromLeads != 2 || conv[3].To != merchant.StageSigned || conv[3].ToLeads != 1 ||
		conv[3].RatePct == nil || *conv[3].RatePct != 50 {
		t.Fatalf("conversion %+v", conv)
	}
	cohorts := must[[]merchant.CohortRow](t)(w.svc.Cohorts(w.ctx, mgr, merchant.ReportQuery{}))
	if len(cohorts) != 1 || cohorts[0].Reached[merchant.StageLead] != 2 || cohorts[0].Reached[merchant.StageLive] != 1 {
		t.Fatalf("cohorts %+v", cohorts)
	}
	// Reps and teams are named from identity, every rep of a report in one read.
	repUser := must[identity.User](t)(w.ids.GetUser(w.ctx, identity.System(), rep.User.ID))
	byRep := must[[]merchant.Breakdown](t)(w.svc.BreakdownBy(w.ctx, mgr, "rep", merchant.ReportQuery{}))
	if len(byRep) != 1 || byRep[0].Reached[merchant.StageSigned] != 1 || *byRep[0].SignPct != 50 || byRep[0].Name != repUser.DisplayName {
		t.Fatalf("by rep %+v", byRep)
	}
	byTeam := must[[]merchant.Breakdown](t)(w.svc.BreakdownBy(w.ctx, mgr, "team", merchant.ReportQuery{}))
	if len(byTeam) != 1 || byTeam[0].Key != team.String() || byTeam[0].Name != identity.DemoSHTeam1 || byTeam[0].Reached[merchant.StageLive] != 1 {
		t.Fatalf("by team %+v", byTeam)
	}
	byCity := must[[]merchant.Breakdown](t)(w.svc.BreakdownBy(w.ctx, mgr, "city", merchant.ReportQuery{}))
	if len(byCity) != 1 || byCity[0].Reached[merchant.StageLead] != 2 {
		t.Fatalf("by city %+v", byCity)
	}
	visits := must[[]merchant.RepDay](t)(w.svc.VisitsPerRepPerDay(w.ctx, mgr, merchant.ReportQuery{}))
	if len(visits) == 0 || visits[0].RepID != rep.User.ID || visits[0].Visits != 2 || visits[0].Name != repUser.DisplayName {
		t.Fatalf("visits per rep per day %+v", visits)
	}
	rollupsMatch(t, w.world)
	must[merchant.PoolHealth](t)(w.svc.PoolHealthReport(w.ctx, mgr, merchant.ReportQuery{}))
	_, err = w.svc.Funnel(w.ctx, w.p(t, "reviewer"), merchant.ReportQuery{})
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a reviewer reading reports: %v", err)
	}
	_, err = w.svc.Funnel(w.ctx, mgr, merchant.ReportQuery{Months: 99})
	if errs.As(err).Field != "months" {
		t.Fatalf("99 months: %v", err)
	}
}

// rollupsMatch fails the test when the counters the reports read (migration 011) differ
// from counting the leads and visits themselves.
func rollupsMatch(t *testing.T, w *world) {
	t.Helper()
	for name, q := range map[string]string{
		"lead stage counts": `SELECT count(*) FROM (
			(SELECT org_unit_id, city, stage, pooled, leads FROM merchant.lead_stage_counts WHERE leads <> 0
			 EXCEPT SELECT org_unit_id, city, stage, owner_id IS NULL, count(*) FROM merchant.leads GROUP BY 1, 2, 3, 4)
			UNION ALL
			(SELECT org_unit_id, city, stage, owner_id IS NULL, count(*) FROM merchant.leads GROUP BY 1, 2, 3, 4
			 EXCEPT SELECT org_unit_id, city, stage, pooled, leads FROM merchant.lead_stage_counts WHERE leads <> 0)) d`,
		"reclaim days": `SELECT count(*) FROM (
			(SELECT org_unit_id, day, reclaims FROM merchant.reclaim_days WHERE reclaims <> 0
			 EXCEPT SELECT l.org_unit_id, (h.at AT TIME ZONE 'Asia/Shanghai')::date, count(*)
			        FROM merchant.lead_owner_history h JOIN merchant.leads l ON l.id = h.lead_id WHERE h.event = 'reclaimed' GROUP BY 1, 2)
			UNION ALL
			(SELECT l.org_unit_id, (h.at AT TIME ZONE 'Asia/Shanghai')::date, count(*)
			 FROM merchant.lead_owner_history h JOIN merchant.leads l ON l.id = h.lead_id WHERE h.event = 'reclaimed' GROUP BY 1, 2
			 EXCEPT SELECT org_unit_id, day, reclaims FROM merchant.reclaim_days WHERE reclaims <> 0)) d`,
		"visit days": `SELECT count(*) FROM (
			(SELECT org_unit_id, day, rep_id, visits, flagged FROM merchant.visit_days WHERE visits <> 0
			 EXCEPT SELECT org_unit_id, (at AT TIME ZONE 'Asia/Shanghai')::date, by_user, count(*), count(*) FILTER (WHERE flag <> '')
			        FROM merchant.visits WHERE accepted GROUP BY 1, 2, 3)
			UNION ALL
			(SELECT org_unit_id, (at AT TIME ZONE 'Asia/Shanghai')::date, by_user, count(*), count(*) FILTER (WHERE flag <> '')
			 FROM merchant.visits WHERE accepted GROUP BY 1, 2, 3
			 EXCEPT SELECT org_unit_id, day, rep_id, visits, flagged FROM merchant.visit_days WHERE visits <> 0)) d`,
	} {
		var diff int
		if err := w.db.QueryRow(w.ctx, q).Scan(&diff); err != nil || diff != 0 {
			t.Fatalf("%s: %d rows differ from a recount (%v)", name, diff, err)
		}
	}
}

// The funnel's and the visits report's counters follow every kind of write: leads
// created, moved and reassigned one by one through the service, many in one statement,
// a change that touches no counted column, and a deletion.
func TestReportCountersFollowWrites(t *testing.T) {
	t.Parallel()
	w := newFieldWorld(t, merchant.Config{})
	rep, mgr := w.p(t, "sh1.rep"), w.p(t, "sh.manager")
	negotiating(t, w.world, "13800001601")
	a := claimed(t, w.world, "13800001602")
	v := must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, a.ID, merchant.CheckIn{Lat: a.Lat, Lng: a.Lng}))
	w.clk.Advance(30 * time.Minute)
	must[merchant.Visit](t)(w.svc.CheckOut(w.ctx, rep, v.ID, a.Lat, a.Lng, nil))
	rollupsMatch(t, w.world)
	for _, q := range []string{
		`UPDATE merchant.leads SET stage = 'lost'`,              // every lead at once
		`UPDATE merchant.leads SET name = name || ' (renamed)'`, // no counted column
		`UPDATE merchant.visits SET flag = 'too_fast'`,          // flagged after the fact
		`UPDATE merchant.visits SET at = at - interval '1 day'`, // another day
		`INSERT INTO merchant.visits (id, lead_id, lat, lng, distance_m, accepted, note, by_user, at, org_unit_id, flag)
		 SELECT gen_random_uuid(), lead_id, lat, lng, 0, false, '', by_user, at, org_unit_id, '' FROM merchant.visits`, // refused check-ins count nothing
	} {
		if _, err := w.db.Exec(w.ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		rollupsMatch(t, w.world)
	}
	funnel := must[[]merchant.StageCount](t)(w.svc.Funnel(w.ctx, mgr, merchant.ReportQuery{}))
	for _, f := range funnel {
		if (f.Stage == merchant.StageLost) != (f.Leads == 2) {
			t.Fatalf("after losing every lead: %+v", funnel)
		}
	}
	if _, err := w.db.Exec(w.ctx, `DELETE FROM merchant.visits`); err != nil {
		t.Fatal(err)
	}
	rollupsMatch(t, w.world)
	if days := must[[]merchant.RepDay](t)(w.svc.VisitsPerRepPerDay(w.ctx, mgr, merchant.ReportQuery{})); len(days) != 0 {
		t.Fatalf("visits after deleting them all: %+v", days)
	}
}
