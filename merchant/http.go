package merchant

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// api is the B-CRM API under /api/v1/merchant. The service checks every permission
// and scope; these handlers only translate HTTP.
type api struct {
	svc *Service
	// leadWords are the lead pages' catalogues, which an import's report is worded by
	// for a caller that sends Accept-Language; nil on routes without reports.
	leadWords *web.Catalog
}

// mountAPI adds the routes for signed-in staff.
func (s *Service) mountAPI(rt domain.Routers) {
	h := api{svc: s}
	g := rt.Staff.Group("/merchant")
	g.GET("/leads", identity.Handle(h.listLeads))
	g.POST("/leads", identity.Handle(h.postLead))
	g.GET("/pool", identity.Handle(h.listPool))
	g.GET("/leads/:id", identity.Handle(h.getLead))
	g.GET("/leads/:id/history", identity.Handle(h.getHistory))
	g.POST("/leads/:id/claim", identity.Handle(h.postClaim))
	g.POST("/leads/:id/release", identity.Handle(h.postRelease))
	g.POST("/leads/:id/check-ins", identity.Handle(h.postCheckIn))
	g.POST("/leads/:id/follow-ups", identity.Handle(h.postFollowUp))
	g.POST("/leads/:id/stage", identity.Handle(h.postStage))
	g.GET("/leads/:id/contract", identity.Handle(h.getContract))
	g.POST("/leads/:id/contract", identity.Handle(h.postContract))
	g.POST("/leads/:id/onboarding", identity.Handle(h.postOnboarding))
	g.POST("/leads/:id/onboarding/approve", identity.Handle(h.postApprove))
	g.POST("/leads/:id/onboarding/reject", identity.Handle(h.postReject))
	g.POST("/leads/:id/onboarding/request-change", identity.Handle(h.postRequestChange))
	g.POST("/leads/:id/onboarding/sync", identity.Handle(h.postSync))
	g.GET("/leads/:id/onboarding", identity.Handle(h.getApplication))
	g.GET("/onboarding", identity.Handle(h.listApplications))
	g.GET("/portal", identity.Handle(h.getPortal))
	g.GET("/merchants", identity.Handle(h.listMerchants))
	g.GET("/merchants/:id", identity.Handle(h.getMerchant))
	g.POST("/merchants/:id/owner-account", identity.Handle(h.postOwnerAccount))
}

func (h api) leads(c *gin.Context, p *identity.Principal, poolOnly bool) error {
	f, err := leadFilter(c)
	if err != nil {
		return err
	}
	f.PoolOnly = f.PoolOnly || poolOnly
	leads, next, err := h.svc.ListLeads(c.Request.Context(), p, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(leads, next))
	return nil
}

func (h api) listLeads(c *gin.Context, p *identity.Principal) error { return h.leads(c, p, false) }
func (h api) listPool(c *gin.Context, p *identity.Principal) error  { return h.leads(c, p, true) }

type leadRequest struct {
	Name     string  `json:"name" maxlen:"100"`
	Category string  `json:"category" maxlen:"50"`
	Address  string  `json:"address" maxlen:"200"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	Phone    string  `json:"phone" maxlen:"32"`
	City     string  `json:"city" maxlen:"50"`
	// LicenceNo and OverrideReason: see NewLead.
	LicenceNo      string `json:"licence_no" maxlen:"18"`
	OverrideReason string `json:"override_reason" maxlen:"500"`
}

func (h api) postLead(c *gin.Context, p *identity.Principal) error {
	var r leadRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	l, err := h.svc.CreateLead(c.Request.Context(), p, NewLead(r))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, l)
	return nil
}

// withLead runs fn with the :id of a lead and renders its result with status.
func withLead[T any](c *gin.Context, status int, fn func(id uuid.UUID) (T, error)) error {
	id, err := httpx.PathID(c, "merchant.lead")
	if err != nil {
		return err
	}
	v, err := fn(id)
	if err != nil {
		return err
	}
	c.JSON(status, v)
	return nil
}

func (h api) getLead(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) { return h.svc.GetLead(c.Request.Context(), p, id) })
}

type leadHistory struct {
	Stages []StageChange `json:"stages"`
	Owners []OwnerChange `json:"owners"`
}

func (h api) getHistory(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (leadHistory, error) {
		ctx, p := c.Request.Context(), p
		stages, err := h.svc.StageHistory(ctx, p, id)
		if err != nil {
			return leadHistory{}, err
		}
		owners, err := h.svc.OwnerHistory(ctx, p, id)
		return leadHistory{Stages: stages, Owners: owners}, err
	})
}

func (h api) postClaim(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) { return h.svc.Claim(c.Request.Context(), p, id) })
}

type reasonRequest struct {
	Reason string `json:"reason" maxlen:"500"`
}

func (h api) postRelease(c *gin.Context, p *identity.Principal) error {
	var r reasonRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) {
		return h.svc.Release(c.Request.Context(), p, id, r.Reason)
	})
}

type checkInRequest struct {
	Lat       *float64  `json:"lat"`
	Lng       *float64  `json:"lng"`
	AccuracyM *float64  `json:"accuracy_m"`
	Note      string    `json:"note" maxlen:"1000"`
	PlanID    uuid.UUID `json:"plan_id"`
}

func (h api) postCheckIn(c *gin.Context, p *identity.Principal) error {
	var r checkInRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	// A check-in without coordinates is a missing field, not a visit at 0°, 0°.
	if r.Lat == nil {
		return errs.Invalidf("lat", "lat is required: where the rep stands")
	}
	if r.Lng == nil {
		return errs.Invalidf("lng", "lng is required: where the rep stands")
	}
	return withLead(c, http.StatusCreated, func(id uuid.UUID) (Visit, error) {
		return h.svc.CheckIn(c.Request.Context(), p, id, CheckIn{Lat: *r.Lat, Lng: *r.Lng, AccuracyM: r.AccuracyM, Note: r.Note, PlanID: r.PlanID})
	})
}

type followUpRequest struct {
	Channel  string `json:"channel" maxlen:"16"`
	Note     string `json:"note" maxlen:"2000"`
	NextStep string `json:"next_step" maxlen:"500"`
}

func (h api) postFollowUp(c *gin.Context, p *identity.Principal) error {
	var r followUpRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusCreated, func(id uuid.UUID) (FollowUp, error) {
		return h.svc.LogFollowUp(c.Request.Context(), p, id, FollowUp{Channel: r.Channel, Note: r.Note, NextStep: r.NextStep})
	})
}

type stageRequest struct {
	Stage  Stage  `json:"stage" maxlen:"16"`
	Reason string `json:"reason" maxlen:"500"`
}

func (h api) postStage(c *gin.Context, p *identity.Principal) error {
	var r stageRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) {
		return h.svc.MoveStage(c.Request.Context(), p, id, r.Stage, r.Reason)
	})
}

func (h api) getContract(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Contract, error) {
		return h.svc.GetContract(c.Request.Context(), p, id)
	})
}

type contractRequest struct {
	CommissionRate  string `json:"commission_rate" maxlen:"16"`
	SettlementCycle Cycle  `json:"settlement_cycle" maxlen:"16"`
	StartsOn        string `json:"starts_on" maxlen:"10"`
	EndsOn          string `json:"ends_on" maxlen:"10"`
	DepositFen      int64  `json:"deposit_fen"`
}

func (h api) postContract(c *gin.Context, p *identity.Principal) error {
	var r contractRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusCreated, func(id uuid.UUID) (Contract, error) {
		return h.svc.SignContract(c.Request.Context(), p, id, NewContract(r))
	})
}

func (h api) postOnboarding(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Onboarding, error) {
		return h.svc.SubmitOnboarding(c.Request.Context(), p, id)
	})
}

type approveRequest struct {
	SubMchID   string `json:"sub_mchid" maxlen:"32"`
	WebhookURL string `json:"webhook_url" maxlen:"2000"`
}

func (h api) postApprove(c *gin.Context, p *identity.Principal) error {
	var r approveRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Approved, error) {
		return h.svc.ApproveOnboarding(c.Request.Context(), p, id, Approval(r))
	})
}

func (h api) postReject(c *gin.Context, p *identity.Principal) error {
	var r reasonRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Onboarding, error) {
		return h.svc.RejectOnboarding(c.Request.Context(), p, id, r.Reason)
	})
}

func (h api) listMerchants(c *gin.Context, p *identity.Principal) error {
	cursor, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	ms, next, err := h.svc.ListMerchants(c.Request.Context(), p, cursor, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(ms, next))
	return nil
}

func (h api) getMerchant(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.merchant")
	if err != nil {
		return err
	}
	m, err := h.svc.GetMerchant(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}

type ownerAccount struct {
	Login      string `json:"login"`
	Invitation string `json:"invitation,omitempty"`
}

func (h api) postOwnerAccount(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "merchant.merchant")
	if err != nil {
		return err
	}
	login, inv, err := h.svc.ProvisionOwner(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, ownerAccount{Login: login, Invitation: inv})
	return nil
}

func (h api) postRequestChange(c *gin.Context, p *identity.Principal) error {
	var r reasonRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Onboarding, error) {
		return h.svc.RequestChange(c.Request.Context(), p, id, r.Reason)
	})
}

func (h api) postSync(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Approved, error) {
		return h.svc.SyncApplyment(c.Request.Context(), p, id)
	})
}

func (h api) getApplication(c *gin.Context, p *identity.Principal) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (ApplicationDetail, error) {
		return h.svc.GetApplication(c.Request.Context(), p, id)
	})
}

func (h api) listApplications(c *gin.Context, p *identity.Principal) error {
	cursor, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	apps, next, err := h.svc.ListApplications(c.Request.Context(), p, QueueFilter{All: c.Query("all") == "true",
		State: OnboardingState(c.Query("state")), After: cursor, Limit: limit})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(apps, next))
	return nil
}

func (h api) getPortal(c *gin.Context, p *identity.Principal) error {
	home, err := h.svc.Portal(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, home)
	return nil
}
