package merchant

import (
	"html/template"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/web"
)

// The sales dashboard (the city manager's, and each viewer's within their scope): the
// reports with ECharts, each exportable as CSV at /reports/<name>/csv.

type reportsPage struct {
	Query                                                    ReportQuery
	By                                                       string
	Funnel, Cohorts, Conversion, Visits, Pool, Reclaims, Att template.JS
	ConversionRows                                           []conversionView
	BreakdownRows                                            []breakdownView
	Leaders                                                  []leaderView
	VisitTotals                                              []RepDay
	Names                                                    []string
}

type conversionView struct {
	Conversion
	From, To, Rate string
}

type breakdownView struct {
	Breakdown
	Leads, Signed, Live, Rate string
}

type leaderView struct {
	Leader
	GMV string
}

func (pg fieldPages) reportQuery(c *gin.Context) (ReportQuery, error) {
	return reportQuery(c)
}

func (pg fieldPages) reports(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	rq, err := pg.reportQuery(c)
	if err != nil {
		return err
	}
	rq, err = rq.withDefaults()
	if err != nil {
		return err
	}
	by := c.DefaultQuery("by", "team")
	p := reportsPage{Query: rq, By: by}
	v.Charts = true
	stage := func(s Stage) string { return v.T("fw.stage_" + string(s)) }

	funnel, err := pg.svc.Funnel(ctx, v.Me, rq)
	if err != nil {
		return err
	}
	var labels []string
	var values []int64
	for _, f := range funnel {
		labels, values = append(labels, stage(f.Stage)), append(values, f.Leads)
	}
	p.Funnel = chartJSON(map[string]any{"labels": labels, "values": values, "name": v.T("fw.leads")})

	cohorts, err := pg.svc.Cohorts(ctx, v.Me, rq)
	if err != nil {
		return err
	}
	var months []string
	for _, co := range cohorts {
		months = append(months, co.Cohort)
	}
	var series []any
	for _, st := range []Stage{StageLead, StageVisited, StageSigned, StageLive} {
		var data []int64
		for _, co := range cohorts {
			data = append(data, co.Reached[st])
		}
		series = append(series, map[string]any{"type": "line", "name": stage(st), "data": data})
	}
	p.Cohorts = chartJSON(map[string]any{"option": map[string]any{"tooltip": map[string]any{"trigger": "axis"}, "legend": map[string]any{},
		"grid": map[string]any{"left": 40, "right": 16, "top": 32, "bottom": 40}, "xAxis": map[string]any{"type": "category", "data": months},
		"yAxis": map[string]any{"type": "value", "minInterval": 1}, "series": series}})

	conv, err := pg.svc.Conversions(ctx, v.Me, rq)
	if err != nil {
		return err
	}
	var steps []string
	var cycle []float64
	for _, cv := range conv {
		p.ConversionRows = append(p.ConversionRows, conversionView{Conversion: cv, From: stage(cv.From), To: stage(cv.To), Rate: pctText(cv.RatePct)})
		steps, cycle = append(steps, stage(cv.To)), append(cycle, cv.CycleDays)
	}
	p.Conversion = chartJSON(map[string]any{"labels": steps, "values": cycle, "name": v.T("fw.cycle_days")})

	visits, err := pg.svc.VisitsPerRepPerDay(ctx, v.Me, rq)
	if err != nil {
		return err
	}
	p.Visits = visitsChart(v, visits)
	p.VisitTotals = visitTotals(visits)

	pool, err := pg.svc.PoolHealthReport(ctx, v.Me, rq)
	if err != nil {
		return err
	}
	var buckets []string
	var ages []int64
	for _, a := range pool.Ages {
		buckets, ages = append(buckets, v.T("fw.age_"+a.Bucket)), append(ages, a.Leads)
	}
	p.Pool = chartJSON(map[string]any{"labels": buckets, "values": ages, "name": v.T("fw.pool_leads")})
	var days []string
	var rec []int64
	for _, r := range pool.Reclaims {
		days, rec = append(days, r.Day), append(rec, r.Count)
	}
	p.Reclaims = chartJSON(map[string]any{"labels": days, "values": rec, "name": v.T("fw.reclaims")})

	att, err := pg.svc.Attainment(ctx, v.Me, "")
	if err != nil {
		return err
	}
	var names []string
	var signPct []float64
	for _, a := range att {
		if a.Subject == SubjectTeam && a.Target != nil {
			names, signPct = append(names, a.Name), append(signPct, pctOrZero(a.SigningsPct))
		}
	}
	p.Att = chartJSON(map[string]any{"labels": names, "values": signPct, "name": v.T("fw.signings_pct")})

	leaders, err := pg.svc.Leaderboard(ctx, v.Me, "")
	if err != nil {
		return err
	}
	for i, l := range leaders {
		if i == 10 {
			break
		}
		p.Leaders = append(p.Leaders, leaderView{Leader: l, GMV: web.Yuan(l.GMVFen)})
	}
	br, err := pg.svc.BreakdownBy(ctx, v.Me, by, rq)
	if err != nil {
		return err
	}
	for _, b := range br {
		p.BreakdownRows = append(p.BreakdownRows, breakdownView{Breakdown: b, Leads: strconv.FormatInt(b.Reached[StageContacted], 10),
			Signed: strconv.FormatInt(b.Reached[StageSigned], 10), Live: strconv.FormatInt(b.Reached[StageLive], 10), Rate: pctText(b.SignPct)})
	}
	return pg.w.Show(c, v, "field/reports", "fw.reports_title", p)
}

// visitsChart stacks each rep's visits per day.
func visitsChart(v *web.View, rows []RepDay) template.JS {
	var days []string
	reps := map[string]map[string]int64{}
	var order []string
	for _, r := range rows {
		if !slices.Contains(days, r.Day) {
			days = append(days, r.Day)
		}
		if reps[r.Name] == nil {
			reps[r.Name] = map[string]int64{}
			order = append(order, r.Name)
		}
		reps[r.Name][r.Day] += r.Visits
	}
	var series []any
	for _, name := range order {
		var data []int64
		for _, d := range days {
			data = append(data, reps[name][d])
		}
		series = append(series, map[string]any{"type": "bar", "stack": "v", "name": name, "data": data})
	}
	return chartJSON(map[string]any{"option": map[string]any{"tooltip": map[string]any{"trigger": "axis"},
		"legend": map[string]any{"type": "scroll"}, "grid": map[string]any{"left": 40, "right": 16, "top": 32, "bottom": 40},
		"xAxis": map[string]any{"type": "category", "data": days}, "yAxis": map[string]any{"type": "value", "minInterval": 1, "name": v.T("fw.visits")},
		"series": series}})
}

// visitTotals sums each rep's visits over the days, with the mean per day visited.
func visitTotals(rows []RepDay) []RepDay {
	by := map[string]*RepDay{}
	var out []RepDay
	for _, r := range rows {
		if by[r.Name] == nil {
			by[r.Name] = &RepDay{RepID: r.RepID, Name: r.Name}
		}
		by[r.Name].Visits += r.Visits
		by[r.Name].Flagged += r.Flagged
	}
	for _, r := range by {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b RepDay) int { return int(b.Visits - a.Visits) })
	return out
}

// reportCSV exports one report of the dashboard.
func (pg fieldPages) reportCSV(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	rq, err := pg.reportQuery(c)
	if err != nil {
		return err
	}
	name := c.Param("name")
	stage := func(s Stage) string { return v.T("fw.stage_" + string(s)) }
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	switch name {
	case "funnel":
		rows, err := pg.svc.Funnel(ctx, v.Me, rq)
		return csvOrErr(pg, c, v, name, err, []web.Column[StageCount]{
			{Header: "fw.stage", Cell: func(r StageCount) string { return stage(r.Stage) }},
			{Header: "fw.leads", Cell: func(r StageCount) string { return i64(r.Leads) }}}, rows)
	case "cohorts":
		rows, err := pg.svc.Cohorts(ctx, v.Me, rq)
		cols := []web.Column[CohortRow]{{Header: "fw.cohort", Cell: func(r CohortRow) string { return r.Cohort }}}
		for _, st := range pipeline {
			cols = append(cols, web.Column[CohortRow]{Header: "fw.stage_" + string(st), Cell: func(r CohortRow) string { return i64(r.Reached[st]) }})
		}
		return csvOrErr(pg, c, v, name, err, cols, rows)
	case "conversion":
		rows, err := pg.svc.Conversions(ctx, v.Me, rq)
		f1 := func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
		return csvOrErr(pg, c, v, name, err, []web.Column[Conversion]{
			{Header: "fw.from", Cell: func(r Conversion) string { return stage(r.From) }},
			{Header: "fw.to", Cell: func(r Conversion) string { return stage(r.To) }},
			{Header: "fw.from_leads", Cell: func(r Conversion) string { return i64(r.FromLeads) }},
			{Header: "fw.to_leads", Cell: func(r Conversion) string { return i64(r.ToLeads) }},
			{Header: "fw.rate", Cell: func(r Conversion) string { return pctText(r.RatePct) }},
			{Header: "fw.cycle_days", Cell: func(r Conversion) string { return f1(r.CycleDays) }}}, rows)
	case "visits":
		rows, err := pg.svc.VisitsPerRepPerDay(ctx, v.Me, rq)
		return csvOrErr(pg, c, v, name, err, []web.Column[RepDay]{
			{Header: "fw.day", Cell: func(r RepDay) string { return r.Day }},
			{Header: "fw.rep", Cell: func(r RepDay) string { return r.Name }},
			{Header: "fw.visits", Cell: func(r RepDay) string { return i64(r.Visits) }},
			{Header: "fw.flagged", Cell: func(r RepDay) string { return i64(r.Flagged) }}}, rows)
	case "pool-health":
		ph, err := pg.svc.PoolHealthReport(ctx, v.Me, rq)
		return csvOrErr(pg, c, v, name, err, []web.Column[AgeBucket]{
			{Header: "fw.age", Cell: func(r AgeBucket) string { return v.T("fw.age_" + r.Bucket) }},
			{Header: "fw.pool_leads", Cell: func(r AgeBucket) string { return i64(r.Leads) }}}, ph.Ages)
	case "attainment":
		rows, err := pg.svc.Attainment(ctx, v.Me, c.Query("month"))
		return csvOrErr(pg, c, v, name, err, attainmentColumns(v), rows)
	case "leaderboard":
		rows, err := pg.svc.Leaderboard(ctx, v.Me, c.Query("month"))
		return csvOrErr(pg, c, v, name, err, []web.Column[Leader]{
			{Header: "fw.rank", Cell: func(r Leader) string { return strconv.Itoa(r.Rank) }},
			{Header: "fw.rep", Cell: func(r Leader) string { return r.Name }},
			{Header: "fw.team", Cell: func(r Leader) string { return r.Team }},
			{Header: "fw.signings", Cell: func(r Leader) string { return strconv.Itoa(r.Signings) }},
			{Header: "fw.live_shops", Cell: func(r Leader) string { return strconv.Itoa(r.LiveShops) }},
			{Header: "fw.gmv_yuan", Cell: func(r Leader) string { return web.Yuan(r.GMVFen) }}}, rows)
	case "breakdown":
		rows, err := pg.svc.BreakdownBy(ctx, v.Me, c.DefaultQuery("by", "team"), rq)
		return csvOrErr(pg, c, v, name, err, []web.Column[Breakdown]{
			{Header: "fw.name", Cell: func(r Breakdown) string { return r.Name }},
			{Header: "fw.stage_contacted", Cell: func(r Breakdown) string { return i64(r.Reached[StageContacted]) }},
			{Header: "fw.stage_signed", Cell: func(r Breakdown) string { return i64(r.Reached[StageSigned]) }},
			{Header: "fw.stage_live", Cell: func(r Breakdown) string { return i64(r.Reached[StageLive]) }},
			{Header: "fw.rate", Cell: func(r Breakdown) string { return pctText(r.SignPct) }},
			{Header: "fw.days_sign", Cell: func(r Breakdown) string { return strconv.FormatFloat(r.DaysSign, 'f', 1, 64) }}}, rows)
	}
	return errs.NotFound("merchant.report")
}

func attainmentColumns(v *web.View) []web.Column[AttainmentRow] {
	target := func(r AttainmentRow, f func(Target) string) string {
		if r.Target == nil {
			return ""
		}
		return f(*r.Target)
	}
	return []web.Column[AttainmentRow]{
		{Header: "fw.subject", Cell: func(r AttainmentRow) string { return v.T("fw.subject_" + r.Subject) }},
		{Header: "fw.name", Cell: func(r AttainmentRow) string { return r.Name }},
		{Header: "fw.signings", Cell: func(r AttainmentRow) string { return strconv.Itoa(r.Achieved.Signings) }},
		{Header: "fw.target_signings", Cell: func(r AttainmentRow) string {
			return target(r, func(t Target) string { return strconv.Itoa(t.Signings) })
		}},
		{Header: "fw.live_shops", Cell: func(r AttainmentRow) string { return strconv.Itoa(r.Achieved.LiveShops) }},
		{Header: "fw.target_live", Cell: func(r AttainmentRow) string {
			return target(r, func(t Target) string { return strconv.Itoa(t.LiveShops) })
		}},
		{Header: "fw.gmv_yuan", Cell: func(r AttainmentRow) string { return web.Yuan(r.Achieved.GMVFen) }},
		{Header: "fw.target_gmv", Cell: func(r AttainmentRow) string {
			return target(r, func(t Target) string { return web.Yuan(t.FirstMonthGMVFen) })
		}},
		{Header: "fw.signings_pct", Cell: func(r AttainmentRow) string { return pctText(r.SigningsPct) }},
	}
}

func csvOrErr[T any](pg fieldPages, c *gin.Context, v *web.View, name string, err error, cols []web.Column[T], rows []T) error {
	if err != nil {
		return err
	}
	return csvOf(pg, c, v, name+".csv", cols, rows)
}
