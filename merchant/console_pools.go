package merchant

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// Console pages of pools, second part: the city manager's assignment rules, imports
// with their progress and reports, and a user's saved views (on the lead list).

func (pg leadPages) mountPools(r gin.IRouter) {
	r.GET("/leads/rules", pg.w.Handle(pg.rules))
	r.POST("/leads/rules", pg.w.Handle(pg.postRule))
	r.GET("/leads/rules/:id", pg.w.Handle(pg.rule))
	r.POST("/leads/rules/:id", pg.w.Handle(pg.postRule))
	r.POST("/leads/rules/:id/delete", pg.w.Handle(pg.deleteRule))
	r.GET("/leads/imports", pg.w.Handle(pg.imports))
	r.POST("/leads/imports", pg.w.Handle(pg.postImport))
	r.GET("/leads/imports/:id", pg.w.Handle(pg.importReport))
	r.POST("/leads/views", pg.w.Handle(pg.postView))
	r.POST("/leads/views/:id/delete", pg.w.Handle(pg.deleteView))
}

type rulesPage struct {
	Rules []ruleRow
	Edit  *AssignmentRule // the rule being edited; nil: a new one
	Teams []web.Option
	Area  string
}

type ruleRow struct {
	AssignmentRule
	Team      string
	Territory string
}

// rules lists the rules in the order they are tried, with the form of a new one.
func (pg leadPages) rules(c *gin.Context, v *web.View) error {
	return pg.rulesWith(c, v, nil)
}

func (pg leadPages) rule(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("merchant.assignment_rule")
	}
	r, err := pg.svc.GetAssignmentRule(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	return pg.rulesWith(c, v, &r)
}

func (pg leadPages) rulesWith(c *gin.Context, v *web.View, edit *AssignmentRule) error {
	ctx := c.Request.Context()
	rs, err := pg.svc.ListAssignmentRules(ctx, v.Me)
	if err != nil {
		return err
	}
	names := map[uuid.UUID]string{}
	page := rulesPage{Edit: edit}
	if pg.svc.staff != nil {
		units, err := pg.svc.staff.Units(ctx, v.Me)
		if err != nil {
			return err
		}
		sc := v.Me.Scope(identity.PermLeadAssign)
		for _, u := range units {
			names[u.ID] = u.Name
			if u.Kind == identity.OrgTeam && sc.Allows(identity.Row{OrgUnit: u.ID}) {
				page.Teams = append(page.Teams, web.Option{Value: u.ID.String(), Label: u.Name, Selected: edit != nil && edit.TeamUnitID == u.ID})
			}
		}
	}
	for _, r := range rs {
		row := ruleRow{AssignmentRule: r, Team: names[r.TeamUnitID], Territory: strings.Join(r.Districts, "、")}
		if len(r.Area) > 0 {
			if row.Territory != "" {
				row.Territory += " + "
			}
			row.Territory += v.T("leads.rule_polygon")
		}
		page.Rules = append(page.Rules, row)
	}
	if edit != nil {
		page.Area = string(edit.Area)
	}
	return pg.w.Show(c, v, "leads/rules", "leads.rules_page_title", page)
}

// ruleForm reads the rule form.
func ruleForm(c *gin.Context) RuleInput {
	n := func(f string) int { i, _ := strconv.Atoi(strings.TrimSpace(c.PostForm(f))); return i }
	team, _ := uuid.Parse(c.PostForm("team_unit_id"))
	districts := strings.FieldsFunc(c.PostForm("districts"), func(r rune) bool { return r == ',' || r == '，' || r == '、' || r == '\n' })
	return RuleInput{Position: n("position"), Name: c.PostForm("name"), Districts: districts, Area: json.RawMessage(strings.TrimSpace(c.PostForm("area"))),
		TeamUnitID: team, Method: c.PostForm("method"), Capacity: n("capacity"), Enabled: c.PostForm("enabled") == "on"}
}

func (pg leadPages) postRule(c *gin.Context, v *web.View) error {
	id := uuid.Nil
	if s := c.Param("id"); s != "" {
		var err error
		if id, err = uuid.Parse(s); err != nil {
			return errs.NotFound("merchant.assignment_rule")
		}
	}
	if _, err := pg.svc.SaveAssignmentRule(c.Request.Context(), v.Me, id, ruleForm(c)); err != nil {
		if id == uuid.Nil {
			return pg.w.Rerender(c, v, err, pg.rules)
		}
		return pg.w.Rerender(c, v, err, pg.rule)
	}
	return pg.w.Redirect(c, "/leads/rules", "leads.rule_saved")
}

func (pg leadPages) deleteRule(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("merchant.assignment_rule")
	}
	if err := pg.svc.DeleteAssignmentRule(c.Request.Context(), v.Me, id); err != nil {
		return pg.w.Rerender(c, v, err, pg.rules)
	}
	return pg.w.Redirect(c, "/leads/rules", "leads.rule_deleted")
}

type importsPage struct {
	Imports []ImportReport
	Pools   []Pool
	Route   bool // the user may route by the rules
}

func (pg leadPages) imports(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	if _, err := v.Me.Require(identity.PermLeadWrite); err != nil {
		return err
	}
	list, err := pg.svc.ListImports(ctx, v.Me)
	if err != nil {
		return err
	}
	pools, err := pg.svc.ListPools(ctx, v.Me)
	if err != nil {
		return err
	}
	page := importsPage{Imports: list, Route: v.Me.Can(identity.PermLeadAssign)}
	for _, p := range pools {
		if p.Admin {
			page.Pools = append(page.Pools, p)
		}
	}
	return pg.w.Show(c, v, "leads/imports", "leads.imports_title", page)
}

func (pg leadPages) postImport(c *gin.Context, v *web.View) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return pg.w.Rerender(c, v, errs.Invalidf("file", "choose a .csv or .xlsx file"), pg.imports)
	}
	pool, _ := uuid.Parse(c.PostForm("pool_id"))
	f, err := fh.Open()
	if err != nil {
		return pg.w.Rerender(c, v, errs.Invalidf("file", "the file cannot be read"), pg.imports)
	}
	defer f.Close()
	rep, err := pg.svc.ImportLeads(c.Request.Context(), v.Me, ImportInput{PoolID: pool, FileName: fh.Filename, ByRules: c.PostForm("by_rules") == "on"}, f)
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.imports)
	}
	flash := "leads.import_started"
	if rep.Repeated {
		flash = "leads.import_repeated"
	}
	return pg.w.Redirect(c, "/leads/imports/"+rep.ID.String(), flash)
}

type importPage struct {
	Import   ImportReport
	Problems []ImportProblem // the report in the reader's language
	Running  bool
}

// importProblemColumns are the report's columns, on the page and in its download.
func importProblemColumns() []web.Column[ImportProblem] {
	return []web.Column[ImportProblem]{
		{Header: "leads.import_row", Cell: func(p ImportProblem) string { return strconv.Itoa(p.Row) }},
		{Header: "leads.import_column", Cell: func(p ImportProblem) string { return p.Column }},
		{Header: "leads.import_reason", Cell: func(p ImportProblem) string { return p.Reason }},
	}
}

func (pg leadPages) importReport(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("merchant.import")
	}
	rep, err := pg.svc.GetImport(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	problems := importProblemsBy(func(key string, data map[string]any) string {
		args := make([]any, 0, 2*len(data))
		for k, d := range data {
			args = append(args, k, d)
		}
		return v.T(key, args...)
	}, rep.Problems, true)
	if c.Query("format") == "csv" {
		return pg.w.CSV(c, "import-"+rep.ID.String()+"-refused.csv", func() error {
			return web.WriteCSV(c.Writer, importProblemColumns(), func(k string) string { return v.T(k) }, func(fn func(ImportProblem) error) error {
				for _, p := range problems {
					if err := fn(p); err != nil {
						return err
					}
				}
				return nil
			})
		})
	}
	return pg.w.Show(c, v, "leads/import", "leads.import_title",
		importPage{Import: rep, Problems: problems, Running: rep.State == ImportQueued || rep.State == ImportRunning})
}

func (pg leadPages) postView(c *gin.Context, v *web.View) error {
	f := ViewFilters{Q: c.PostForm("q"), Stage: c.PostForm("stage"), Level: c.PostForm("level"), Sort: c.PostForm("sort"),
		HandedOver: c.PostForm("handed_over") == "true", Held: true}
	view, err := pg.svc.SaveView(c.Request.Context(), v.Me, c.PostForm("view_name"), f)
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.list)
	}
	return pg.w.Redirect(c, "/leads?view="+view.ID.String(), "leads.view_saved")
}

func (pg leadPages) deleteView(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("merchant.view")
	}
	if err := pg.svc.DeleteView(c.Request.Context(), v.Me, id); err != nil {
		return err
	}
	return pg.w.Redirect(c, "/leads", "leads.view_deleted")
}

// writeXLSXPage streams the lead list as a workbook, headers in the reader's language.
func (pg leadPages) writeXLSXPage(c *gin.Context, v *web.View, cols []web.Column[Lead], f LeadFilter) error {
	header := make([]string, len(cols))
	for i, col := range cols {
		header[i] = v.T(col.Header)
	}
	c.Header("Content-Type", XLSXContentType)
	c.Header("Content-Disposition", `attachment; filename="leads.xlsx"`)
	c.Status(http.StatusOK)
	return WriteXLSX(c.Writer, header, func(row func([]string) error) error {
		return pg.svc.EachLead(c.Request.Context(), v.Me, f, func(l Lead) error {
			cells := make([]string, len(cols))
			for i, col := range cols {
				cells[i] = col.Cell(l)
			}
			return row(cells)
		})
	})
}
