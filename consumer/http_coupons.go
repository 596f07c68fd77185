package consumer

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

func (s *Service) mountCouponAPI(rt domain.Routers, h api) {
	g := rt.Staff.Group("/consumer")
	g.GET("/coupon-templates", identity.Require(identity.PermMemberRead), identity.Handle(h.listCouponTemplates))
	g.POST("/coupon-templates", identity.Require(identity.PermCampaignWrite), identity.Write(http.StatusCreated, h.svc.CreateCouponTemplate))
	g.GET("/coupon-batches", identity.Require(identity.PermMemberRead), identity.Handle(h.listCouponBatches))
	g.POST("/coupon-batches", identity.Require(identity.PermCampaignWrite), identity.Write(http.StatusCreated, h.svc.CreateCouponBatch))
	g.POST("/coupon-batches/:id/issues", identity.Require(identity.PermCampaignWrite), rt.Idempotent, identity.Handle(h.postCouponIssue))
	g.GET("/members/:id/coupons", identity.Require(identity.PermMemberRead), identity.Handle(h.memberCoupons))
	me := rt.Consumer.Group("/consumer/me")
	me.GET("/coupons", identity.HandleConsumer(h.myCoupons))
	me.GET("/coupons/claimable", identity.HandleConsumer(h.claimableCoupons))
	me.POST("/coupons", rt.Idempotent, identity.HandleConsumer(h.claimCoupon))
}

func (h api) listCouponTemplates(c *gin.Context, p *identity.Principal) error {
	ts, err := h.svc.CouponTemplates(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": ts})
	return nil
}

func (h api) listCouponBatches(c *gin.Context, p *identity.Principal) error {
	bs, err := h.svc.CouponBatches(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": bs})
	return nil
}

type issueRequest struct {
	ConsumerID uuid.UUID `json:"consumer_id"`
	Key        string    `json:"key"`
}

func (h api) postCouponIssue(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "consumer.coupon_batch")
	if err != nil {
		return err
	}
	if _, err := memberScope(p, identity.PermCampaignWrite); err != nil {
		return err
	}
	var in issueRequest
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	cp, err := h.svc.IssueCouponByHand(c.Request.Context(), p, id, in.ConsumerID, in.Key)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, cp)
	return nil
}

func (h api) memberCoupons(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	cs, err := h.svc.MemberCoupons(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": cs})
	return nil
}

func (h api) myCoupons(c *gin.Context, consumer uuid.UUID) error {
	cs, err := h.svc.MyCoupons(c.Request.Context(), consumer)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": cs})
	return nil
}

func (h api) claimableCoupons(c *gin.Context, consumer uuid.UUID) error {
	cs, err := h.svc.ClaimableCoupons(c.Request.Context(), consumer)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": cs})
	return nil
}

type claimRequest struct {
	BatchID uuid.UUID `json:"batch_id"`
}

func (h api) claimCoupon(c *gin.Context, consumer uuid.UUID) error {
	var in claimRequest
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	cp, err := h.svc.ClaimCoupon(c.Request.Context(), consumer, in.BatchID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, cp)
	return nil
}
