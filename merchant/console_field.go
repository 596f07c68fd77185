package merchant

import (
	"embed"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// Console pages of part 2: the rep's visits (phone first: the day's to-dos, check-in
// and check-out from the phone's position, photos), the calendars of teams, onboarding
// documents, contracts, targets, commission and the sales reports. Templates and the
// catalogue (keys "fw.*") are under console/field.

//go:embed console/field
var fieldFiles embed.FS

func (s *Service) fieldPages() web.Pages {
	files := web.EmbeddedDir(fieldFiles, "console/field")
	perms := func(ps ...identity.Permission) []identity.Permission { return ps }
	return web.Pages{
		Domain: "field", Templates: files, Messages: files,
		Nav: []web.NavItem{
			{ID: "nav-visits", Label: "nav.visits", Href: "/visits", Perms: perms(identity.PermVisitWrite)},
			{ID: "nav-contracts", Label: "nav.contracts", Href: "/contracts", Perms: perms(identity.PermContractRead)},
			{ID: "nav-targets", Label: "nav.targets", Href: "/targets", Perms: perms(identity.PermLeadRead)},
			{ID: "nav-commission", Label: "nav.commission", Href: "/commission", Perms: perms(identity.PermLeadAssign, identity.PermContractApprove)},
			{ID: "nav-reports", Label: "nav.reports", Href: "/reports", Perms: perms(identity.PermLeadRead)},
		},
		Mount: func(r gin.IRouter, w *web.Console) {
			pg := fieldPages{svc: s, w: w}
			r.GET("/visits", w.Handle(pg.visits))
			r.POST("/visits/plan", w.Handle(pg.postPlan))
			r.POST("/visits/check-in", w.Handle(pg.postCheckIn))
			r.POST("/visits/:id/check-out", w.Handle(pg.postCheckOut))
			r.POST("/visits/:id/photos", w.Handle(pg.postPhoto))
			r.GET("/visits/photos/:id", w.Handle(pg.photo))
			r.POST("/visits/plans/:id/cancel", w.Handle(pg.postCancel))
			r.POST("/visits/todos/:id/done", w.Handle(pg.postTodoDone))
			r.GET("/documents/:id", w.Handle(pg.documents))
			r.POST("/documents/:id", w.Handle(pg.postDocument))
			r.POST("/documents/:id/remove", w.Handle(pg.postRemoveDocument))
			r.GET("/documents/file/:id", w.Handle(pg.documentFile))
			r.GET("/contracts", w.Handle(pg.contracts))
			r.GET("/contracts/:id", w.Handle(pg.contract))
			r.POST("/contracts/:id", w.Handle(pg.postContract))
			r.GET("/targets", w.Handle(pg.targets))
			r.POST("/targets", w.Handle(pg.postTarget))
			r.GET("/commission", w.Handle(pg.commission))
			r.POST("/commission", w.Handle(pg.postCommission))
			r.GET("/commission/:id", w.Handle(pg.commissionRun))
			r.GET("/commission/:id/csv", w.Handle(pg.commissionCSV))
			r.GET("/reports", w.Handle(pg.reports))
			r.GET("/reports/:name/csv", w.Handle(pg.reportCSV))
		},
	}
}

type fieldPages struct {
	svc *Service
	w   *web.Console
}

func pathID(c *gin.Context, what string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, errs.NotFound(what)
	}
	return id, nil
}

// speedText shows an implausible speed; past an airliner's it says only that.
func speedText(kmh float64) string {
	if kmh > 1000 {
		return "> 1000 km/h"
	}
	return fmt.Sprintf("%.0f km/h", kmh)
}

func hhmm(t time.Time) string { return t.In(clock.Shanghai).Format("15:04") }

// formFloat reads an optional number of a form; "" is nil.
func formFloat(c *gin.Context, name string) (*float64, error) {
	v := strings.TrimSpace(c.PostForm(name))
	if v == "" {
		return nil, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil, errs.Invalidf(name, "%s is a number", name)
	}
	return &f, nil
}

// position reads the phone's position a form carries (filled by the page's script).
func position(c *gin.Context) (lat, lng float64, acc *float64, err error) {
	la, err := formFloat(c, "lat")
	if err != nil {
		return 0, 0, nil, err
	}
	ln, err := formFloat(c, "lng")
	if err != nil {
		return 0, 0, nil, err
	}
	if la == nil || ln == nil {
		return 0, 0, nil, &errs.Error{Kind: errs.KindInvalid, Code: "merchant.no_position", Field: "lat",
			Message: "the phone did not give its position; allow location and try again"}
	}
	acc, err = formFloat(c, "accuracy_m")
	return *la, *ln, acc, err
}

// ---- visits ----

type visitsPage struct {
	Query      CalendarQuery
	Day        string // 2006-01-02 of the query
	Week       bool
	Prev, Next string // the previous and next span's day
	RepID      string
	Reps       []web.Option
	Mine       bool // the caller is a rep with their own leads: the day's tools
	Leads      []Lead
	Todos      []todoRow
	Days       []dayView
	Flagged    []flaggedRow
	Managing   bool
	MinStart   string // datetime-local min
}

type todoRow struct {
	ID          uuid.UUID
	Title, When string
}

type dayView struct {
	Date, Label string
	Plans       []planView
	Visits      []visitView
}

type planView struct {
	Plan
	Time, Rep, Status string
	CanCancel         bool
}

type visitView struct {
	Visit
	Time, Out, Rep, Accuracy, Speed string
	Mine                            bool
}

type flaggedRow struct {
	FlaggedVisit
	When, Speed string
}

func (pg fieldPages) visits(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	cq := CalendarQuery{Week: c.Query("span") == "week"}
	if d := c.Query("day"); d != "" {
		t, err := time.ParseInLocation(time.DateOnly, d, clock.Shanghai)
		if err != nil {
			return errs.Invalidf("day", "day is a date, 2006-01-02")
		}
		cq.Day = t
	}
	var err error
	if cq.RepID, err = optionalID(c.Query("rep"), "rep"); err != nil {
		return err
	}
	cal, err := pg.svc.Calendar(ctx, v.Me, cq)
	if err != nil {
		return err
	}
	step := 1
	if cq.Week {
		step = 7
	}
	p := visitsPage{Query: cq, Day: cal.From.Format(time.DateOnly), Week: cq.Week, RepID: c.Query("rep"),
		Prev: cal.From.AddDate(0, 0, -step).Format(time.DateOnly), Next: cal.From.AddDate(0, 0, step).Format(time.DateOnly),
		Managing: v.Me.Can(identity.PermLeadAssign), MinStart: pg.svc.now().In(clock.Shanghai).Format("2006-01-02T15:04")}
	names := pg.svc.namer(ctx)
	for _, d := range cal.Days {
		t, _ := time.ParseInLocation(time.DateOnly, d.Date, clock.Shanghai)
		dv := dayView{Date: d.Date, Label: d.Date + " " + v.T(fmt.Sprintf("fw.weekday_%d", int(t.Weekday())))}
		for _, pl := range d.Plans {
			rep, _ := names.rep(pl.RepID)
			dv.Plans = append(dv.Plans, planView{Plan: pl, Time: hhmm(pl.StartsAt), Rep: rep, Status: v.T("fw.plan_" + string(pl.Status)),
				CanCancel: pl.Status == PlanPlanned})
		}
		for _, vi := range d.Visits {
			rep, _ := names.rep(vi.By)
			vv := visitView{Visit: vi, Time: hhmm(vi.At), Rep: rep, Mine: vi.By == v.Me.User.ID}
			if vi.OutAt != nil {
				vv.Out = hhmm(*vi.OutAt)
			}
			if vi.AccuracyM != nil {
				vv.Accuracy = fmt.Sprintf("±%.0f m", *vi.AccuracyM)
			}
			if vi.SpeedKmh != nil && vi.Flag != "" {
				vv.Speed = speedText(*vi.SpeedKmh)
			}
			dv.Visits = append(dv.Visits, vv)
		}
		p.Days = append(p.Days, dv)
	}
	if p.Managing && pg.svc.staff != nil {
		reps, err := pg.svc.staff.Reps(ctx, v.Me)
		if err != nil {
			return err
		}
		for _, r := range reps {
			p.Reps = append(p.Reps, web.Option{Value: r.ID.String(), Label: r.Name, Selected: r.ID.String() == p.RepID})
		}
		flagged, err := pg.svc.FlaggedVisits(ctx, v.Me, 30)
		if err != nil {
			return err
		}
		for _, f := range flagged {
			row := flaggedRow{FlaggedVisit: f, When: v.Time(f.At)}
			if f.SpeedKmh != nil {
				row.Speed = speedText(*f.SpeedKmh)
			}
			p.Flagged = append(p.Flagged, row)
		}
	}
	if !v.Me.Can(identity.PermLeadAssign) {
		leads, _, err := pg.svc.ListLeads(ctx, v.Me, LeadFilter{HeldOnly: true, OwnerID: v.Me.User.ID, Limit: 200})
		if err != nil {
			return err
		}
		p.Mine, p.Leads = true, leads
		todos, err := pg.svc.Todos(ctx, v.Me)
		if err != nil {
			return err
		}
		for _, t := range todos {
			p.Todos = append(p.Todos, todoRow{ID: t.ID, Title: t.Title, When: v.Time(t.DueAt)})
		}
	}
	return pg.w.Show(c, v, "field/visits", "fw.visits_title", p)
}

func (pg fieldPages) back(c *gin.Context, flash string) error {
	to := c.PostForm("back")
	if !strings.HasPrefix(to, "/visits") {
		to = "/visits"
	}
	return pg.w.Redirect(c, to, flash)
}

func (pg fieldPages) postPlan(c *gin.Context, v *web.View) error {
	lead, err := uuid.Parse(c.PostForm("lead_id"))
	if err != nil {
		return pg.w.Rerender(c, v, errs.Invalidf("lead_id", "choose a shop"), pg.visits)
	}
	starts, err := time.ParseInLocation("2006-01-02T15:04", c.PostForm("starts_at"), clock.Shanghai)
	if err != nil {
		return pg.w.Rerender(c, v, errs.Invalidf("starts_at", "starts_at is a date and time"), pg.visits)
	}
	minutes, _ := strconv.Atoi(c.PostForm("minutes"))
	remind, _ := strconv.Atoi(c.PostForm("remind_minutes"))
	if _, err := pg.svc.PlanVisit(c.Request.Context(), v.Me, lead, NewPlan{StartsAt: starts, Minutes: minutes,
		Purpose: c.PostForm("purpose"), RemindMinutes: remind}); err != nil {
		return pg.w.Rerender(c, v, err, pg.visits)
	}
	return pg.w.Redirect(c, "/visits?day="+starts.Format(time.DateOnly), "fw.planned")
}

func (pg fieldPages) postCheckIn(c *gin.Context, v *web.View) error {
	lead, err := uuid.Parse(c.PostForm("lead_id"))
	if err != nil {
		return pg.w.Rerender(c, v, errs.Invalidf("lead_id", "choose a shop"), pg.visits)
	}
	lat, lng, acc, err := position(c)
	if err == nil {
		_, err = pg.svc.CheckIn(c.Request.Context(), v.Me, lead, CheckIn{Lat: lat, Lng: lng, AccuracyM: acc, Note: c.PostForm("note")})
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.visits)
	}
	return pg.back(c, "fw.checked_in")
}

func (pg fieldPages) postCheckOut(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.visit")
	if err != nil {
		return err
	}
	lat, lng, acc, err := position(c)
	if err == nil {
		_, err = pg.svc.CheckOut(c.Request.Context(), v.Me, id, lat, lng, acc)
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.visits)
	}
	return pg.back(c, "fw.checked_out")
}

func (pg fieldPages) postPhoto(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.visit")
	if err != nil {
		return err
	}
	f, _, err := formFile(c, "photo")
	if err == nil {
		defer f.Close()
		_, err = pg.svc.AddVisitPhoto(c.Request.Context(), v.Me, id, f)
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.visits)
	}
	return pg.back(c, "fw.photo_added")
}

// file answers a stored file to the console.
func file(c *gin.Context, contentType string, size int64, rc io.ReadCloser, name string) error {
	serveFile(c, contentType, size, rc, name)
	return nil
}

func (pg fieldPages) photo(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.photo")
	if err != nil {
		return err
	}
	ph, rc, err := pg.svc.OpenPhoto(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	return file(c, ph.ContentType, ph.SizeBytes, rc, ph.ID.String()+".jpg")
}

func (pg fieldPages) postCancel(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.visit_plan")
	if err != nil {
		return err
	}
	if _, err := pg.svc.CancelPlan(c.Request.Context(), v.Me, id); err != nil {
		return pg.w.Rerender(c, v, err, pg.visits)
	}
	return pg.back(c, "fw.canceled")
}

func (pg fieldPages) postTodoDone(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.todo")
	if err != nil {
		return err
	}
	if err := pg.svc.DoneTodo(c.Request.Context(), v.Me, id); err != nil {
		return pg.w.Rerender(c, v, err, pg.visits)
	}
	return pg.back(c, "fw.todo_done")
}

// ---- onboarding documents ----

type documentsPage struct {
	Lead     Lead
	Docs     []docView
	CanEdit  bool
	Keys     []web.Option
	Checked  int
	Required int
}

type docView struct {
	Document
	Label string
}

func (pg fieldPages) documents(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.lead")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	lead, err := pg.svc.GetLead(ctx, v.Me, id)
	if err != nil {
		return err
	}
	docs, err := pg.svc.Documents(ctx, v.Me, id)
	if err != nil {
		return err
	}
	p := documentsPage{Lead: lead, CanEdit: v.Me.Can(identity.PermLeadWrite) && (lead.Stage == StageSigned || lead.Stage == StageOnboarding)}
	for _, d := range docs {
		label := v.T("onb.doc_" + d.Key)
		p.Docs = append(p.Docs, docView{Document: d, Label: label})
		p.Keys = append(p.Keys, web.Option{Value: d.Key, Label: label, Selected: v.Value("doc_key") == d.Key})
		if d.Required {
			p.Required++
			if !d.Missing {
				p.Checked++
			}
		}
	}
	return pg.w.Show(c, v, "field/documents", "fw.documents_title", p)
}

func (pg fieldPages) postDocument(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.lead")
	if err != nil {
		return err
	}
	f, fh, err := formFile(c, "file")
	if err == nil {
		defer f.Close()
		_, err = pg.svc.AddDocument(c.Request.Context(), v.Me, id, c.PostForm("doc_key"), fh.Filename, f)
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.documents)
	}
	return pg.w.Redirect(c, "/documents/"+id.String(), "fw.document_added")
}

func (pg fieldPages) postRemoveDocument(c *gin.Context, v *web.View) error {
	lead, err := pathID(c, "merchant.lead")
	if err != nil {
		return err
	}
	doc, err := uuid.Parse(c.PostForm("document_id"))
	if err != nil {
		return errs.NotFound("merchant.document")
	}
	if err := pg.svc.RemoveDocument(c.Request.Context(), v.Me, doc); err != nil {
		return pg.w.Rerender(c, v, err, pg.documents)
	}
	return pg.w.Redirect(c, "/documents/"+lead.String(), "fw.document_removed")
}

func (pg fieldPages) documentFile(c *gin.Context, v *web.View) error {
	id, err := pathID(c, "merchant.document")
	if err != nil {
		return err
	}
	d, rc, err := pg.svc.OpenDocument(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	return file(c, d.ContentType, d.SizeBytes, rc, d.FileName)
}
