package consumer

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// api is the consumer domain's API: members and points for growth operators, and the
// mini-program's own routes for signed-in consumers.
type api struct{ svc *Service }

// mountAPI adds the routes under /api/v1/consumer.
func (s *Service) mountAPI(rt domain.Routers) {
	h := api{svc: s}
	g := rt.Staff.Group("/consumer")
	// The service checks every permission; the guards in front only refuse a caller
	// without the permission before the body is read.
	g.GET("/members", identity.Require(identity.PermMemberRead), identity.Handle(h.listMembers))
	g.GET("/members/:id", identity.Require(identity.PermMemberRead), identity.Handle(h.getMember))
	g.GET("/members/:id/points", identity.Require(identity.PermMemberRead), identity.Handle(h.listPoints))
	g.POST("/members/:id/points/adjustments", identity.Require(identity.PermPointsAdjust), rt.Idempotent, identity.Handle(h.postAdjustment))
	g.GET("/members/:id/lots", identity.Require(identity.PermMemberRead), identity.Handle(h.memberLots))
	g.GET("/points/program", identity.Require(identity.PermMemberRead), identity.Read(h.svc.Program))
	g.PUT("/points/program", identity.Require(identity.PermPointsAdjust), identity.Write(http.StatusOK, h.svc.SetProgram))
	g.GET("/points/liability", identity.Require(identity.PermMemberRead), identity.Read(h.svc.Liability))
	me := rt.Consumer.Group("/consumer/me")
	me.GET("/points", identity.HandleConsumer(h.myPoints))
	me.POST("/points/redemptions", rt.Idempotent, identity.HandleConsumer(h.postRedemption))
	me.POST("/membership", identity.HandleConsumer(h.postMembership))
	s.mountMoreAPI(rt, h)
	s.mountCouponAPI(rt, h)
}

func (h api) listMembers(c *gin.Context, p *identity.Principal) error {
	after, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	ms, err := h.svc.ListMembers(c.Request.Context(), p, after, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(ms, httpx.NextAfter(ms, limit, func(m Member) uuid.UUID { return m.ID })))
	return nil
}

func (h api) getMember(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	m, err := h.svc.GetMember(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}

func entriesPage(c *gin.Context, es []Entry, limit int) {
	c.JSON(http.StatusOK, httpx.PageOf(es, httpx.NextAfter(es, limit, func(e Entry) uuid.UUID { return e.ID })))
}

func (h api) listPoints(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	before, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	es, err := h.svc.Ledger(c.Request.Context(), p, id, before, limit)
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

func (h api) postAdjustment(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	var in adjustmentRequest
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	adj, err := h.svc.Adjust(c.Request.Context(), p, id, in.Delta, in.Key, in.Reason)
	if err != nil {
		return err
	}
	if !adj.Applied { // over the limit: waiting for another's approval
		c.JSON(http.StatusAccepted, adj)
		return nil
	}
	m, err := h.svc.GetMember(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, m)
	return nil
}

type myPoints struct {
	PointsView
	Entries []Entry `json:"entries"`
}

func (h api) myPoints(c *gin.Context, consumer uuid.UUID) error {
	v, err := h.svc.MyPoints(c.Request.Context(), consumer)
	if err != nil {
		return err
	}
	es, err := h.svc.MyLedger(c.Request.Context(), consumer, uuid.Nil, 50)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, myPoints{PointsView: v, Entries: es})
	return nil
}

type membershipRequest struct {
	Phone string `json:"phone" maxlen:"32"`
	AppID string `json:"app_id" maxlen:"32"`
}

// postMembership: the signed-in consumer joins (201), or is a member already (200).
func (h api) postMembership(c *gin.Context, consumer uuid.UUID) error {
	var r membershipRequest
	if err := httpx.BindJSON(c, &r); err != nil {
		return err
	}
	m, created, err := h.svc.JoinSignedIn(c.Request.Context(), consumer, r.AppID, r.Phone)
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
