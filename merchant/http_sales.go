package merchant

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// mountSalesAPI adds targets, commission and the sales reports under /api/v1/merchant.
func (s *Service) mountSalesAPI(rt domain.Routers) {
	h := api{svc: s}
	g := rt.Staff.Group("/merchant")
	g.PUT("/targets", identity.Handle(h.putTarget))
	g.GET("/targets/attainment", identity.Handle(h.getAttainment))
	g.POST("/commission", identity.Handle(h.postCommission))
	g.GET("/commission", identity.Handle(h.listCommission))
	g.GET("/commission/:id", identity.Handle(h.getCommission))
	g.GET("/reports/funnel", identity.Handle(h.reportFunnel))
	g.GET("/reports/cohorts", identity.Handle(h.reportCohorts))
	g.GET("/reports/conversion", identity.Handle(h.reportConversion))
	g.GET("/reports/breakdown", identity.Handle(h.reportBreakdown))
	g.GET("/reports/visits", identity.Handle(h.reportVisits))
	g.GET("/reports/pool-health", identity.Handle(h.reportPoolHealth))
	g.GET("/reports/leaderboard", identity.Handle(h.reportLeaderboard))
}

type targetRequest struct {
	Month            string    `json:"month" maxlen:"7"`
	Subject          string    `json:"subject" maxlen:"8"`
	SubjectID        uuid.UUID `json:"subject_id"`
	Signings         int       `json:"signings"`
	LiveShops        int       `json:"live_shops"`
	FirstMonthGMVFen int64     `json:"first_month_gmv_fen"`
}

func (h api) putTarget(c *gin.Context, p *identity.Principal) error {
	var r targetRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	t, err := h.svc.SetTarget(c.Request.Context(), p, NewTarget(r))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, t)
	return nil
}

// items is a list answer.
type items[T any] struct {
	Items []T `json:"items"`
}

func answer[T any](c *gin.Context, v []T, err error) error {
	if err != nil {
		return err
	}
	if v == nil {
		v = []T{}
	}
	c.JSON(http.StatusOK, items[T]{Items: v})
	return nil
}

func (h api) getAttainment(c *gin.Context, p *identity.Principal) error {
	rows, err := h.svc.Attainment(c.Request.Context(), p, c.Query("month"))
	return answer(c, rows, err)
}

type commissionRequest struct {
	Month     string    `json:"month" maxlen:"7"`
	OrgUnitID uuid.UUID `json:"org_unit_id"`
}

func (h api) postCommission(c *gin.Context, p *identity.Principal) error {
	var r commissionRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	run, err := h.svc.ComputeCommission(c.Request.Context(), p, r.Month, r.OrgUnitID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, run)
	return nil
}

func (h api) listCommission(c *gin.Context, p *identity.Principal) error {
	runs, err := h.svc.CommissionRuns(c.Request.Context(), p)
	return answer(c, runs, err)
}

func (h api) getCommission(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.commission_run")
	if err != nil {
		return err
	}
	run, err := h.svc.GetCommission(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, run)
	return nil
}

// reportQuery reads ?months=&days=&city=.
func reportQuery(c *gin.Context) (ReportQuery, error) {
	var rq ReportQuery
	for _, f := range []struct {
		name string
		to   *int
	}{{"months", &rq.Months}, {"days", &rq.Days}} {
		if v := c.Query(f.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return rq, errs.Invalidf(f.name, "%s is a number", f.name)
			}
			*f.to = n
		}
	}
	rq.City = c.Query("city")
	return rq, nil
}

// report answers a report read with the query of the request.
func report[T any](c *gin.Context, read func(ReportQuery) ([]T, error)) error {
	rq, err := reportQuery(c)
	if err != nil {
		return err
	}
	v, err := read(rq)
	return answer(c, v, err)
}

func (h api) reportFunnel(c *gin.Context, p *identity.Principal) error {
	return report(c, func(rq ReportQuery) ([]StageCount, error) { return h.svc.Funnel(c.Request.Context(), p, rq) })
}

func (h api) reportCohorts(c *gin.Context, p *identity.Principal) error {
	return report(c, func(rq ReportQuery) ([]CohortRow, error) { return h.svc.Cohorts(c.Request.Context(), p, rq) })
}

func (h api) reportConversion(c *gin.Context, p *identity.Principal) error {
	return report(c, func(rq ReportQuery) ([]Conversion, error) { return h.svc.Conversions(c.Request.Context(), p, rq) })
}

func (h api) reportBreakdown(c *gin.Context, p *identity.Principal) error {
	return report(c, func(rq ReportQuery) ([]Breakdown, error) {
		return h.svc.BreakdownBy(c.Request.Context(), p, c.DefaultQuery("by", "rep"), rq)
	})
}

func (h api) reportVisits(c *gin.Context, p *identity.Principal) error {
	return report(c, func(rq ReportQuery) ([]RepDay, error) { return h.svc.VisitsPerRepPerDay(c.Request.Context(), p, rq) })
}

func (h api) reportPoolHealth(c *gin.Context, p *identity.Principal) error {
	rq, err := reportQuery(c)
	if err != nil {
		return err
	}
	ph, err := h.svc.PoolHealthReport(c.Request.Context(), p, rq)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, ph)
	return nil
}

func (h api) reportLeaderboard(c *gin.Context, p *identity.Principal) error {
	rows, err := h.svc.Leaderboard(c.Request.Context(), p, c.Query("month"))
	return answer(c, rows, err)
}
