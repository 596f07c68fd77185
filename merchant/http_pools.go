package merchant

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// mountPoolAPI adds the routes of pools, assignment, locks, hand-overs and reminders.
func (s *Service) mountPoolAPI(rt domain.Routers) {
	h := api{svc: s}
	if cat, err := web.NewCatalog(); err != nil {
		s.log.Error("merchant: catalogues: import reports stay in English", "err", err)
	} else if err := cat.Load(s.leadPages().Messages); err != nil {
		s.log.Error("merchant: catalogues: import reports stay in English", "err", err)
	} else {
		h.leadWords = cat
	}
	g := rt.Staff.Group("/merchant")
	g.GET("/pools", identity.Handle(h.listPools))
	g.GET("/pools/:id", identity.Handle(h.getPool))
	g.PUT("/pools/:id", identity.Handle(h.putPool))
	g.GET("/pools/:id/members", identity.Handle(h.listPoolMembers))
	g.PUT("/pools/:id/members/:user", identity.Handle(h.putPoolMember))
	g.POST("/assignments", identity.Require(identity.PermLeadAssign), identity.Handle(h.postAssign))
	g.POST("/leads/:id/lock", identity.Handle(h.postLock))
	g.POST("/reps/:id/hand-over", identity.Require(identity.PermLeadAssign), identity.Handle(h.postHandOver))
	g.GET("/reminders", identity.Handle(h.listReminders))
	g.PATCH("/leads/:id", identity.Handle(h.patchLead))
	g.GET("/leads/:id/timeline", identity.Handle(h.getTimeline))
	g.GET("/duplicates", identity.Handle(h.getDuplicates))
	g.POST("/imports", identity.Require(identity.PermLeadWrite), identity.Handle(h.postImport))
	g.GET("/imports/:id", identity.Handle(h.getImport))
	g.GET("/imports", identity.Handle(h.listImports))
	g.GET("/leads/export", identity.Handle(h.exportLeads))
	g.GET("/views", identity.Handle(h.listViews))
	g.POST("/views", identity.Handle(h.postView))
	g.DELETE("/views/:id", identity.Handle(h.deleteView))
	g.GET("/assignment-rules", identity.Require(identity.PermLeadAssign), identity.Handle(h.listRules))
	g.POST("/assignment-rules", identity.Require(identity.PermLeadAssign), identity.Handle(h.postRule))
	g.GET("/assignment-rules/:id", identity.Require(identity.PermLeadAssign), identity.Handle(h.getRule))
	g.PUT("/assignment-rules/:id", identity.Require(identity.PermLeadAssign), identity.Handle(h.putRule))
	g.DELETE("/assignment-rules/:id", identity.Require(identity.PermLeadAssign), identity.Handle(h.deleteRule))
}

// exportLeads streams the leads of the list's filters as CSV or Excel.
func (h api) exportLeads(c *gin.Context, p *identity.Principal) error {
	ctx := c.Request.Context()
	format := c.DefaultQuery("format", FormatCSV)
	if err := checkFormat(format); err != nil {
		return err
	}
	f, err := leadFilter(c)
	if err != nil {
		return err
	}
	probe := f
	probe.Limit = 1
	if _, _, err := h.svc.ListLeads(ctx, p, probe); err != nil {
		return err
	}
	each := func(row func([]string) error) error {
		return h.svc.EachLead(ctx, p, f, func(l Lead) error { return row(exportRow(l)) })
	}
	c.Header("Content-Disposition", `attachment; filename="leads.`+format+`"`)
	if format == FormatXLSX {
		c.Header("Content-Type", XLSXContentType)
		c.Status(http.StatusOK)
		return WriteXLSX(c.Writer, exportHeader, each)
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Status(http.StatusOK)
	return writeCSV(c.Writer, exportHeader, each)
}

func (h api) listViews(c *gin.Context, p *identity.Principal) error {
	vs, err := h.svc.SavedViews(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": vs})
	return nil
}

type viewRequest struct {
	Name    string      `json:"name"`
	Filters ViewFilters `json:"filters"`
}

func (h api) postView(c *gin.Context, p *identity.Principal) error {
	var r viewRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	v, err := h.svc.SaveView(c.Request.Context(), p, r.Name, r.Filters)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

func (h api) deleteView(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.view")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteView(c.Request.Context(), p, id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (h api) listRules(c *gin.Context, p *identity.Principal) error {
	rs, err := h.svc.ListAssignmentRules(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": rs})
	return nil
}

func (h api) getRule(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.assignment_rule")
	if err != nil {
		return err
	}
	r, err := h.svc.GetAssignmentRule(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, r)
	return nil
}

func (h api) postRule(c *gin.Context, p *identity.Principal) error {
	return h.saveRule(c, p, uuid.Nil, http.StatusCreated)
}

func (h api) putRule(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.assignment_rule")
	if err != nil {
		return err
	}
	return h.saveRule(c, p, id, http.StatusOK)
}

func (h api) saveRule(c *gin.Context, p *identity.Principal, id uuid.UUID, status int) error {
	var in RuleInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.SaveAssignmentRule(c.Request.Context(), p, id, in)
	if err != nil {
		return err
	}
	c.JSON(status, r)
	return nil
}

func (h api) deleteRule(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.assignment_rule")
	if err != nil {
		return err
	}
	if err := h.svc.DeleteAssignmentRule(c.Request.Context(), p, id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (h api) listImports(c *gin.Context, p *identity.Principal) error {
	out, err := h.svc.ListImports(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
	return nil
}

func (h api) postImport(c *gin.Context, p *identity.Principal) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return errs.Invalidf("file", "send the file as multipart form field \"file\"")
	}
	var pool uuid.UUID
	if v := c.PostForm("pool_id"); v != "" {
		if pool, err = uuid.Parse(v); err != nil {
			return errs.Invalidf("pool_id", "pool_id is a uuid")
		}
	}
	f, err := fh.Open()
	if err != nil {
		return errs.Invalidf("file", "the file cannot be read")
	}
	defer f.Close()
	rep, err := h.svc.ImportLeads(c.Request.Context(), p, ImportInput{PoolID: pool, FileName: fh.Filename, ByRules: c.PostForm("by_rules") == "true"}, f)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	switch {
	case rep.Repeated:
		status = http.StatusOK
	case rep.State == ImportQueued || rep.State == ImportRunning:
		status = http.StatusAccepted
	}
	rep.Problems = h.problemsIn(c, rep.Problems)
	c.JSON(status, rep)
	return nil
}

// problemsIn is an import's report with its reasons in the language the caller's
// Accept-Language asks for, English without one; columns stay the fields' names.
func (h api) problemsIn(c *gin.Context, problems []ImportProblem) []ImportProblem {
	lang := httpx.Language(c)
	if lang == "" || h.leadWords == nil {
		return problems
	}
	return importProblemsBy(func(key string, data map[string]any) string { return h.leadWords.T(lang, key, data) }, problems, false)
}

func (h api) getImport(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.import")
	if err != nil {
		return err
	}
	rep, err := h.svc.GetImport(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	rep.Problems = h.problemsIn(c, rep.Problems)
	c.JSON(http.StatusOK, rep)
	return nil
}

func (h api) patchLead(c *gin.Context, p *identity.Principal) error {
	var r LeadPatch
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) { return h.svc.EditLead(c.Request.Context(), p, id, r) })
}

func (h api) getTimeline(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (gin.H, error) {
		t, err := h.svc.Timeline(c.Request.Context(), p, id)
		return gin.H{"items": t}, err
	})
}

func (h api) getDuplicates(c *gin.Context, p *identity.Principal) error {
	in := NewLead{Name: c.Query("name"), Phone: c.Query("phone"), LicenceNo: c.Query("licence_no")}
	for name, dst := range map[string]*float64{"lat": &in.Lat, "lng": &in.Lng} {
		if v := c.Query(name); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return errs.Invalidf(name, "%s is a number", name)
			}
			*dst = f
		}
	}
	ds, err := h.svc.CheckDuplicates(c.Request.Context(), p, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": ds})
	return nil
}

// leadFilter reads ListLeads' filters from the query string.
func leadFilter(c *gin.Context) (LeadFilter, error) {
	cursor, limit, err := httpx.Cursor(c)
	if err != nil {
		return LeadFilter{}, err
	}
	f := LeadFilter{After: cursor, Limit: limit, Stage: Stage(c.Query("stage")), Query: c.Query("q"),
		PoolOnly: c.Query("pool") == "true", HeldOnly: c.Query("held") == "true", Level: c.Query("level"), Sort: c.Query("sort"),
		HandedOver: c.Query("handed_over") == "true"}
	for name, dst := range map[string]*uuid.UUID{"pool_id": &f.PoolID, "owner_id": &f.OwnerID} {
		if v := c.Query(name); v != "" {
			if *dst, err = uuid.Parse(v); err != nil {
				return f, errs.Invalidf(name, "%s is a uuid", name)
			}
		}
	}
	return f, nil
}

func (h api) listPools(c *gin.Context, p *identity.Principal) error {
	pools, err := h.svc.ListPools(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": pools})
	return nil
}

func poolID(c *gin.Context) (uuid.UUID, error) { return httpx.PathID(c, "merchant.pool") }

func (h api) getPool(c *gin.Context, p *identity.Principal) error {
	id, err := poolID(c)
	if err != nil {
		return err
	}
	pool, err := h.svc.GetPool(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, pool)
	return nil
}

type poolRequest struct {
	Name string `json:"name"`
	PoolRules
}

func (h api) putPool(c *gin.Context, p *identity.Principal) error {
	id, err := poolID(c)
	if err != nil {
		return err
	}
	var r poolRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	pool, err := h.svc.SetPoolRules(c.Request.Context(), p, id, r.Name, r.PoolRules)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, pool)
	return nil
}

func (h api) listPoolMembers(c *gin.Context, p *identity.Principal) error {
	id, err := poolID(c)
	if err != nil {
		return err
	}
	ms, err := h.svc.PoolMembers(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": ms})
	return nil
}

type memberRequest struct {
	Role string `json:"role"` // member, admin, or "" to remove
}

func (h api) putPoolMember(c *gin.Context, p *identity.Principal) error {
	id, err := poolID(c)
	if err != nil {
		return err
	}
	user, err := uuid.Parse(c.Param("user"))
	if err != nil {
		return errs.NotFound("merchant.user")
	}
	var r memberRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	if err := h.svc.SetPoolMember(c.Request.Context(), p, id, user, strings.TrimSpace(r.Role)); err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"user_id": user, "role": r.Role})
	return nil
}

type assignRequest struct {
	LeadIDs []uuid.UUID `json:"lead_ids"`
	To      uuid.UUID   `json:"to"`
	Reason  string      `json:"reason"`
}

func (h api) postAssign(c *gin.Context, p *identity.Principal) error {
	var r assignRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	out, err := h.svc.Assign(c.Request.Context(), p, r.LeadIDs, r.To, r.Reason)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
	return nil
}

type lockRequest struct {
	Locked bool   `json:"locked"`
	Reason string `json:"reason"`
}

func (h api) postLock(c *gin.Context, p *identity.Principal) error {
	var r lockRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) {
		return h.svc.SetLocked(c.Request.Context(), p, id, r.Locked, r.Reason)
	})
}

type handOverRequest struct {
	To     uuid.UUID `json:"to"` // nil: back to the pools
	Reason string    `json:"reason"`
}

func (h api) postHandOver(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.user")
	if err != nil {
		return err
	}
	var r handOverRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	out, err := h.svc.HandOver(c.Request.Context(), p, id, r.To, r.Reason)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": out})
	return nil
}

func (h api) listReminders(c *gin.Context, p *identity.Principal) error {
	rs, err := h.svc.MyReminders(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": rs})
	return nil
}
