package consumer

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// HTTPConfig is what the routes need from the platform.
type HTTPConfig struct {
	// RequireAPI admits staff callers (identity's RequireAPI: a principal, and the
	// CSRF token for cookie sessions). Required.
	RequireAPI gin.HandlerFunc
	// Idempotency guards the POSTs that move points. Required.
	Idempotency *httpx.Idempotency
}

// HTTP is the consumer domain's API.
type HTTP struct {
	svc *Service
	cfg HTTPConfig
}

// NewHTTP returns the routes over svc.
func NewHTTP(svc *Service, cfg HTTPConfig) *HTTP { return &HTTP{svc: svc, cfg: cfg} }

// Mount adds the routes under api (/api/v1).
func (h *HTTP) Mount(api gin.IRouter) {
	g := api.Group("/consumer", h.cfg.RequireAPI)
	g.GET("/members", identity.Require(identity.PermMemberRead), httpx.Handler(h.listMembers))
	g.GET("/members/:id", identity.Require(identity.PermMemberRead), httpx.Handler(h.getMember))
	g.GET("/members/:id/points", identity.Require(identity.PermMemberRead), httpx.Handler(h.listPoints))
	g.POST("/members/:id/points/adjustments", identity.Require(identity.PermPointsAdjust),
		h.cfg.Idempotency.Middleware(), httpx.Handler(h.postAdjustment))
	me := api.Group("/consumer/me", identity.RequireConsumer())
	me.GET("/points", httpx.Handler(h.myPoints))
	me.POST("/membership", httpx.Handler(h.postMembership))
}

func (h *HTTP) listMembers(c *gin.Context) error {
	after, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	ms, err := h.svc.ListMembers(c.Request.Context(), after, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(ms, httpx.NextAfter(ms, limit, func(m Member) uuid.UUID { return m.ID })))
	return nil
}

func (h *HTTP) getMember(c *gin.Context) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	m, err := h.svc.GetMember(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}

func entriesPage(c *gin.Context, es []Entry, limit int) {
	c.JSON(http.StatusOK, httpx.PageOf(es, httpx.NextAfter(es, limit, func(e Entry) uuid.UUID { return e.ID })))
}

func (h *HTTP) listPoints(c *gin.Context) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	before, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	es, err := h.svc.Ledger(c.Request.Context(), id, before, limit)
	if err != nil {
		return err
	}
	entriesPage(c, es, limit)
	return nil
}

type adjustmentRequest struct {
	Delta  int64  `json:"delta"`
	Key    string `json:"key" maxlen:"100"`
	Reason string `json:"reason" maxlen:"200"`
}

func (r adjustmentRequest) Validate() error {
	switch {
	case r.Delta == 0:
		return errs.Invalidf("delta", "delta is a non-zero number of points")
	case r.Key == "" || len(r.Key) > 100:
		return errs.Invalidf("key", "key is 1 to 100 characters, unique per adjustment")
	case r.Reason == "":
		return errs.Invalidf("reason", "give a reason")
	}
	return nil
}

func (h *HTTP) postAdjustment(c *gin.Context) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	var in adjustmentRequest
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	if err := h.svc.Adjust(c.Request.Context(), id, in.Delta, in.Key, in.Reason); err != nil {
		return err
	}
	m, err := h.svc.GetMember(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, m)
	return nil
}

type myPoints struct {
	Balance int64   `json:"balance"`
	Entries []Entry `json:"entries"`
}

func (h *HTTP) myPoints(c *gin.Context) error {
	id := identity.ConsumerOf(c)
	bal, err := h.svc.Balance(c.Request.Context(), id)
	if err != nil {
		return err
	}
	es, err := h.svc.MyLedger(c.Request.Context(), id, uuid.Nil, 50)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, myPoints{Balance: bal, Entries: es})
	return nil
}

type membershipRequest struct {
	Phone string `json:"phone" maxlen:"32"`
	AppID string `json:"app_id" maxlen:"32"`
}

// postMembership: the signed-in consumer joins (201), or is a member already (200).
func (h *HTTP) postMembership(c *gin.Context) error {
	var r membershipRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	m, created, err := h.svc.JoinSignedIn(c.Request.Context(), identity.ConsumerOf(c), r.AppID, r.Phone)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.JSON(status, m)
	return nil
}
