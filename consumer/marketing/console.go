package marketing

import (
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// Console pages (增长): the segment builder with its live count, campaigns (create,
// watch the send, read the results), the growth reports and the referral programme,
// for growth operators.

//go:embed console
var consoleFiles embed.FS

func (s *Service) pages() web.Pages {
	files := web.EmbeddedDir(consoleFiles, "console")
	read := []identity.Permission{identity.PermMemberRead}
	return web.Pages{
		Domain: "marketing", Templates: files, Messages: files,
		// Every page is over every member: consumer.member.read at scope all (scope.go).
		Nav: []web.NavItem{
			{ID: "nav-segments", Label: "nav.segments", Href: "/growth/segments", Perms: read, Scope: identity.LevelAll},
			{ID: "nav-campaigns", Label: "nav.campaigns", Href: "/growth/campaigns", Perms: read, Scope: identity.LevelAll},
			{ID: "nav-growth", Label: "nav.growth", Href: "/growth/reports", Perms: read, Scope: identity.LevelAll},
			{ID: "nav-referrals", Label: "nav.referrals", Href: "/growth/referrals", Perms: read, Scope: identity.LevelAll},
		},
		Mount: func(r gin.IRouter, w *web.Console) {
			pg := consolePages{svc: s, w: w}
			r.GET("/growth/segments", w.Handle(pg.segments))
			r.POST("/growth/segments/count", w.Handle(pg.count))
			r.POST("/growth/segments", w.Handle(pg.saveSegment))
			r.GET("/growth/segments/:id/export", w.Handle(pg.exportSegment))
			r.GET("/growth/campaigns", w.Handle(pg.campaigns))
			r.POST("/growth/campaigns", w.Handle(pg.createCampaign))
			r.GET("/growth/campaigns/:id", w.Handle(pg.campaign))
			r.POST("/growth/campaigns/:id/:action", w.Handle(pg.campaignAction))
			r.GET("/growth/reports", w.Handle(pg.reports))
			r.GET("/growth/referrals", w.Handle(pg.referrals))
			r.POST("/growth/referrals", w.Handle(pg.saveReferralSettings))
		},
	}
}

type consolePages struct {
	svc *Service
	w   *web.Console
}

// ruleFromForm builds the builder's rule: each field filled is a condition, all of
// them ANDed; rule_json adds any rule the fields cannot say.
func ruleFromForm(c *gin.Context) (Rule, error) {
	var and []Rule
	num := func(name string) (int64, bool, error) {
		v := strings.TrimSpace(c.PostForm(name))
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, false, errs.E(errs.KindInvalid, CodeRuleInvalid, name+": not a whole number").WithField(name)
		}
		return n, true, nil
	}
	if cities := nonEmpty(c.PostFormArray("city")); len(cities) > 0 {
		and = append(and, Rule{Field: "city", Values: cities})
	}
	if t := c.PostForm("tier_at_least"); t != "" {
		and = append(and, Rule{Field: "tier_at_least", Values: []string{t}})
	}
	if t := c.PostForm("tag"); t != "" {
		and = append(and, Rule{Field: "tag", Values: []string{t}})
	}
	if t := c.PostForm("not_tag"); t != "" {
		and = append(and, Rule{Not: &Rule{Field: "tag", Values: []string{t}}})
	}
	for _, f := range []struct{ form, field, op string }{
		{"ordered_days", "ordered_within_days", ""}, {"lapsed_days", "lapsed_days", ""},
		{"points_min", "points_balance", "gte"}, {"rfm_r_min", "rfm_r", "gte"}, {"rfm_f_min", "rfm_f", "gte"},
	} {
		n, ok, err := num(f.form)
		if err != nil {
			return Rule{}, err
		}
		if ok {
			and = append(and, Rule{Field: f.field, Op: f.op, Value: n})
		}
	}
	if n, ok, err := num("not_ordered_days"); err != nil {
		return Rule{}, err
	} else if ok {
		and = append(and, Rule{Not: &Rule{Field: "ordered_within_days", Value: n}})
	}
	if cat := c.PostForm("category"); cat != "" {
		n, ok, err := num("category_days")
		if err != nil {
			return Rule{}, err
		}
		if !ok {
			n = 30
		}
		and = append(and, Rule{Field: "category_within_days", Category: cat, Value: n})
	}
	if b := c.PostForm("coupon_unused"); b != "" {
		and = append(and, Rule{Field: "coupon_unused", Batch: b})
	}
	if m := c.PostForm("near_merchant"); m != "" {
		n, ok, err := num("near_radius")
		if err != nil {
			return Rule{}, err
		}
		if !ok {
			n = 1000
		}
		and = append(and, Rule{Field: "near_merchant", Merchant: m, Value: n})
	}
	if m := c.PostForm("audience_merchant"); m != "" {
		and = append(and, Rule{Field: "matching_audience", Merchant: m})
	}
	if raw := strings.TrimSpace(c.PostForm("rule_json")); raw != "" {
		var r Rule
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return Rule{}, errs.E(errs.KindInvalid, CodeRuleInvalid, "rule_json: "+err.Error()).WithField("rule_json")
		}
		and = append(and, r)
	}
	switch len(and) {
	case 0:
		return Rule{Field: "joined_after", Date: "1970-01-01"}, nil // everyone
	case 1:
		return and[0], nil
	}
	return Rule{And: and}, nil
}

type segmentsPage struct {
	Vocabulary Vocabulary
	Segments   []Segment
	Count      *Count
	CountError string
	RuleJSON   string
	Days       []int
}

func (pg consolePages) segmentsData(c *gin.Context, v *web.View) (*segmentsPage, error) {
	ctx := c.Request.Context()
	voc, err := pg.svc.Vocabulary(ctx, v.Me)
	if err != nil {
		return nil, err
	}
	list, err := pg.svc.ListSegments(ctx, v.Me)
	if err != nil {
		return nil, err
	}
	return &segmentsPage{Vocabulary: voc, Segments: list}, nil
}

func (pg consolePages) segments(c *gin.Context, v *web.View) error {
	page, err := pg.segmentsData(c, v)
	if err != nil {
		return err
	}
	return pg.w.Show(c, v, "marketing/segments", "growth.segments_title", page)
}

// message is an error in the user's language ("error.<code>" with the message's
// detail as .Message).
func message(v *web.View, err error) string {
	e := errs.As(err)
	if e == nil {
		return v.T("error.internal")
	}
	return v.T("error."+e.Code, "Message", e.Message)
}

// count answers the builder's live count; htmx swaps #live-count out of the page.
// A bad rule is shown in the count's place (200, so that htmx swaps it in).
func (pg consolePages) count(c *gin.Context, v *web.View) error {
	page, err := pg.segmentsData(c, v)
	if err != nil {
		return err
	}
	_ = c.Request.ParseForm()
	v.Form = c.Request.PostForm
	rule, err := ruleFromForm(c)
	if err == nil {
		var n Count
		if n, err = pg.svc.CountRule(c.Request.Context(), v.Me, rule); err == nil {
			page.Count = &n
			raw, _ := json.Marshal(rule)
			page.RuleJSON = string(raw)
		}
	}
	if err != nil {
		if errs.KindOf(err) != errs.KindInvalid {
			return err
		}
		page.CountError = message(v, err)
	}
	return pg.w.Show(c, v, "marketing/segments", "growth.segments_title", page)
}

func (pg consolePages) saveSegment(c *gin.Context, v *web.View) error {
	rule, err := ruleFromForm(c)
	if err == nil {
		_, err = pg.svc.SaveSegment(c.Request.Context(), v.Me, uuid.Nil, c.PostForm("name"), rule)
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.segments)
	}
	return pg.w.Redirect(c, "/growth/segments", "growth.segment_saved")
}

func (pg consolePages) exportSegment(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("marketing.segment")
	}
	ctx := c.Request.Context()
	if err := v.Me.RequireAll(identity.PermMemberRead, objSegment); err != nil {
		return err
	}
	if _, err := pg.svc.segment(ctx, id); err != nil {
		return err
	}
	return pg.w.CSV(c, "segment-"+id.String()+".csv", func() error {
		cols := []web.Column[uuid.UUID]{{Header: "growth.consumer_id", Cell: func(id uuid.UUID) string { return id.String() }}}
		return web.WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func(uuid.UUID) error) error {
			return pg.svc.ExportSegment(ctx, v.Me, id, fn)
		})
	})
}

type campaignsPage struct {
	Campaigns []Campaign
	Segments  []Segment
	WinBack   string // the win-back template's rule, for the builder
	Triggers  []string
}

func (pg consolePages) campaigns(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	list, err := pg.svc.ListCampaigns(ctx, v.Me)
	if err != nil {
		return err
	}
	segs, err := pg.svc.ListSegments(ctx, v.Me)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(WinBackRule())
	return pg.w.Show(c, v, "marketing/campaigns", "growth.campaigns_title", campaignsPage{Campaigns: list, Segments: segs, WinBack: string(raw),
		Triggers: []string{TriggerBirthday, TriggerFirstOrder, TriggerLapsed, TriggerTierChanged}})
}

// yuanToFen reads an amount in yuan ("12.50") as fen.
func yuanToFen(field, s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 {
		return 0, errs.Invalidf(field, "at most two decimals")
	}
	frac += strings.Repeat("0", 2-len(frac))
	y, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || y < 0 {
		return 0, errs.Invalidf(field, "an amount in yuan, like 12.50")
	}
	return y*100 + f, nil
}

func (pg consolePages) createCampaign(c *gin.Context, v *web.View) error {
	in, err := campaignFromForm(c)
	if err == nil {
		var cp Campaign
		if cp, err = pg.svc.CreateCampaign(c.Request.Context(), v.Me, in); err == nil {
			return pg.w.Redirect(c, "/growth/campaigns/"+cp.ID.String(), "growth.campaign_created")
		}
	}
	return pg.w.Rerender(c, v, err, pg.campaigns)
}

func campaignFromForm(c *gin.Context) (CampaignInput, error) {
	atoi := func(name string) (int, error) {
		s := strings.TrimSpace(c.PostForm(name))
		if s == "" {
			return 0, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			return 0, errs.Invalidf(name, "a whole number")
		}
		return n, nil
	}
	in := CampaignInput{Name: c.PostForm("name"), Offer: c.PostForm("offer"), CouponBatch: strings.TrimSpace(c.PostForm("coupon_batch")),
		Message: c.PostForm("message"), MessageTemplate: strings.TrimSpace(c.PostForm("message_template")), Schedule: c.PostForm("schedule"),
		Trigger: c.PostForm("trigger")}
	var err error
	if in.SegmentID, err = uuid.Parse(c.PostForm("segment_id")); err != nil {
		return in, errs.E(errs.KindInvalid, CodeSegmentNotFound, "choose a segment").WithField("segment_id")
	}
	if in.UnitCostFen, err = yuanToFen("unit_cost", c.PostForm("unit_cost")); err != nil {
		return in, err
	}
	if in.BudgetFen, err = yuanToFen("budget", c.PostForm("budget")); err != nil {
		return in, err
	}
	points, err := atoi("points")
	if err != nil {
		return in, err
	}
	in.Points = int64(points)
	for _, f := range []struct {
		name string
		to   *int
	}{{"holdout_pct", &in.HoldoutPct}, {"every_days", &in.EveryDays}, {"trigger_days", &in.TriggerDays}, {"freq_cap", &in.FreqCap}, {"freq_days", &in.FreqDays}, {"attribution_days", &in.AttributionDays}} {
		if *f.to, err = atoi(f.name); err != nil {
			return in, err
		}
	}
	return in, nil
}

type campaignPage struct {
	Campaign Campaign
	Actions  []string // what the campaign's state allows
	Headers  []string
	Rows     [][]string
	Sending  bool
	Chart    string
	// The latest run day by day: a table and the uplift with its interval.
	DayHeaders []string
	DayRows    [][]string
	DayChart   string
}

// campaignActions are the actions a state allows.
var campaignActions = map[string][]string{
	StateScheduled: {"start", "pause", "copy", "stop"},
	StateRunning:   {"pause", "copy", "stop"},
	StatePaused:    {"resume", "copy", "stop"},
	StateStopped:   {"copy"},
	StateDone:      {"copy"},
}

func (pg consolePages) campaign(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("marketing.campaign")
	}
	cp, runs, err := pg.svc.CampaignResults(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	if c.Query("format") == "csv" {
		return pg.w.CSV(c, "campaign-"+id.String()+".csv", func() error {
			return web.WriteCSV(c.Writer, runColumns(), func(k string) string { return v.T(k) }, func(fn func(RunResult) error) error {
				for _, r := range runs {
					if err := fn(r); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
	cols := runColumns()
	page := campaignPage{Campaign: cp, Actions: campaignActions[cp.State]}
	for _, col := range cols {
		page.Headers = append(page.Headers, col.Header)
	}
	for _, r := range runs {
		row := make([]string, len(cols))
		for i, col := range cols {
			row[i] = col.Cell(r)
		}
		page.Rows = append(page.Rows, row)
	}
	var labels []string
	var treat, ctrl []string
	for i := len(runs) - 1; i >= 0; i-- {
		r := runs[i]
		page.Sending = page.Sending || r.State == "sending"
		labels = append(labels, v.Time(r.StartedAt))
		treat = append(treat, web.Yuan(int64(r.Treatment.GMVPerMemberFen)))
		ctrl = append(ctrl, web.Yuan(int64(r.Holdout.GMVPerMemberFen)))
	}
	page.Sending = page.Sending || cp.State == StateScheduled
	if len(runs) > 0 {
		v.Charts = true
		chart, _ := json.Marshal(map[string]any{"option": map[string]any{
			"tooltip": map[string]any{"trigger": "axis"}, "legend": map[string]any{},
			"xAxis": map[string]any{"type": "category", "data": labels}, "yAxis": map[string]any{"type": "value"},
			"series": []map[string]any{{"type": "bar", "name": v.T("growth.treatment"), "data": treat},
				{"type": "bar", "name": v.T("growth.control"), "data": ctrl}},
		}})
		page.Chart = string(chart)
	}
	if len(runs) > 0 && len(runs[0].Days) > 0 {
		page.dayResults(v, runs[0].Days)
	}
	return pg.w.Show(c, v, "marketing/campaign", "growth.campaign_title", page)
}

// dayResults fills the by-day table and chart of the latest run.
func (page *campaignPage) dayResults(v *web.View, days []DayResult) {
	cols := dayColumns()
	var labels, uplift, low, high []string
	for _, col := range cols {
		page.DayHeaders = append(page.DayHeaders, col.Header)
	}
	yuan := func(fen float64) string { return strconv.FormatFloat(fen/100, 'f', 2, 64) }
	for _, d := range days {
		row := make([]string, len(cols))
		for i, col := range cols {
			row[i] = col.Cell(d)
		}
		page.DayRows = append(page.DayRows, row)
		labels = append(labels, d.Day[5:])
		uplift, low, high = append(uplift, yuan(d.UpliftFen)), append(low, yuan(d.UpliftLowFen)), append(high, yuan(d.UpliftHighFen))
	}
	chart, _ := json.Marshal(map[string]any{"option": map[string]any{
		"tooltip": map[string]any{"trigger": "axis"}, "legend": map[string]any{},
		"xAxis": map[string]any{"type": "category", "data": labels}, "yAxis": map[string]any{"type": "value"},
		"series": []map[string]any{{"type": "line", "name": v.T("growth.uplift"), "data": uplift},
			{"type": "line", "name": v.T("growth.ci_low"), "data": low, "lineStyle": map[string]any{"type": "dashed"}},
			{"type": "line", "name": v.T("growth.ci_high"), "data": high, "lineStyle": map[string]any{"type": "dashed"}}},
	}})
	page.DayChart = string(chart)
}

func dayColumns() []web.Column[DayResult] {
	f := func(x float64) string { return strconv.FormatFloat(x/100, 'f', 2, 64) }
	return []web.Column[DayResult]{
		{Header: "growth.day", Cell: func(d DayResult) string { return d.Day }},
		{Header: "growth.reach", Cell: func(d DayResult) string { return strconv.FormatInt(d.Reach, 10) }},
		{Header: "growth.redeemed", Cell: func(d DayResult) string { return strconv.FormatInt(d.Redeemed, 10) }},
		{Header: "growth.gmv_treatment", Cell: func(d DayResult) string { return f(d.TreatmentGMV) }},
		{Header: "growth.gmv_control", Cell: func(d DayResult) string { return f(d.ControlGMV) }},
		{Header: "growth.uplift", Cell: func(d DayResult) string { return f(d.UpliftFen) }},
		{Header: "growth.ci", Cell: func(d DayResult) string { return f(d.UpliftLowFen) + " … " + f(d.UpliftHighFen) }},
		{Header: "growth.cost", Cell: func(d DayResult) string { return web.Yuan(d.CostFen) }},
		{Header: "growth.roi", Cell: func(d DayResult) string { return strconv.FormatFloat(d.ROI, 'f', 2, 64) }},
	}
}

func runColumns() []web.Column[RunResult] {
	f := func(x float64) string { return strconv.FormatFloat(x/100, 'f', 2, 64) }
	return []web.Column[RunResult]{
		{Header: "growth.started_at", Cell: func(r RunResult) string { return r.StartedAt.Format("2006-01-02 15:04") }},
		{Header: "growth.state", Cell: func(r RunResult) string { return r.State }},
		{Header: "growth.progress", Cell: func(r RunResult) string { return strconv.FormatFloat(r.Progress*100, 'f', 0, 64) + "%" }},
		{Header: "growth.audience", Cell: func(r RunResult) string { return strconv.FormatInt(r.Audience, 10) }},
		{Header: "growth.treated", Cell: func(r RunResult) string { return strconv.FormatInt(r.Treated, 10) }},
		{Header: "growth.control", Cell: func(r RunResult) string { return strconv.FormatInt(r.Control, 10) }},
		{Header: "growth.redeemed", Cell: func(r RunResult) string { return strconv.FormatInt(r.Treatment.Redeemed, 10) }},
		{Header: "growth.gmv_treatment", Cell: func(r RunResult) string { return f(r.Treatment.GMVPerMemberFen) }},
		{Header: "growth.gmv_control", Cell: func(r RunResult) string { return f(r.Holdout.GMVPerMemberFen) }},
		{Header: "growth.uplift", Cell: func(r RunResult) string { return f(r.UpliftFen) }},
		{Header: "growth.ci", Cell: func(r RunResult) string { return f(r.UpliftLowFen) + " … " + f(r.UpliftHighFen) }},
		{Header: "growth.cost", Cell: func(r RunResult) string { return web.Yuan(r.CostFen) }},
		{Header: "growth.roi", Cell: func(r RunResult) string { return strconv.FormatFloat(r.ROI, 'f', 2, 64) }},
	}
}

func (pg consolePages) campaignAction(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("marketing.campaign")
	}
	ctx := c.Request.Context()
	back := "/growth/campaigns/" + id.String()
	switch c.Param("action") {
	case "pause":
		err = pg.svc.PauseCampaign(ctx, v.Me, id)
	case "resume":
		err = pg.svc.ResumeCampaign(ctx, v.Me, id)
	case "stop":
		err = pg.svc.StopCampaign(ctx, v.Me, id)
	case "start":
		err = pg.svc.StartCampaignNow(ctx, v.Me, id)
	case "copy":
		var cp Campaign
		if cp, err = pg.svc.CopyCampaign(ctx, v.Me, id); err == nil {
			back = "/growth/campaigns/" + cp.ID.String()
		}
	default:
		return errs.NotFound("marketing.action")
	}
	if err != nil {
		return err
	}
	return pg.w.Redirect(c, back, "growth.campaign_"+c.Param("action"))
}

type reportsPage struct {
	Report  GrowthReport
	RFMRows []rfmRow
	Funnel  string
	RFM     string
	Cohort  string
}

func (pg consolePages) reports(c *gin.Context, v *web.View) error {
	rep, err := pg.svc.Growth(c.Request.Context(), v.Me)
	if err != nil {
		return err
	}
	if c.Query("format") == "csv" {
		return pg.w.CSV(c, "growth-report.csv", func() error {
			rows := reportRows(v, rep)
			cols := []web.Column[[3]string]{
				{Header: "growth.report", Cell: func(r [3]string) string { return r[0] }},
				{Header: "growth.item", Cell: func(r [3]string) string { return r[1] }},
				{Header: "growth.members", Cell: func(r [3]string) string { return r[2] }},
			}
			return web.WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func([3]string) error) error {
				for _, r := range rows {
					if err := fn(r); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
	v.Charts = true
	page := reportsPage{Report: rep}
	// The vendored ECharts is the "simple" build (bar, line, pie): the funnel is drawn
	// as horizontal bars and the RFM grid as bars of R stacked by F, with the grid's
	// numbers in a table beside it.
	var steps []string
	var counts []uint64
	for i := len(rep.Funnel) - 1; i >= 0; i-- {
		steps = append(steps, v.T("growth.funnel_"+rep.Funnel[i].Step))
		counts = append(counts, rep.Funnel[i].Members)
	}
	page.Funnel = chartJSON(map[string]any{"tooltip": map[string]any{"trigger": "axis"}, "grid": map[string]any{"left": 110, "right": 16},
		"xAxis": map[string]any{"type": "value"}, "yAxis": map[string]any{"type": "category", "data": steps},
		"series": []map[string]any{{"type": "bar", "data": counts, "label": map[string]any{"show": true, "position": "right"}}}})
	var rfmSeries []map[string]any
	for f := range 5 {
		var col []uint64
		for r := range 5 {
			col = append(col, rep.RFM[r][f])
		}
		rfmSeries = append(rfmSeries, map[string]any{"type": "bar", "stack": "f", "name": fmt.Sprintf("F%d", f+1), "data": col})
	}
	for r := range 5 {
		page.RFMRows = append(page.RFMRows, rfmRow{Label: fmt.Sprintf("R%d", r+1), Cells: rep.RFM[r]})
	}
	page.RFM = chartJSON(map[string]any{"tooltip": map[string]any{"trigger": "axis"}, "legend": map[string]any{},
		"xAxis": map[string]any{"type": "category", "data": []string{"R1", "R2", "R3", "R4", "R5"}},
		"yAxis": map[string]any{"type": "value"}, "series": rfmSeries})
	var months []string
	var joined, share []any
	for _, co := range rep.Cohorts {
		months = append(months, co.Month)
		joined = append(joined, co.Joined)
		pct := 0.0
		if co.Joined > 0 {
			pct = float64(co.Active) * 100 / float64(co.Joined)
		}
		share = append(share, strconv.FormatFloat(pct, 'f', 1, 64))
	}
	page.Cohort = chartJSON(map[string]any{"tooltip": map[string]any{"trigger": "axis"}, "legend": map[string]any{},
		"xAxis": map[string]any{"type": "category", "data": months},
		"yAxis": []map[string]any{{"type": "value"}, {"type": "value", "max": 100}},
		"series": []map[string]any{{"type": "bar", "name": v.T("growth.cohort_joined"), "data": joined},
			{"type": "line", "name": v.T("growth.cohort_active"), "yAxisIndex": 1, "data": share}}})
	return pg.w.Show(c, v, "marketing/reports", "growth.reports_title", page)
}

func chartJSON(option any) string {
	b, _ := json.Marshal(map[string]any{"option": option})
	return string(b)
}

func reportRows(v *web.View, rep GrowthReport) [][3]string {
	var rows [][3]string
	for _, st := range rep.Funnel {
		rows = append(rows, [3]string{v.T("growth.funnel"), v.T("growth.funnel_" + st.Step), strconv.FormatUint(st.Members, 10)})
	}
	for r := range 5 {
		for f := range 5 {
			rows = append(rows, [3]string{v.T("growth.rfm_grid"), fmt.Sprintf("R%d F%d", r+1, f+1), strconv.FormatUint(rep.RFM[r][f], 10)})
		}
	}
	for _, co := range rep.Cohorts {
		rows = append(rows, [3]string{v.T("growth.cohorts"), co.Month + " " + v.T("growth.cohort_joined"), strconv.FormatUint(co.Joined, 10)},
			[3]string{v.T("growth.cohorts"), co.Month + " " + v.T("growth.cohort_active"), strconv.FormatUint(co.Active, 10)})
	}
	rows = append(rows, [3]string{v.T("growth.churn_risk"), "F≥3 R≤2", strconv.FormatUint(rep.ChurnRisk, 10)})
	return rows
}

// rfmRow is one recency score's row of the RFM grid.
type rfmRow struct {
	Label string
	Cells [5]uint64
}
