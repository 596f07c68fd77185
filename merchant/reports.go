package merchant

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Sales reports within the viewer's scope of merchant.lead.read (a rep's own, a team
// lead's team, a city manager's city): the funnel by stage and by cohort, conversion
// and cycle time, visits per rep per day, pool health, attainment and the leaderboard.
// The funnel by cohort, conversion and cycle time read merchant.stage_rollup (kept by
// the database on each stage change), never the years of stage history.

// pipeline is the order of the stages a lead moves through on its way to live.
var pipeline = []Stage{StageLead, StageContacted, StageVisited, StageNegotiating, StageSigned, StageOnboarding, StageLive}

// ReportQuery narrows a report.
type ReportQuery struct {
	Months int    // how many months back (cohorts, conversion); default 12, at most 36
	Days   int    // how many days back (visits, reclaims); default 30, at most 92
	City   string // optional
}

func (rq ReportQuery) withDefaults() (ReportQuery, error) {
	switch {
	case rq.Months == 0:
		rq.Months = 12
	case rq.Months < 0 || rq.Months > 36:
		return rq, errs.Invalidf("months", "months is 1 to 36")
	}
	switch {
	case rq.Days == 0:
		rq.Days = 30
	case rq.Days < 0 || rq.Days > 92:
		return rq, errs.Invalidf("days", "days is 1 to 92")
	}
	return rq, nil
}

func (s *Service) reportScope(p *identity.Principal, rq ReportQuery) (identity.Scope, ReportQuery, error) {
	if err := principal(p); err != nil {
		return identity.Scope{}, rq, err
	}
	sc, err := p.Require(identity.PermLeadRead)
	if err != nil {
		return sc, rq, err
	}
	rq, err = rq.withDefaults()
	return sc, rq, err
}

func optText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// StageCount is how many leads are at (or reached) a stage.
type StageCount struct {
	Stage Stage `json:"stage"`
	Leads int64 `json:"leads"`
}

// Funnel counts the leads in scope by their current stage, in pipeline order (lost last).
func (s *Service) Funnel(ctx context.Context, p *identity.Principal, rq ReportQuery) ([]StageCount, error) {
	sc, rq, err := s.reportScope(p, rq)
	if err != nil {
		return nil, err
	}
	q := merchantdb.New(s.db)
	by := map[Stage]int64{}
	if sc.SeesAll() {
		rows, err := q.ReportFunnelAll(ctx, optText(rq.City))
		if err != nil {
			return nil, fmt.Errorf("merchant: funnel: %w", pg.Classify(err))
		}
		for _, r := range rows {
			by[Stage(r.Stage)] = r.Leads
		}
	} else {
		rows, err := q.ReportFunnelUnits(ctx, merchantdb.ReportFunnelUnitsParams{ScopeOwnerIds: sc.OwnerIDs(),
			ScopeOrgUnitIds: sc.OrgUnitIDs(), City: optText(rq.City)})
		if err != nil {
			return nil, fmt.Errorf("merchant: funnel: %w", pg.Classify(err))
		}
		for _, r := range rows {
			by[Stage(r.Stage)] = r.Leads
		}
	}
	out := make([]StageCount, 0, len(pipeline)+1)
	for _, st := range append(slices.Clone(pipeline), StageLost) {
		out = append(out, StageCount{Stage: st, Leads: by[st]})
	}
	return out, nil
}

// CohortRow is the leads created in a month that reached each stage.
type CohortRow struct {
	Cohort  string           `json:"cohort"` // 2006-01
	Reached map[Stage]int64  `json:"reached"`
	Rates   map[Stage]string `json:"-"`
}

// reached reads the teams' rollup for a scope with teams (or all), and the reps'
// rollup for a rep's own scope (by month reached: it has no cohorts).
func (s *Service) reached(ctx context.Context, sc identity.Scope, rq ReportQuery, byCohort bool) ([]merchantdb.ReportReachedRow, error) {
	from := thisMonth(s.now()).AddDate(0, -(rq.Months - 1), 0)
	q := merchantdb.New(s.db)
	if !sc.SeesAll() && len(sc.OrgUnitIDs()) == 0 {
		own, err := q.ReportReachedOwn(ctx, merchantdb.ReportReachedOwnParams{FromMonth: from, ScopeOwnerIds: sc.OwnerIDs(), City: optText(rq.City)})
		if err != nil {
			return nil, fmt.Errorf("merchant: report: %w", pg.Classify(err))
		}
		rows := make([]merchantdb.ReportReachedRow, len(own))
		for i, r := range own {
			rows[i] = merchantdb.ReportReachedRow(r)
		}
		return rows, nil
	}
	rows, err := q.ReportReached(ctx, merchantdb.ReportReachedParams{ByCohort: byCohort, FromMonth: from,
		ScopeAll: sc.SeesAll(), ScopeOrgUnitIds: sc.OrgUnitIDs(), City: optText(rq.City)})
	if err != nil {
		return nil, fmt.Errorf("merchant: report: %w", pg.Classify(err))
	}
	return rows, nil
}

// Cohorts is the funnel by cohort: for each month's new leads, how many reached each stage.
func (s *Service) Cohorts(ctx context.Context, p *identity.Principal, rq ReportQuery) ([]CohortRow, error) {
	sc, rq, err := s.reportScope(p, rq)
	if err != nil {
		return nil, err
	}
	rows, err := s.reached(ctx, sc, rq, true)
	if err != nil {
		return nil, err
	}
	var out []CohortRow
	for _, r := range rows {
		c := r.Period.Format("2006-01")
		if len(out) == 0 || out[len(out)-1].Cohort != c {
			out = append(out, CohortRow{Cohort: c, Reached: map[Stage]int64{}})
		}
		out[len(out)-1].Reached[Stage(r.ToStage)] = r.Leads
	}
	return out, nil
}

// Conversion is one step of the pipeline over the report's months: how many leads
// reached From and To, the rate between them, and the mean days from a lead's
// creation to each, whose difference is the step's cycle time.
type Conversion struct {
	From      Stage    `json:"from"`
	To        Stage    `json:"to"`
	FromLeads int64    `json:"from_leads"`
	ToLeads   int64    `json:"to_leads"`
	RatePct   *float64 `json:"rate_pct"`
	// DaysToFrom and DaysToTo are mean days from creation; CycleDays is their difference.
	DaysToFrom float64 `json:"days_to_from"`
	DaysToTo   float64 `json:"days_to_to"`
	CycleDays  float64 `json:"cycle_days"`
}

// Conversions are the steps of the pipeline, for leads that reached a stage in the months.
func (s *Service) Conversions(ctx context.Context, p *identity.Principal, rq ReportQuery) ([]Conversion, error) {
	sc, rq, err := s.reportScope(p, rq)
	if err != nil {
		return nil, err
	}
	rows, err := s.reached(ctx, sc, rq, false)
	if err != nil {
		return nil, err
	}
	leads, days := map[Stage]int64{}, map[Stage]float64{}
	for _, r := range rows {
		leads[Stage(r.ToStage)] += r.Leads
		days[Stage(r.ToStage)] += r.DaysSum
	}
	mean := func(st Stage) float64 {
		if leads[st] == 0 {
			return 0
		}
		return round1(days[st] / float64(leads[st]))
	}
	out := make([]Conversion, 0, len(pipeline)-1)
	for i := 1; i < len(pipeline); i++ {
		from, to := pipeline[i-1], pipeline[i]
		c := Conversion{From: from, To: to, FromLeads: leads[from], ToLeads: leads[to], RatePct: pct(leads[to], leads[from]),
			DaysToFrom: mean(from), DaysToTo: mean(to)}
		c.CycleDays = round1(max(0, c.DaysToTo-c.DaysToFrom))
		out = append(out, c)
	}
	return out, nil
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// Breakdown is the pipeline per rep, team or city over the report's months.
type Breakdown struct {
	Key      string          `json:"key"`
	Name     string          `json:"name"`
	Reached  map[Stage]int64 `json:"reached"`
	SignPct  *float64        `json:"sign_pct"`  // signed per lead contacted (a rep's work starts there)
	DaysSign float64         `json:"days_sign"` // mean days from creation to signed
}

// BreakdownBy is "rep", "team" or "city".
func (s *Service) BreakdownBy(ctx context.Context, p *identity.Principal, by string, rq ReportQuery) ([]Breakdown, error) {
	sc, rq, err := s.reportScope(p, rq)
	if err != nil {
		return nil, err
	}
	if !slices.Contains([]string{"rep", "team", "city"}, by) {
		return nil, errs.Invalidf("by", "by is rep, team or city")
	}
	from := thisMonth(s.now()).AddDate(0, -(rq.Months - 1), 0)
	q := merchantdb.New(s.db)
	names := s.namer(ctx)
	groups := map[string]*Breakdown{}
	signDays := map[string]float64{}
	add := func(key, name, stage string, leads int64, days float64) {
		g := groups[key]
		if g == nil {
			g = &Breakdown{Key: key, Name: name, Reached: map[Stage]int64{}}
			groups[key] = g
		}
		g.Reached[Stage(stage)] += leads
		if Stage(stage) == StageSigned {
			signDays[key] += days
		}
	}
	if by == "rep" {
		rows, err := q.ReportReachedByRep(ctx, merchantdb.ReportReachedByRepParams{FromMonth: from, ScopeAll: sc.SeesAll(),
			ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
		if err != nil {
			return nil, fmt.Errorf("merchant: breakdown: %w", pg.Classify(err))
		}
		reps := make([]uuid.UUID, 0, len(rows))
		for _, r := range rows {
			reps = append(reps, r.RepID.UUID) // leads reaching a stage in the pool (no rep) are left out by the query
		}
		names.load(reps...) // one read names every rep below
		for _, r := range rows {
			name, _ := names.rep(r.RepID.UUID)
			add(r.RepID.UUID.String(), name, r.ToStage, r.Leads, r.DaysSum)
		}
	} else {
		rows, err := q.ReportReachedByUnit(ctx, merchantdb.ReportReachedByUnitParams{FromMonth: from, ScopeAll: sc.SeesAll(),
			ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
		if err != nil {
			return nil, fmt.Errorf("merchant: breakdown: %w", pg.Classify(err))
		}
		for _, r := range rows {
			if by == "city" {
				add(r.City, r.City, r.ToStage, r.Leads, r.DaysSum)
			} else {
				add(r.OrgUnitID.UUID.String(), "", r.ToStage, r.Leads, r.DaysSum)
			}
		}
		if by == "team" {
			s.nameTeams(ctx, p, names, groups)
		}
	}
	out := make([]Breakdown, 0, len(groups))
	for key, g := range groups {
		g.SignPct = pct(g.Reached[StageSigned], g.Reached[StageContacted])
		if n := g.Reached[StageSigned]; n > 0 {
			g.DaysSign = round1(signDays[key] / float64(n))
		}
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b Breakdown) int { return int(b.Reached[StageSigned] - a.Reached[StageSigned]) })
	return out, nil
}

// nameTeams names the team groups from identity's org tree as p sees it (one read).
func (s *Service) nameTeams(ctx context.Context, p *identity.Principal, names *namer, groups map[string]*Breakdown) {
	unitName := map[string]string{}
	if s.staff != nil {
		units, err := s.staff.Units(ctx, p)
		if err != nil {
			s.log.WarnContext(ctx, "merchant: naming teams", "err", err)
		}
		for _, u := range units {
			unitName[u.ID.String()] = u.Name
		}
	}
	for key, g := range groups {
		if g.Name = unitName[key]; g.Name == "" {
			id, _ := uuid.Parse(key)
			g.Name = names.team(id)
		}
	}
}

// RepDay is one rep's accepted check-ins of one Shanghai day.
type RepDay struct {
	RepID   uuid.UUID `json:"rep_id"`
	Name    string    `json:"name"`
	Day     string    `json:"day"`
	Visits  int64     `json:"visits"`
	Flagged int64     `json:"flagged"`
}

// VisitsPerRepPerDay is the visits per rep per day of the last Days days.
func (s *Service) VisitsPerRepPerDay(ctx context.Context, p *identity.Principal, rq ReportQuery) ([]RepDay, error) {
	sc, rq, err := s.reportScope(p, rq)
	if err != nil {
		return nil, err
	}
	// Whole Shanghai days: today and the Days-1 before it.
	today := clock.Day(s.now())
	rows, err := merchantdb.New(s.db).VisitsPerRepPerDay(ctx, merchantdb.VisitsPerRepPerDayParams{FromDay: today.AddDate(0, 0, -(rq.Days - 1)),
		ToDay: today, ScopeAll: sc.SeesAll(), ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return nil, fmt.Errorf("merchant: visits report: %w", pg.Classify(err))
	}
	// Sorted by day and rep, then a rep's two rows of one day (two teams) added up:
	// no map over tens of thousands of rep-days, and each day formatted once.
	slices.SortFunc(rows, func(a, b merchantdb.VisitsPerRepPerDayRow) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		return bytes.Compare(a.RepID[:], b.RepID[:])
	})
	out := make([]RepDay, 0, len(rows))
	reps := make([]uuid.UUID, 0, len(rows))
	var day time.Time
	var dayText string
	for _, r := range rows {
		if n := len(out); n > 0 && out[n-1].RepID == r.RepID && r.Day.Equal(day) {
			out[n-1].Visits += r.Visits
			out[n-1].Flagged += r.Flagged
			continue
		}
		if dayText == "" || !r.Day.Equal(day) {
			day, dayText = r.Day, r.Day.Format(time.DateOnly)
		}
		out = append(out, RepDay{RepID: r.RepID, Day: dayText, Visits: r.Visits, Flagged: r.Flagged})
		reps = append(reps, r.RepID)
	}
	names := s.namer(ctx)
	names.load(reps...)
	for i := range out {
		out[i].Name, _ = names.rep(out[i].RepID)
	}
	return out, nil
}

// PoolHealth is how long leads wait in the pools, and how many were taken back per day.
type PoolHealth struct {
	Ages     []AgeBucket `json:"ages"`
	Reclaims []DayCount  `json:"reclaims"`
}

// AgeBucket counts pool leads by days since they last changed ("0-7", "8-30", ...).
type AgeBucket struct {
	Bucket string `json:"bucket"`
	Leads  int64  `json:"leads"`
}

// DayCount is a count of a Shanghai day.
type DayCount struct {
	Day   string `json:"day"`
	Count int64  `json:"count"`
}

// PoolHealthReport reads the pools' health in scope.
func (s *Service) PoolHealthReport(ctx context.Context, p *identity.Principal, rq ReportQuery) (PoolHealth, error) {
	sc, rq, err := s.reportScope(p, rq)
	if err != nil {
		return PoolHealth{}, err
	}
	q := merchantdb.New(s.db)
	now := s.now()
	ages, err := q.ReportPoolAge(ctx, merchantdb.ReportPoolAgeParams{Now: now, ScopeAll: sc.SeesAll(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return PoolHealth{}, fmt.Errorf("merchant: pool ages: %w", pg.Classify(err))
	}
	by := map[string]int64{}
	for _, a := range ages {
		by[a.Bucket] = a.Leads
	}
	var out PoolHealth
	for _, b := range []string{"0-7", "8-30", "31-90", "90+"} {
		out.Ages = append(out.Ages, AgeBucket{Bucket: b, Leads: by[b]})
	}
	from := clock.Day(now).AddDate(0, 0, -(rq.Days - 1)) // whole Shanghai days, today the last
	rec, err := q.ReportReclaims(ctx, merchantdb.ReportReclaimsParams{FromDay: from, FromAt: from, ScopeAll: sc.SeesAll(),
		ScopeOwnerIds: sc.OwnerIDs(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return PoolHealth{}, fmt.Errorf("merchant: reclaims: %w", pg.Classify(err))
	}
	for _, r := range rec {
		out.Reclaims = append(out.Reclaims, DayCount{Day: r.Day.Format(time.DateOnly), Count: r.Reclaims})
	}
	return out, nil
}

// Leader is a rep's place on a month's leaderboard.
type Leader struct {
	Rank      int       `json:"rank"`
	RepID     uuid.UUID `json:"rep_id"`
	Name      string    `json:"name"`
	Team      string    `json:"team"`
	Signings  int       `json:"signings"`
	LiveShops int       `json:"live_shops"`
	GMVFen    int64     `json:"first_month_gmv_fen"`
}

// Leaderboard ranks the reps in scope by signings, then live shops, then GMV.
func (s *Service) Leaderboard(ctx context.Context, p *identity.Principal, monthText string) ([]Leader, error) {
	rows, err := s.Attainment(ctx, p, monthText)
	if err != nil {
		return nil, err
	}
	var out []Leader
	for _, r := range rows {
		if r.Subject != SubjectRep {
			continue
		}
		out = append(out, Leader{RepID: r.SubjectID, Name: r.Name, Team: r.Team, Signings: r.Achieved.Signings,
			LiveShops: r.Achieved.LiveShops, GMVFen: r.Achieved.GMVFen})
	}
	slices.SortFunc(out, func(a, b Leader) int {
		if a.Signings != b.Signings {
			return b.Signings - a.Signings
		}
		if a.LiveShops != b.LiveShops {
			return b.LiveShops - a.LiveShops
		}
		return int(b.GMVFen - a.GMVFen)
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out, nil
}
