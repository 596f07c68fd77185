package consumer

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

func (h api) memberLots(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	v, err := h.svc.MemberPoints(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

func (h api) postRedemption(c *gin.Context, consumer uuid.UUID) error {
	var in RedeemRequest
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.Redeem(c.Request.Context(), consumer, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, r)
	return nil
}
