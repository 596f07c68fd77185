package merchant_test

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// checkedIn records an accepted check-in at l, which "visited" needs.
func checkedIn(t *testing.T, w *world, rep *identity.Principal, l merchant.Lead) {
	t.Helper()
	must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, l.ID, merchant.CheckIn{Lat: l.Lat, Lng: l.Lng, Note: "at the door"}))
}

// poolWorld is a world whose service names staff through identity and runs on a
// frozen clock (Tuesday 1 December 2026, 10:00 in Shanghai) that tests move.
func poolWorld(t *testing.T, cfg merchant.Config) (*world, *clock.Settable) {
	t.Helper()
	w := newWorld(t, cfg)
	clk := clock.NewSettable()
	clk.Freeze(time.Date(2026, 12, 1, 10, 0, 0, 0, clock.Shanghai))
	w.svc = merchant.New(domain.Deps{DB: w.db, Clock: clk}, merchant.Ports{Owners: w.owners, Staff: merchant.IdentityStaff{Users: w.ids}}, cfg)
	return w, clk
}

// setRules changes the rules of the pool of login's unit, as admin.
func setRules(t *testing.T, w *world, login string, r merchant.PoolRules) merchant.Pool {
	t.Helper()
	pool := myPool(t, w, login)
	if r.HoldingCap == 0 {
		r.HoldingCap = 50
	}
	return must[merchant.Pool](t)(w.svc.SetPoolRules(w.ctx, w.p(t, "admin"), pool.ID, pool.Name, r))
}

// myPool is the pool of login's own unit.
func myPool(t *testing.T, w *world, login string) merchant.Pool {
	t.Helper()
	p := w.p(t, login)
	for _, pool := range must[[]merchant.Pool](t)(w.svc.ListPools(w.ctx, p)) {
		if pool.OrgUnitID != nil && *pool.OrgUnitID == p.User.OrgUnitID.UUID {
			return pool
		}
	}
	t.Fatalf("%s has no pool", login)
	return merchant.Pool{}
}

// leads makes n leads in login's pool, phones from base.
func leads(t *testing.T, w *world, login string, base, n int) []merchant.Lead {
	t.Helper()
	var out []merchant.Lead
	for i := range n {
		out = append(out, must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, login), shop(fmt.Sprintf("139%08d", base+i)))))
	}
	return out
}

func refusal(t *testing.T, err error, code string) map[string]any {
	t.Helper()
	wantCode(t, err, code)
	var r *merchant.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("%v is no Refusal", err)
	}
	return r.Params
}

// A rep sees and claims only from the pools they belong to: the Hangzhou rep cannot
// take a Shanghai team's lead, nor can another Shanghai team's rep, until added.
func TestPoolMembershipDecidesWhoClaims(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	l := leads(t, w, "sh1.rep", 100, 1)[0]
	for _, login := range []string{"hz1.rep", "sh2.rep", "hz.lead"} {
		_, err := w.svc.Claim(w.ctx, w.p(t, login), l.ID)
		wantCode(t, err, "merchant.lead_not_found")
		_, err = w.svc.GetLead(w.ctx, w.p(t, login), l.ID)
		wantCode(t, err, "merchant.lead_not_found")
	}
	pool := myPool(t, w, "sh1.rep")
	if pool.Admin || !pool.Member {
		t.Fatalf("rep's view of their pool: %+v", pool)
	}
	if lead := myPool(t, w, "sh1.lead"); !lead.Admin {
		t.Fatal("the team lead does not administer the team's pool")
	}
	_, err := w.svc.SetPoolRules(w.ctx, w.p(t, "sh1.rep"), pool.ID, pool.Name, pool.PoolRules)
	wantCode(t, err, merchant.CodeNotPoolAdmin)
	_, err = w.svc.SetPoolRules(w.ctx, w.p(t, "hz.lead"), pool.ID, pool.Name, pool.PoolRules)
	wantCode(t, err, "merchant.pool_not_found")
	// The city manager adds sh2.rep to team 1's pool: now they may claim.
	must[struct{}](t)(struct{}{}, w.svc.SetPoolMember(w.ctx, w.p(t, "sh.manager"), pool.ID, w.demo.Users["sh2.rep"], "member"))
	err = w.svc.SetPoolMember(w.ctx, w.p(t, "sh.manager"), pool.ID, w.demo.Users["hz1.rep"], "member")
	wantCode(t, err, "merchant.user_not_found") // not in the manager's scope
	got := must[merchant.Lead](t)(w.svc.Claim(w.ctx, w.p(t, "sh2.rep"), l.ID))
	if got.OwnerID == nil || *got.OwnerID != w.demo.Users["sh2.rep"] || got.PoolID != pool.ID {
		t.Fatalf("claimed: %+v", got)
	}
	// Team 1's lead sees its pool's lead go to team 2 (the claimer's unit); the city manager sees it.
	must[merchant.Lead](t)(w.svc.GetLead(w.ctx, w.p(t, "sh.manager"), l.ID))
}

// Of reps from different teams racing for one lead, one wins and every other hears 409
// (not 404, though the lead left their scope with the winner).
func TestRaceLosersGet409(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	pool := myPool(t, w, "sh1.rep")
	for _, login := range []string{"sh2.rep", "hz1.rep"} {
		must[struct{}](t)(struct{}{}, w.svc.SetPoolMember(w.ctx, w.p(t, "admin"), pool.ID, w.demo.Users[login], "member"))
	}
	for i, l := range leads(t, w, "sh1.rep", 200, 4) {
		var fns []func() error
		for _, login := range []string{"sh1.rep", "sh2.rep", "hz1.rep", "sh1.lead"} {
			p := w.p(t, login)
			fns = append(fns, func() error { _, err := w.svc.Claim(w.ctx, p, l.ID); return err })
		}
		won := 0
		for _, err := range race(fns...) {
			if err == nil {
				won++
			} else if errs.CodeOf(err) != merchant.CodeNotInPool || errs.KindOf(err).HTTPStatus() != 409 {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d winners", i, won)
		}
	}
}

// The daily quota never overshoots under concurrency, and releasing a claimed lead
// does not give the claim back.
func TestDailyQuotaUnderConcurrencyNoRefund(t *testing.T) {
	t.Parallel()
	w, clk := poolWorld(t, merchant.Config{})
	setRules(t, w, "sh1.rep", merchant.PoolRules{DailyQuota: 3})
	ls := leads(t, w, "sh1.rep", 300, 8)
	rep := w.p(t, "sh1.rep")
	var fns []func() error
	for _, l := range ls[:6] {
		fns = append(fns, func() error { _, err := w.svc.Claim(w.ctx, rep, l.ID); return err })
	}
	won := 0
	var claimed []uuid.UUID
	for i, err := range race(fns...) {
		switch {
		case err == nil:
			won++
			claimed = append(claimed, ls[i].ID)
		default:
			if p := refusal(t, err, merchant.CodeDailyQuota); p["Quota"] != int32(3) || p["Claimed"] != int64(3) {
				t.Fatalf("quota numbers: %v", p)
			}
		}
	}
	if won != 3 {
		t.Fatalf("%d claims won, the quota is 3", won)
	}
	must[merchant.Lead](t)(w.svc.Release(w.ctx, rep, claimed[0], "wrong shop"))
	_, err := w.svc.Claim(w.ctx, rep, ls[7].ID)
	refusal(t, err, merchant.CodeDailyQuota)
	// The next Shanghai day (midnight, not 24 hours later) the quota is new.
	clk.Freeze(time.Date(2026, 12, 2, 0, 0, 1, 0, clock.Shanghai))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, ls[7].ID))
}

// The cooldown holds against every owner of the window, not only the last one, and
// counts Asia/Shanghai calendar days.
func TestCooldownEveryFormerOwnerCalendarDays(t *testing.T) {
	t.Parallel()
	w, clk := poolWorld(t, merchant.Config{})
	setRules(t, w, "sh1.rep", merchant.PoolRules{CooldownDays: 2})
	l := leads(t, w, "sh1.rep", 400, 1)[0]
	a, b := w.p(t, "sh1.rep"), w.p(t, "sh1.lead")
	clk.Freeze(time.Date(2026, 12, 1, 23, 30, 0, 0, clock.Shanghai))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, a, l.ID))
	must[merchant.Lead](t)(w.svc.Release(w.ctx, a, l.ID, "not interested"))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, b, l.ID))
	must[merchant.Lead](t)(w.svc.Release(w.ctx, b, l.ID, "not mine"))
	clk.Freeze(time.Date(2026, 12, 2, 23, 59, 0, 0, clock.Shanghai))
	for _, p := range []*identity.Principal{a, b} {
		params := refusal(t, must2(w.svc.Claim(w.ctx, p, l.ID)), merchant.CodeCooldown)
		if params["From"] != "2026-12-03" || params["Days"] != int32(2) {
			t.Fatalf("cooldown numbers: %v", params)
		}
	}
	clk.Freeze(time.Date(2026, 12, 3, 0, 0, 1, 0, clock.Shanghai)) // 24.5 hours after the release, but day 2
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, a, l.ID))
}

func must2[T any](_ T, err error) error { return err }

// New-in-pool protection and locks.
func TestProtectionAndLock(t *testing.T) {
	t.Parallel()
	w, clk := poolWorld(t, merchant.Config{CooldownDays: -1})
	setRules(t, w, "sh1.rep", merchant.PoolRules{ProtectHours: 2})
	ls := leads(t, w, "sh1.rep", 500, 2)
	rep, lead := w.p(t, "sh1.rep"), w.p(t, "sh1.lead")
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, ls[0].ID)) // a new lead is claimable at once
	must[merchant.Lead](t)(w.svc.Release(w.ctx, rep, ls[0].ID, "closed for renovation"))
	params := refusal(t, must2(w.svc.Claim(w.ctx, lead, ls[0].ID)), merchant.CodeProtected)
	if params["Until"] != "2026-12-01 12:00" {
		t.Fatalf("protection numbers: %v", params)
	}
	clk.Advance(2 * time.Hour)
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, lead, ls[0].ID))

	_, err := w.svc.SetLocked(w.ctx, rep, ls[1].ID, true, "key account")
	wantCode(t, err, merchant.CodeNotPoolAdmin)
	if got := must[merchant.Lead](t)(w.svc.SetLocked(w.ctx, lead, ls[1].ID, true, "key account")); !got.Locked {
		t.Fatal("not locked")
	}
	refusal(t, must2(w.svc.Claim(w.ctx, rep, ls[1].ID)), merchant.CodeLocked)
	must[merchant.Lead](t)(w.svc.SetLocked(w.ctx, lead, ls[1].ID, false, "released for all"))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, ls[1].ID))
	if n := auditCount(t, w, "merchant.lead.lock"); n != 2 {
		t.Fatalf("%d lock audit entries", n)
	}
}

// Every open lead counts against the cap, checked on claim, reopen, assign and
// transfer: marking leads lost, claiming others and reopening cannot pass it.
func TestHoldingCapOnReopenAssignTransfer(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	setRules(t, w, "sh1.rep", merchant.PoolRules{HoldingCap: 2})
	ls := leads(t, w, "sh1.rep", 600, 5)
	rep, tl := w.p(t, "sh1.rep"), w.p(t, "sh1.lead")
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, ls[0].ID))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, ls[1].ID))
	params := refusal(t, must2(w.svc.Claim(w.ctx, rep, ls[2].ID)), merchant.CodeHoldingCap)
	if params["Held"] != int64(2) || params["Cap"] != int32(2) {
		t.Fatalf("cap numbers: %v", params)
	}
	must[merchant.Lead](t)(w.svc.MoveStage(w.ctx, rep, ls[0].ID, merchant.StageLost, "gone"))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, ls[2].ID))
	refusal(t, must2(w.svc.MoveStage(w.ctx, rep, ls[0].ID, merchant.StageLead, "reopen")), merchant.CodeHoldingCap)
	// Assign from the pool and transfer from the team lead: both refused at the cap.
	out := must[[]merchant.AssignOutcome](t)(w.svc.Assign(w.ctx, tl, []uuid.UUID{ls[3].ID}, rep.User.ID, "your area"))
	if out[0].Code != merchant.CodeHoldingCap {
		t.Fatalf("assign at the cap: %+v", out)
	}
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, tl, ls[4].ID))
	out = must[[]merchant.AssignOutcome](t)(w.svc.Assign(w.ctx, tl, []uuid.UUID{ls[4].ID}, rep.User.ID, "your area"))
	if out[0].Code != merchant.CodeHoldingCap {
		t.Fatalf("transfer at the cap: %+v", out)
	}
	var held int
	if err := w.db.QueryRow(w.ctx, "SELECT count(*) FROM merchant.leads WHERE owner_id = $1 AND stage <> 'lost'", rep.User.ID).Scan(&held); err != nil || held != 2 {
		t.Fatalf("rep holds %d open leads (%v)", held, err)
	}
}

// Managers assign from the pool and transfer between reps, one lead or many, within
// their scope; the owner history keeps every change with its reason and actor, and the
// former owner no longer sees the lead (nor its visits and contract).
func TestAssignTransferHistoryAndScope(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	ls := leads(t, w, "sh1.rep", 700, 3)
	tl, rep, mgr := w.p(t, "sh1.lead"), w.p(t, "sh1.rep"), w.p(t, "sh.manager")
	_, err := w.svc.Assign(w.ctx, rep, []uuid.UUID{ls[0].ID}, rep.User.ID, "mine")
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a rep assigns: %v", err)
	}
	_, err = w.svc.Assign(w.ctx, tl, []uuid.UUID{ls[0].ID}, w.demo.Users["sh2.rep"], "other team")
	wantCode(t, err, merchant.CodeAssigneeUnavailable) // the team lead's scope is their team
	out := must[[]merchant.AssignOutcome](t)(w.svc.Assign(w.ctx, tl, []uuid.UUID{ls[0].ID, ls[1].ID}, rep.User.ID, "your street"))
	for _, o := range out {
		if o.Lead == nil || *o.Lead.OwnerID != rep.User.ID {
			t.Fatalf("bulk assign: %+v", out)
		}
	}
	checkedIn(t, w, rep, ls[0])
	// The city manager transfers one to team 2's rep.
	out = must[[]merchant.AssignOutcome](t)(w.svc.Assign(w.ctx, mgr, []uuid.UUID{ls[0].ID}, w.demo.Users["sh2.rep"], "rep left the area"))
	if out[0].Lead == nil {
		t.Fatalf("transfer: %+v", out)
	}
	_, err = w.svc.GetLead(w.ctx, rep, ls[0].ID)
	wantCode(t, err, "merchant.lead_not_found")
	_, err = w.svc.GetLead(w.ctx, tl, ls[0].ID)
	wantCode(t, err, "merchant.lead_not_found") // it went with the rep to team 2
	// Policy: the lead's visits and timeline go with it: the new owner sees the former
	// owner's check-in, the former owner sees nothing of the lead any more.
	_, err = w.svc.Timeline(w.ctx, rep, ls[0].ID)
	wantCode(t, err, "merchant.lead_not_found")
	tl2 := must[[]merchant.TimelineEntry](t)(w.svc.Timeline(w.ctx, w.p(t, "sh2.rep"), ls[0].ID))
	if !slices.ContainsFunc(tl2, func(e merchant.TimelineEntry) bool { return e.Kind == "check_in" && e.By == rep.User.ID }) {
		t.Fatalf("the new owner does not see the visit: %+v", tl2)
	}
	hist := must[[]merchant.OwnerChange](t)(w.svc.OwnerHistory(w.ctx, mgr, ls[0].ID))
	events := []string{}
	for _, h := range hist {
		events = append(events, h.Event)
	}
	if fmt.Sprint(events) != "[created assigned transferred]" || hist[2].Reason != "rep left the area" || hist[2].By != mgr.User.ID ||
		*hist[2].From != rep.User.ID {
		t.Fatalf("history: %+v", hist)
	}
	if auditCount(t, w, "merchant.lead.assign") != 2 || auditCount(t, w, "merchant.lead.transfer") != 1 {
		t.Fatal("assignments not audited")
	}
	// A lead out of scope is refused on its own, without undoing the others.
	hz := leads(t, w, "hz1.rep", 710, 1)[0]
	out = must[[]merchant.AssignOutcome](t)(w.svc.Assign(w.ctx, tl, []uuid.UUID{hz.ID, ls[2].ID}, rep.User.ID, "mixed"))
	if out[0].Code != "merchant.lead_not_found" || out[1].Lead == nil {
		t.Fatalf("mixed bulk: %+v", out)
	}
}

// A disabled rep's leads are handed back to their pools by their manager (the rule:
// to the pool, where the managers see them, or to a named rep).
func TestHandOverDisabledRep(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	ls := leads(t, w, "sh1.rep", 800, 3)
	rep, tl := w.p(t, "sh1.rep"), w.p(t, "sh1.lead")
	for _, l := range ls {
		must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, l.ID))
	}
	_, err := w.svc.HandOver(w.ctx, w.p(t, "hz.lead"), rep.User.ID, uuid.Nil, "left")
	wantCode(t, err, "merchant.user_not_found")
	out := must[[]merchant.AssignOutcome](t)(w.svc.HandOver(w.ctx, tl, rep.User.ID, uuid.Nil, "rep disabled"))
	if len(out) != 3 {
		t.Fatalf("hand over: %+v", out)
	}
	pool, _, _ := w.svc.ListLeads(w.ctx, tl, merchant.LeadFilter{PoolOnly: true})
	if len(pool) != 3 {
		t.Fatalf("the team lead sees %d leads in the pool", len(pool))
	}
	hist := must[[]merchant.OwnerChange](t)(w.svc.OwnerHistory(w.ctx, tl, ls[0].ID))
	if last := hist[len(hist)-1]; last.Event != merchant.EventReclaimed || last.Reason != "rep disabled" {
		t.Fatalf("history: %+v", hist)
	}
}

// Auto-reclaim: no follow-up for N calendar days (Asia/Shanghai) from the later of the
// claim and the last follow-up; a reminder K days before, once; days left on the lead;
// a second run does nothing more; locked leads are exempt.
func TestReclaimCalendarDaysReminderIdempotent(t *testing.T) {
	t.Parallel()
	w, clk := poolWorld(t, merchant.Config{})
	setRules(t, w, "sh1.rep", merchant.PoolRules{ReclaimFollowUpDays: 3, RemindDays: 1})
	ls := leads(t, w, "sh1.rep", 900, 3)
	rep, tl := w.p(t, "sh1.rep"), w.p(t, "sh1.lead")
	clk.Freeze(time.Date(2026, 12, 1, 23, 50, 0, 0, clock.Shanghai))
	for _, l := range ls {
		must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, l.ID))
	}
	must[merchant.Lead](t)(w.svc.SetLocked(w.ctx, tl, ls[2].ID, true, "key account"))
	got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, ls[0].ID))
	if got.DaysLeft == nil || *got.DaysLeft != 3 || *got.ReclaimOn != "2026-12-04" {
		t.Fatalf("days left: %+v", got)
	}
	// A follow-up on day 2 moves lead 1's day to 12-05.
	clk.Freeze(time.Date(2026, 12, 2, 9, 0, 0, 0, clock.Shanghai))
	must[merchant.FollowUp](t)(w.svc.LogFollowUp(w.ctx, rep, ls[1].ID, merchant.FollowUp{Channel: "call", Note: "called"}))
	if got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, ls[1].ID)); *got.ReclaimOn != "2026-12-05" || *got.DaysLeft != 3 {
		t.Fatalf("after a follow-up: %+v", got)
	}
	clk.Freeze(time.Date(2026, 12, 3, 8, 0, 0, 0, clock.Shanghai))
	for range 2 {
		res := must[merchant.ReclaimResult](t)(w.svc.RunReclaim(w.ctx))
		if res.Reclaimed != 0 {
			t.Fatalf("day 3: %+v", res)
		}
	}
	if rs := must[[]merchant.Reminder](t)(w.svc.MyReminders(w.ctx, rep)); len(rs) != 1 || rs[0].LeadID != ls[0].ID || rs[0].DueOn != "2026-12-04" {
		t.Fatalf("reminders: %+v", rs)
	}
	clk.Freeze(time.Date(2026, 12, 4, 0, 10, 0, 0, clock.Shanghai)) // 72 hours have not passed; 3 calendar days have
	if res := must[merchant.ReclaimResult](t)(w.svc.RunReclaim(w.ctx)); res.Reclaimed != 1 || res.Reminded != 1 {
		t.Fatalf("day 4: %+v", res)
	}
	if res := must[merchant.ReclaimResult](t)(w.svc.RunReclaim(w.ctx)); res.Reclaimed != 0 || res.Reminded != 0 {
		t.Fatalf("second run: %+v", res)
	}
	if got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, rep, ls[0].ID)); !got.InPool {
		t.Fatalf("not reclaimed: %+v", got)
	}
	clk.Freeze(time.Date(2026, 12, 9, 0, 10, 0, 0, clock.Shanghai))
	if res := must[merchant.ReclaimResult](t)(w.svc.RunReclaim(w.ctx)); res.Reclaimed != 1 {
		t.Fatalf("day 9: %+v (the locked lead stays)", res)
	}
	hist := must[[]merchant.OwnerChange](t)(w.svc.OwnerHistory(w.ctx, tl, ls[0].ID))
	if last := hist[len(hist)-1]; last.Event != merchant.EventReclaimed || last.By != uuid.Nil {
		t.Fatalf("history: %+v", hist)
	}
}

// A user with no role sees no lead and no pool, not even their own unit's.
func TestNoRoleSeesNothing(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	l := leads(t, w, "sh1.rep", 1000, 1)[0]
	u := must[identity.User](t)(w.ids.CreateUser(w.ctx, w.p(t, "admin"), identity.NewUser{Login: "norole", DisplayName: "No role",
		Kind: identity.KindStaff, OrgUnitID: w.demo.Units[identity.DemoSHTeam1], Password: "Long-enough-pass-1"}))
	p := must[*identity.Principal](t)(w.ids.Principal(w.ctx, u.ID))
	if _, _, err := w.svc.ListLeads(w.ctx, p, merchant.LeadFilter{}); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("list: %v", err)
	}
	if _, err := w.svc.ListPools(w.ctx, p); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("pools: %v", err)
	}
	_, err := w.svc.GetLead(w.ctx, p, l.ID)
	wantCode(t, err, "merchant.lead_not_found")
	if _, err := w.svc.Claim(w.ctx, p, l.ID); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("claim: %v", err)
	}
}

func urlq(s string) string { return url.QueryEscape(s) }

// Policy: a lead belongs to the pool of the unit it was created in, whatever other
// pools its creator or owner is a member of, and goes back there when released.
func TestPolicyALeadKeepsItsPool(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	team1 := myPool(t, w, "sh1.rep")
	sh2 := w.p(t, "sh2.rep")
	must[struct{}](t)(struct{}{}, w.svc.SetPoolMember(w.ctx, w.p(t, "admin"), team1.ID, sh2.User.ID, "member"))
	own := leads(t, w, "sh2.rep", 1100, 1)[0]
	if own.PoolID == team1.ID || own.PoolID != myPool(t, w, "sh2.rep").ID {
		t.Fatalf("sh2.rep's lead went to pool %s", own.PoolID)
	}
	l := leads(t, w, "sh1.rep", 1110, 1)[0]
	held := must[merchant.Lead](t)(w.svc.Claim(w.ctx, sh2, l.ID))
	if *held.OrgUnitID != sh2.User.OrgUnitID.UUID || held.PoolID != team1.ID {
		t.Fatalf("held: %+v", held)
	}
	back := must[merchant.Lead](t)(w.svc.Release(w.ctx, sh2, l.ID, "not my area"))
	if back.PoolID != team1.ID || *back.OrgUnitID != *team1.OrgUnitID {
		t.Fatalf("released into %+v", back)
	}
}
