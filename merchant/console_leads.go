package merchant

import (
	"embed"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// Console pages of leads and pools (线索、公海): phone first for reps (my leads with
// days left, the pool with masked phones and a claim button, a lead with its timeline,
// a follow-up, a check-in from the browser's position, a new lead with live dedup
// hints), desktop for team leads and city managers (the board by stage, bulk assign,
// pool rules). Their own templates and catalogue under console/leads.

//go:embed console/leads
var leadConsoleFiles embed.FS

func (s *Service) leadPages() web.Pages {
	files := web.EmbeddedDir(leadConsoleFiles, "console/leads")
	read := []identity.Permission{identity.PermLeadRead}
	return web.Pages{
		Domain: "leads", Templates: files, Messages: files,
		Nav: []web.NavItem{
			{ID: "nav-leads", Label: "nav.leads", Href: "/leads", Perms: read},
			{ID: "nav-pool", Label: "nav.pool", Href: "/leads/pool", Perms: read},
			{ID: "nav-board", Label: "nav.board", Href: "/leads/board", Perms: []identity.Permission{identity.PermLeadAssign}},
			{ID: "nav-rules", Label: "nav.rules", Href: "/leads/rules", Perms: []identity.Permission{identity.PermLeadAssign}},
			{ID: "nav-imports", Label: "nav.imports", Href: "/leads/imports", Perms: []identity.Permission{identity.PermLeadWrite}},
		},
		Mount: func(r gin.IRouter, w *web.Console) {
			pg := leadPages{svc: s, w: w}
			pg.mountPools(r)
			r.GET("/leads", w.Handle(pg.list))
			r.GET("/leads/pool", w.Handle(pg.pool))
			r.GET("/leads/new", w.Handle(pg.newLead))
			r.POST("/leads/new", w.Handle(pg.postNewLead))
			r.GET("/leads/board", w.Handle(pg.board))
			r.POST("/leads/assign", w.Handle(pg.postAssign))
			r.GET("/leads/pools/:id", w.Handle(pg.poolRules))
			r.POST("/leads/pools/:id", w.Handle(pg.postPoolRules))
			r.GET("/leads/:id", w.Handle(pg.lead))
			r.POST("/leads/:id/claim", w.Handle(pg.postClaim))
			r.POST("/leads/:id/release", w.Handle(pg.postRelease))
			r.POST("/leads/:id/follow-up", w.Handle(pg.postFollowUp))
			r.POST("/leads/:id/check-in", w.Handle(pg.postCheckIn))
			r.POST("/leads/:id/stage", w.Handle(pg.postStage))
		},
	}
}

type leadPages struct {
	svc *Service
	w   *web.Console
}

// says is an error as the console shows it: a rule's refusal in the reader's language
// with its numbers ("refusal.<code>" in the catalogue; "error.<code>" is {{.Message}}).
func says(v *web.View, err error) error {
	var r *Refusal
	if errors.As(err, &r) {
		e := *r.Err
		var args []any
		for k, val := range r.Params {
			args = append(args, k, val)
		}
		e.Message = v.T("refusal."+e.Code, args...)
		return &e
	}
	return err
}

func daysLeft(v *web.View, l Lead) string {
	switch {
	case l.DaysLeft == nil:
		return "—"
	case *l.DaysLeft <= 0:
		return v.T("leads.due_today")
	}
	return v.T("leads.days_left_n", "N", *l.DaysLeft)
}

func stageLabel(v *web.View, s Stage) string { return v.T("leads.stage_" + string(s)) }

func leadColumns(v *web.View) []web.Column[Lead] {
	return []web.Column[Lead]{
		{Header: "leads.name", Cell: func(l Lead) string { return l.Name }, Link: func(l Lead) string { return "/leads/" + l.ID.String() }, Sort: "name"},
		{Header: "leads.stage", Cell: func(l Lead) string { return stageLabel(v, l.Stage) }},
		{Header: "leads.level", Cell: func(l Lead) string { return l.Level }},
		{Header: "leads.days_left", Cell: func(l Lead) string { return daysLeft(v, l) }},
		{Header: "leads.phone", Cell: func(l Lead) string { return l.Phone }},
		{Header: "leads.address", Cell: func(l Lead) string { return l.Address }},
		{Header: "leads.created_at", Cell: func(l Lead) string { return l.CreatedAt.In(clock.Shanghai).Format("2006-01-02") }, Sort: "created"},
	}
}

func stageOptions(v *web.View, cur Stage) []web.Option {
	var out []web.Option
	for _, s := range allStages {
		out = append(out, web.Option{Value: string(s), Label: stageLabel(v, s), Selected: s == cur})
	}
	return out
}

type listPage struct {
	List      web.List
	Views     []SavedView
	View      uuid.UUID // the saved view shown
	XLSX      string    // the Excel export's link
	Filter    LeadFilter
	HasFilter bool
}

// list is "my leads" for a rep, and the leads in scope for a manager: filters, sort,
// saved views, CSV and Excel exports within scope.
func (pg leadPages) list(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	f := LeadFilter{Query: c.Query("q"), Stage: Stage(c.Query("stage")), Level: c.Query("level"), HandedOver: c.Query("handed_over") == "true", HeldOnly: true}
	f.Sort = c.Query("sort")
	page := listPage{}
	if id, err := uuid.Parse(c.Query("view")); err == nil {
		view, err := pg.svc.GetView(ctx, v.Me, id)
		if err != nil {
			return err
		}
		f, page.View = view.Filters.Filter(), view.ID
		f.HeldOnly = true
	}
	if cur := c.Query("cursor"); cur != "" {
		f.After, _ = uuid.Parse(cur)
	}
	cols := leadColumns(v)
	switch c.Query("format") {
	case FormatCSV, FormatXLSX:
		probe := f
		probe.Limit = 1
		if _, _, err := pg.svc.ListLeads(ctx, v.Me, probe); err != nil {
			return err
		}
		if c.Query("format") == FormatXLSX {
			return pg.writeXLSXPage(c, v, cols, f)
		}
		return pg.w.CSV(c, "leads.csv", func() error {
			return web.WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func(Lead) error) error {
				return pg.svc.EachLead(ctx, v.Me, f, fn)
			})
		})
	}
	leads, next, err := pg.svc.ListLeads(ctx, v.Me, f)
	if err != nil {
		return err
	}
	if page.Views, err = pg.svc.SavedViews(ctx, v.Me); err != nil {
		return err
	}
	levels := []web.Option{}
	for _, l := range []string{"A", "B", "C", "D"} {
		levels = append(levels, web.Option{Value: l, Label: l, Selected: f.Level == l})
	}
	filters := []web.Filter{
		{Name: "q", Label: "leads.search", Type: "text", Value: f.Query},
		{Name: "stage", Label: "leads.stage", Type: "select", Value: string(f.Stage), Options: stageOptions(v, f.Stage)},
		{Name: "level", Label: "leads.level", Type: "select", Value: f.Level, Options: levels},
	}
	nextCur := ""
	if next != uuid.Nil {
		nextCur = next.String()
	}
	page.List = web.NewList("leads-list", cols, leads, filters, c.Request.URL, nextCur, true)
	xq := c.Request.URL.Query()
	xq.Del("cursor")
	xq.Set("format", FormatXLSX)
	page.XLSX = "/leads?" + xq.Encode()
	page.Filter = f
	page.HasFilter = f.Query != "" || f.Stage != "" || f.Level != "" || f.Sort != "" || f.HandedOver
	return pg.w.Show(c, v, "leads/list", "leads.title", page)
}

type poolPage struct {
	Leads []Lead
	Pools []Pool
	Q     string
}

func (pg leadPages) pool(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	pools, err := pg.svc.ListPools(ctx, v.Me)
	if err != nil {
		return err
	}
	leads, _, err := pg.svc.ListLeads(ctx, v.Me, LeadFilter{PoolOnly: true, Query: c.Query("q"), Limit: 100})
	if err != nil {
		return err
	}
	return pg.w.Show(c, v, "leads/pool", "leads.pool_title", poolPage{Leads: leads, Pools: pools, Q: c.Query("q")})
}

func leadID(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errs.NotFound("merchant.lead")
	}
	return id, nil
}

func (pg leadPages) postClaim(c *gin.Context, v *web.View) error {
	id, err := leadID(c)
	if err != nil {
		return err
	}
	if _, err := pg.svc.Claim(c.Request.Context(), v.Me, id); err != nil {
		return pg.w.Rerender(c, v, says(v, err), pg.pool)
	}
	return pg.w.Redirect(c, "/leads/"+id.String(), "leads.claimed")
}

type leadPage struct {
	Lead     Lead
	Timeline []timelineRow
	Mine     bool
	Stages   []web.Option
}

func (pg leadPages) lead(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	id, err := leadID(c)
	if err != nil {
		return err
	}
	l, err := pg.svc.GetLead(ctx, v.Me, id)
	if err != nil {
		return err
	}
	tl, err := pg.svc.Timeline(ctx, v.Me, id)
	if err != nil {
		return err
	}
	var moves []web.Option
	for _, to := range manualMoves[l.Stage] {
		moves = append(moves, web.Option{Value: string(to), Label: stageLabel(v, to)})
	}
	mine := l.OwnerID != nil && *l.OwnerID == v.Me.User.ID
	return pg.w.Show(c, v, "leads/lead", "leads.lead_title", leadPage{Lead: l, Timeline: pg.timelineRows(ctx, v, tl), Mine: mine, Stages: moves})
}

// afterLeadForm redirects to the lead with a flash, or shows it again with the error.
func (pg leadPages) afterLeadForm(c *gin.Context, v *web.View, id uuid.UUID, err error, flash string) error {
	if err != nil {
		return pg.w.Rerender(c, v, says(v, err), pg.lead)
	}
	return pg.w.Redirect(c, "/leads/"+id.String(), flash)
}

func (pg leadPages) postRelease(c *gin.Context, v *web.View) error {
	id, err := leadID(c)
	if err != nil {
		return err
	}
	_, err = pg.svc.Release(c.Request.Context(), v.Me, id, c.PostForm("reason"))
	if err == nil {
		return pg.w.Redirect(c, "/leads", "leads.released")
	}
	return pg.afterLeadForm(c, v, id, err, "")
}

func (pg leadPages) postFollowUp(c *gin.Context, v *web.View) error {
	id, err := leadID(c)
	if err != nil {
		return err
	}
	_, err = pg.svc.LogFollowUp(c.Request.Context(), v.Me, id, FollowUp{Channel: c.PostForm("channel"), Note: c.PostForm("note"), NextStep: c.PostForm("next_step")})
	return pg.afterLeadForm(c, v, id, err, "leads.followed_up")
}

func (pg leadPages) postCheckIn(c *gin.Context, v *web.View) error {
	id, err := leadID(c)
	if err != nil {
		return err
	}
	lat, errLat := strconv.ParseFloat(c.PostForm("lat"), 64)
	lng, errLng := strconv.ParseFloat(c.PostForm("lng"), 64)
	switch {
	case errLat != nil:
		err = errs.Invalidf("lat", "lat is required: allow the browser to tell where you stand")
	case errLng != nil:
		err = errs.Invalidf("lng", "lng is required: allow the browser to tell where you stand")
	default:
		_, err = pg.svc.CheckIn(c.Request.Context(), v.Me, id, CheckIn{Lat: lat, Lng: lng, Note: c.PostForm("note")})
	}
	return pg.afterLeadForm(c, v, id, err, "leads.checked_in")
}

func (pg leadPages) postStage(c *gin.Context, v *web.View) error {
	id, err := leadID(c)
	if err != nil {
		return err
	}
	_, err = pg.svc.MoveStage(c.Request.Context(), v.Me, id, Stage(c.PostForm("stage")), c.PostForm("reason"))
	return pg.afterLeadForm(c, v, id, err, "leads.stage_moved")
}

type newLeadPage struct {
	Hints  []Duplicate
	Manage bool
}

// newLead shows the form; with typed values (hx-get from the form) it shows the hints.
func (pg leadPages) newLead(c *gin.Context, v *web.View) error {
	if _, err := v.Me.Require(identity.PermLeadWrite); err != nil {
		return err
	}
	page := newLeadPage{Manage: v.Me.Can(identity.PermLeadAssign)}
	q := c.Request.URL.Query()
	if v.Form == nil && (q.Get("phone") != "" || q.Get("name") != "" || q.Get("licence_no") != "") {
		v.Form = url.Values(q)
	}
	if v.Form != nil {
		lat, _ := strconv.ParseFloat(v.Form.Get("lat"), 64)
		lng, _ := strconv.ParseFloat(v.Form.Get("lng"), 64)
		hints, err := pg.svc.CheckDuplicates(c.Request.Context(), v.Me, NewLead{Name: v.Form.Get("name"), Phone: v.Form.Get("phone"),
			LicenceNo: v.Form.Get("licence_no"), Lat: lat, Lng: lng})
		if err == nil {
			page.Hints = hints
		}
	}
	return pg.w.Show(c, v, "leads/new", "leads.new_title", page)
}

func (pg leadPages) postNewLead(c *gin.Context, v *web.View) error {
	lat, _ := strconv.ParseFloat(c.PostForm("lat"), 64)
	lng, _ := strconv.ParseFloat(c.PostForm("lng"), 64)
	l, err := pg.svc.CreateLead(c.Request.Context(), v.Me, NewLead{Name: c.PostForm("name"), Category: c.PostForm("category"),
		Address: c.PostForm("address"), Lat: lat, Lng: lng, Phone: c.PostForm("phone"), City: c.PostForm("city"),
		LicenceNo: c.PostForm("licence_no"), OverrideReason: c.PostForm("override_reason")})
	if err != nil {
		return pg.w.Rerender(c, v, says(v, err), pg.newLead)
	}
	return pg.w.Redirect(c, "/leads/"+l.ID.String(), "leads.created")
}

type boardColumn struct {
	Stage Stage
	Label string
	Cards []boardCard
}

type boardCard struct {
	Lead
	Owner string // the holder's name ("" in the pool)
}

type boardPage struct {
	Columns    []boardColumn
	Reps       []StaffMember
	Pools      []Pool
	HandedOver []Lead // back in the pools from reps who left, until taken
}

// board is the team's leads by stage, for whoever assigns (desktop).
func (pg leadPages) board(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	if _, err := v.Me.Require(identity.PermLeadAssign); err != nil {
		return err
	}
	var page boardPage
	names := map[uuid.UUID]string{}
	if pg.svc.staff != nil {
		reps, err := pg.svc.staff.Reps(ctx, v.Me)
		if err != nil {
			return err
		}
		page.Reps = reps
		for _, r := range reps {
			names[r.ID] = r.Name
		}
	}
	for _, st := range []Stage{StageLead, StageContacted, StageVisited, StageNegotiating, StageSigned} {
		leads, _, err := pg.svc.ListLeads(ctx, v.Me, LeadFilter{Stage: st, Limit: 100})
		if err != nil {
			return err
		}
		col := boardColumn{Stage: st, Label: stageLabel(v, st)}
		for _, l := range leads {
			card := boardCard{Lead: l}
			if l.OwnerID != nil {
				if card.Owner = names[*l.OwnerID]; card.Owner == "" {
					card.Owner = v.T("leads.held")
				}
			}
			col.Cards = append(col.Cards, card)
		}
		page.Columns = append(page.Columns, col)
	}
	pools, err := pg.svc.ListPools(ctx, v.Me)
	if err != nil {
		return err
	}
	for _, p := range pools {
		if p.Admin {
			page.Pools = append(page.Pools, p)
		}
	}
	if page.HandedOver, _, err = pg.svc.ListLeads(ctx, v.Me, LeadFilter{HandedOver: true, Limit: 100}); err != nil {
		return err
	}
	return pg.w.Show(c, v, "leads/board", "leads.board_title", page)
}

func (pg leadPages) postAssign(c *gin.Context, v *web.View) error {
	if err := c.Request.ParseForm(); err != nil {
		return errs.Invalidf("lead_ids", "bad form")
	}
	var ids []uuid.UUID
	for _, s := range c.Request.PostForm["lead_ids"] {
		if id, err := uuid.Parse(s); err == nil {
			ids = append(ids, id)
		}
	}
	to, _ := uuid.Parse(c.PostForm("to"))
	out, err := pg.svc.Assign(c.Request.Context(), v.Me, ids, to, c.PostForm("reason"))
	if err != nil {
		return pg.w.Rerender(c, v, says(v, err), pg.board)
	}
	for _, o := range out {
		if o.Code != "" {
			return pg.w.Rerender(c, v, says(v, &Refusal{Err: errs.E(errs.KindConflict, o.Code, o.Message), Params: o.Params}), pg.board)
		}
	}
	return pg.w.Redirect(c, "/leads/board", "leads.assigned")
}

// poolLevels are the levels the console's pool rules form offers.
var poolLevels = []string{"A", "B", "C"}

type poolRulesPage struct {
	Pool   Pool
	Levels []LevelRow
}

// LevelRow is one level's line of the pool rules form.
type LevelRow struct {
	LevelRules
	On bool
}

func (pg leadPages) poolRules(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("merchant.pool")
	}
	pool, err := pg.svc.GetPool(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	page := poolRulesPage{Pool: pool}
	for _, lv := range poolLevels {
		row := LevelRow{LevelRules: LevelRules{Level: lv}}
		for _, l := range pool.Levels {
			if l.Level == lv {
				row = LevelRow{LevelRules: l, On: true}
			}
		}
		page.Levels = append(page.Levels, row)
	}
	return pg.w.Show(c, v, "leads/pool_rules", "leads.rules_title", page)
}

func (pg leadPages) postPoolRules(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("merchant.pool")
	}
	n := func(f string) int { i, _ := strconv.Atoi(strings.TrimSpace(c.PostForm(f))); return i }
	var levels []LevelRules
	for _, lv := range poolLevels {
		l := LevelRules{Level: lv, ReclaimFollowUpDays: n("level_" + lv + "_follow_up"), ReclaimUnsignedDays: n("level_" + lv + "_unsigned"),
			ReclaimContractEndedDays: n("level_" + lv + "_contract_ended")}
		if c.PostForm("level_"+lv+"_on") == "on" {
			levels = append(levels, l)
		}
	}
	_, err = pg.svc.SetPoolRules(c.Request.Context(), v.Me, id, c.PostForm("name"), PoolRules{HoldingCap: n("holding_cap"),
		DailyQuota: n("daily_quota"), CooldownDays: n("cooldown_days"), ProtectHours: n("protect_hours"),
		ReclaimFollowUpDays: n("reclaim_follow_up_days"), ReclaimUnsignedDays: n("reclaim_unsigned_days"), RemindDays: n("remind_days"),
		ReclaimContractEndedDays: n("reclaim_contract_ended_days"), Levels: levels})
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.poolRules)
	}
	return pg.w.Redirect(c, "/leads/pools/"+id.String(), "leads.rules_saved")
}
