package merchant

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// registerPart2 declares issue 15's second part: visits and their calendar,
// reminders, photos, onboarding documents, the contract's life, targets, commission
// and reports (routes, pages, tasks and subscriptions).
func (s *Service) registerPart2(r *domain.Registry) {
	r.Routes(s.mountPart2API)
	r.Routes(s.mountSalesAPI)
	r.Pages(s.fieldPages())
	r.Subscribe(s.gmvSubscriptions()...)
	r.Schedule(s.remindersTask(), s.contractsExpiryTask())
}

// mountPart2API adds the routes of part 2 under /api/v1/merchant.
func (s *Service) mountPart2API(rt domain.Routers) {
	h := api{svc: s}
	g := rt.Staff.Group("/merchant")
	g.GET("/calendar", identity.Handle(h.getCalendar))
	g.POST("/leads/:id/visit-plans", identity.Handle(h.postPlan))
	g.POST("/visit-plans/:id/cancel", identity.Handle(h.postCancelPlan))
	g.GET("/todos", identity.Handle(h.getTodos))
	g.POST("/todos/:id/done", identity.Handle(h.postTodoDone))
	g.POST("/visits/:id/check-out", identity.Handle(h.postCheckOut))
	g.POST("/visits/:id/photos", identity.Handle(h.postPhoto))
	g.GET("/photos/:id", identity.Handle(h.getPhoto))
	g.GET("/leads/:id/documents", identity.Handle(h.getDocuments))
	g.POST("/leads/:id/documents", identity.Handle(h.postDocument))
	g.GET("/documents/:id", identity.Handle(h.getDocument))
	g.DELETE("/documents/:id", identity.Handle(h.deleteDocument))
	g.GET("/leads/:id/contracts", identity.Handle(h.getContracts))
	g.POST("/leads/:id/contract/renew", identity.Handle(h.postRenew))
	g.POST("/leads/:id/contract/terminate", identity.Handle(h.postTerminate))
	g.GET("/contracts/expiring", identity.Handle(h.getExpiring))
}

func (h api) getCalendar(c *gin.Context, p *identity.Principal) error {
	cq, err := calendarQuery(c)
	if err != nil {
		return err
	}
	cal, err := h.svc.Calendar(c.Request.Context(), p, cq)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, cal)
	return nil
}

// calendarQuery reads ?day=2006-01-02&span=day|week&rep_id=&unit_id=.
func calendarQuery(c *gin.Context) (CalendarQuery, error) {
	var cq CalendarQuery
	if d := c.Query("day"); d != "" {
		t, err := time.ParseInLocation(time.DateOnly, d, clock.Shanghai)
		if err != nil {
			return cq, errs.Invalidf("day", "day is a date, 2006-01-02")
		}
		cq.Day = t
	}
	switch c.Query("span") {
	case "", "day":
	case "week":
		cq.Week = true
	default:
		return cq, errs.Invalidf("span", "span is day or week")
	}
	var err error
	if cq.RepID, err = optionalID(c.Query("rep_id"), "rep_id"); err != nil {
		return cq, err
	}
	cq.UnitID, err = optionalID(c.Query("unit_id"), "unit_id")
	return cq, err
}

func optionalID(v, field string) (uuid.UUID, error) {
	if v == "" {
		return uuid.Nil, nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, errs.Invalidf(field, "%s is a uuid", field)
	}
	return id, nil
}

type planRequest struct {
	StartsAt      time.Time `json:"starts_at"`
	Minutes       int       `json:"minutes"`
	Purpose       string    `json:"purpose" maxlen:"500"`
	RemindMinutes int       `json:"remind_minutes"`
}

func (h api) postPlan(c *gin.Context, p *identity.Principal) error {
	var r planRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusCreated, func(id uuid.UUID) (Plan, error) {
		return h.svc.PlanVisit(c.Request.Context(), p, id, NewPlan(r))
	})
}

func (h api) postCancelPlan(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.visit_plan")
	if err != nil {
		return err
	}
	pl, err := h.svc.CancelPlan(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, pl)
	return nil
}

type todoList struct {
	Items []Todo `json:"items"`
}

func (h api) getTodos(c *gin.Context, p *identity.Principal) error {
	todos, err := h.svc.Todos(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, todoList{Items: todos})
	return nil
}

func (h api) postTodoDone(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.todo")
	if err != nil {
		return err
	}
	if err := h.svc.DoneTodo(c.Request.Context(), p, id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type checkOutRequest struct {
	Lat       *float64 `json:"lat"`
	Lng       *float64 `json:"lng"`
	AccuracyM *float64 `json:"accuracy_m"`
}

func (h api) postCheckOut(c *gin.Context, p *identity.Principal) error {
	var r checkOutRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	if r.Lat == nil || r.Lng == nil {
		return errs.Invalidf("lat", "lat and lng are required: where the rep stands")
	}
	id, err := httpx.PathID(c, "merchant.visit")
	if err != nil {
		return err
	}
	v, err := h.svc.CheckOut(c.Request.Context(), p, id, *r.Lat, *r.Lng, r.AccuracyM)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

// formFile opens the multipart field name, or answers 400 naming it.
func formFile(c *gin.Context, name string) (multipart.File, *multipart.FileHeader, error) {
	fh, err := c.FormFile(name)
	if err != nil {
		if errs.KindOf(err) == errs.KindTooLarge || isTooLarge(err) {
			return nil, nil, errs.E(errs.KindTooLarge, "body_too_large", "the upload is larger than the server accepts").WithField(name)
		}
		return nil, nil, errs.Invalidf(name, "send the file as the multipart form field %q", name)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, nil, errs.Invalidf(name, "the file cannot be read")
	}
	return f, fh, nil
}

func isTooLarge(err error) bool {
	var maxErr *http.MaxBytesError
	return errors.As(err, &maxErr)
}

func (h api) postPhoto(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.visit")
	if err != nil {
		return err
	}
	f, _, err := formFile(c, "photo")
	if err != nil {
		return err
	}
	defer f.Close()
	ph, err := h.svc.AddVisitPhoto(c.Request.Context(), p, id, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, ph)
	return nil
}

// serveFile answers a stored file inline, private, and never sniffed by the browser.
func serveFile(c *gin.Context, contentType string, size int64, rc io.ReadCloser, name string) {
	defer rc.Close()
	c.Header("X-Content-Type-Options", "nosniff")
	c.Header("Cache-Control", "private, max-age=300")
	c.DataFromReader(http.StatusOK, size, contentType, rc, map[string]string{
		"Content-Disposition": "inline; filename*=UTF-8''" + url.PathEscape(name)})
}

func (h api) getPhoto(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.photo")
	if err != nil {
		return err
	}
	ph, rc, err := h.svc.OpenPhoto(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	serveFile(c, ph.ContentType, ph.SizeBytes, rc, ph.ID.String())
	return nil
}

type documentList struct {
	Items []Document `json:"items"`
}

func (h api) getDocuments(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (documentList, error) {
		docs, err := h.svc.Documents(c.Request.Context(), p, id)
		return documentList{Items: docs}, err
	})
}

func (h api) postDocument(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.lead")
	if err != nil {
		return err
	}
	f, fh, err := formFile(c, "file")
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := h.svc.AddDocument(c.Request.Context(), p, id, c.PostForm("doc_key"), fh.Filename, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, d)
	return nil
}

func (h api) getDocument(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.document")
	if err != nil {
		return err
	}
	d, rc, err := h.svc.OpenDocument(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	serveFile(c, d.ContentType, d.SizeBytes, rc, d.FileName)
	return nil
}

func (h api) deleteDocument(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.document")
	if err != nil {
		return err
	}
	if err := h.svc.RemoveDocument(c.Request.Context(), p, id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

type contractList struct {
	Items []Contract `json:"items"`
}

func (h api) getContracts(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (contractList, error) {
		cs, err := h.svc.ContractHistory(c.Request.Context(), p, id)
		return contractList{Items: cs}, err
	})
}

func (h api) postRenew(c *gin.Context, p *identity.Principal) error {
	var r contractRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusCreated, func(id uuid.UUID) (Contract, error) {
		return h.svc.RenewContract(c.Request.Context(), p, id, NewContract(r))
	})
}

func (h api) postTerminate(c *gin.Context, p *identity.Principal) error {
	var r reasonRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Contract, error) {
		return h.svc.TerminateContract(c.Request.Context(), p, id, r.Reason)
	})
}

type expiringList struct {
	Items []Expiring `json:"items"`
}

func (h api) getExpiring(c *gin.Context, p *identity.Principal) error {
	days := 60
	if v := c.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return errs.Invalidf("days", "days is a number of days, 1 to 366")
		}
		days = n
	}
	items, err := h.svc.ExpiringContracts(c.Request.Context(), p, days)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, expiringList{Items: items})
	return nil
}
