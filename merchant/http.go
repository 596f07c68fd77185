package merchant

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// HTTP is the B-CRM API under /api/v1/merchant. The service checks every permission
// and scope; these handlers only translate HTTP.
type HTTP struct{ svc *Service }

// NewHTTP returns the handlers on svc.
func NewHTTP(svc *Service) *HTTP { return &HTTP{svc: svc} }

// Mount adds the routes to api, the /api/v1 group behind authentication (identity's
// Authenticate and RequireAPI, which also checks CSRF for cookie sessions).
func (h *HTTP) Mount(api gin.IRouter) {
	g := api.Group("/merchant")
	g.GET("/leads", httpx.Handler(h.listLeads))
	g.POST("/leads", httpx.Handler(h.postLead))
	g.GET("/pool", httpx.Handler(h.listPool))
	g.GET("/leads/:id", httpx.Handler(h.getLead))
	g.GET("/leads/:id/history", httpx.Handler(h.getHistory))
	g.POST("/leads/:id/claim", httpx.Handler(h.postClaim))
	g.POST("/leads/:id/release", httpx.Handler(h.postRelease))
	g.POST("/leads/:id/check-ins", httpx.Handler(h.postCheckIn))
	g.POST("/leads/:id/follow-ups", httpx.Handler(h.postFollowUp))
	g.POST("/leads/:id/stage", httpx.Handler(h.postStage))
	g.GET("/leads/:id/contract", httpx.Handler(h.getContract))
	g.POST("/leads/:id/contract", httpx.Handler(h.postContract))
	g.POST("/leads/:id/onboarding", httpx.Handler(h.postOnboarding))
	g.POST("/leads/:id/onboarding/approve", httpx.Handler(h.postApprove))
	g.POST("/leads/:id/onboarding/reject", httpx.Handler(h.postReject))
	g.GET("/merchants", httpx.Handler(h.listMerchants))
	g.GET("/merchants/:id", httpx.Handler(h.getMerchant))
	g.POST("/merchants/:id/owner-account", httpx.Handler(h.postOwnerAccount))
}

func caller(c *gin.Context) *identity.Principal { return identity.FromContext(c.Request.Context()) }

func (h *HTTP) leads(c *gin.Context, poolOnly bool) error {
	cursor, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	leads, next, err := h.svc.ListLeads(c.Request.Context(), caller(c), LeadFilter{PoolOnly: poolOnly || c.Query("pool") == "true", After: cursor, Limit: limit})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(leads, next))
	return nil
}

func (h *HTTP) listLeads(c *gin.Context) error { return h.leads(c, false) }
func (h *HTTP) listPool(c *gin.Context) error  { return h.leads(c, true) }

type leadRequest struct {
	Name     string  `json:"name" maxlen:"100"`
	Category string  `json:"category" maxlen:"50"`
	Address  string  `json:"address" maxlen:"200"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
	Phone    string  `json:"phone" maxlen:"32"`
	City     string  `json:"city" maxlen:"50"`
}

func (h *HTTP) postLead(c *gin.Context) error {
	var r leadRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	l, err := h.svc.CreateLead(c.Request.Context(), caller(c), NewLead(r))
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

func (h *HTTP) getLead(c *gin.Context) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) { return h.svc.GetLead(c.Request.Context(), caller(c), id) })
}

type leadHistory struct {
	Stages []StageChange `json:"stages"`
	Owners []OwnerChange `json:"owners"`
}

func (h *HTTP) getHistory(c *gin.Context) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (leadHistory, error) {
		ctx, p := c.Request.Context(), caller(c)
		stages, err := h.svc.StageHistory(ctx, p, id)
		if err != nil {
			return leadHistory{}, err
		}
		owners, err := h.svc.OwnerHistory(ctx, p, id)
		return leadHistory{Stages: stages, Owners: owners}, err
	})
}

func (h *HTTP) postClaim(c *gin.Context) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) { return h.svc.Claim(c.Request.Context(), caller(c), id) })
}

type reasonRequest struct {
	Reason string `json:"reason" maxlen:"500"`
}

func (h *HTTP) postRelease(c *gin.Context) error {
	var r reasonRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) {
		return h.svc.Release(c.Request.Context(), caller(c), id, r.Reason)
	})
}

type checkInRequest struct {
	Lat  float64 `json:"lat"`
	Lng  float64 `json:"lng"`
	Note string  `json:"note" maxlen:"1000"`
}

func (h *HTTP) postCheckIn(c *gin.Context) error {
	var r checkInRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusCreated, func(id uuid.UUID) (Visit, error) {
		return h.svc.CheckIn(c.Request.Context(), caller(c), id, CheckIn(r))
	})
}

type followUpRequest struct {
	Channel  string `json:"channel" maxlen:"16"`
	Note     string `json:"note" maxlen:"2000"`
	NextStep string `json:"next_step" maxlen:"500"`
}

func (h *HTTP) postFollowUp(c *gin.Context) error {
	var r followUpRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusCreated, func(id uuid.UUID) (FollowUp, error) {
		return h.svc.LogFollowUp(c.Request.Context(), caller(c), id, FollowUp{Channel: r.Channel, Note: r.Note, NextStep: r.NextStep})
	})
}

type stageRequest struct {
	Stage  Stage  `json:"stage" maxlen:"16"`
	Reason string `json:"reason" maxlen:"500"`
}

func (h *HTTP) postStage(c *gin.Context) error {
	var r stageRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Lead, error) {
		return h.svc.MoveStage(c.Request.Context(), caller(c), id, r.Stage, r.Reason)
	})
}

func (h *HTTP) getContract(c *gin.Context) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Contract, error) {
		return h.svc.GetContract(c.Request.Context(), caller(c), id)
	})
}

type contractRequest struct {
	CommissionRate  string `json:"commission_rate" maxlen:"16"`
	SettlementCycle Cycle  `json:"settlement_cycle" maxlen:"16"`
	StartsOn        string `json:"starts_on" maxlen:"10"`
	EndsOn          string `json:"ends_on" maxlen:"10"`
}

func (h *HTTP) postContract(c *gin.Context) error {
	var r contractRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusCreated, func(id uuid.UUID) (Contract, error) {
		return h.svc.SignContract(c.Request.Context(), caller(c), id, NewContract(r))
	})
}

func (h *HTTP) postOnboarding(c *gin.Context) error {
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Onboarding, error) {
		return h.svc.SubmitOnboarding(c.Request.Context(), caller(c), id)
	})
}

type approveRequest struct {
	SubMchID   string `json:"sub_mchid" maxlen:"32"`
	WebhookURL string `json:"webhook_url" maxlen:"2000"`
}

func (h *HTTP) postApprove(c *gin.Context) error {
	var r approveRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Approved, error) {
		return h.svc.ApproveOnboarding(c.Request.Context(), caller(c), id, Approval(r))
	})
}

func (h *HTTP) postReject(c *gin.Context) error {
	var r reasonRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	return withLead(c, http.StatusOK, func(id uuid.UUID) (Onboarding, error) {
		return h.svc.RejectOnboarding(c.Request.Context(), caller(c), id, r.Reason)
	})
}

func (h *HTTP) listMerchants(c *gin.Context) error {
	cursor, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	ms, next, err := h.svc.ListMerchants(c.Request.Context(), caller(c), cursor, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(ms, next))
	return nil
}

func (h *HTTP) getMerchant(c *gin.Context) error {
	id, err := httpx.PathID(c, "merchant.merchant")
	if err != nil {
		return err
	}
	m, err := h.svc.GetMerchant(c.Request.Context(), caller(c), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}

type ownerAccount struct {
	Login    string `json:"login"`
	Password string `json:"password,omitempty"`
}

func (h *HTTP) postOwnerAccount(c *gin.Context) error {
	id, err := httpx.PathID(c, "merchant.merchant")
	if err != nil {
		return err
	}
	login, pw, err := h.svc.ProvisionOwner(c.Request.Context(), caller(c), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, ownerAccount{Login: login, Password: pw})
	return nil
}
