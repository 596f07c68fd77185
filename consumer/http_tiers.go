package consumer

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

type memberTierView struct {
	TierStatus
	History []TierChange `json:"history"`
}

func (h api) memberTier(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	hist, err := h.svc.TierHistory(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	st, err := h.svc.MemberTier(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, memberTierView{TierStatus: st, History: hist})
	return nil
}

type tierFloorRequest struct {
	Level int    `json:"level"`
	Until string `json:"until"` // yyyy-MM-dd: the floor holds through that day (Asia/Shanghai)
	Note  string `json:"note"`
}

func (h api) putTierFloor(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	var in tierFloorRequest
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	day, err := time.ParseInLocation(time.DateOnly, in.Until, shanghai)
	if err != nil {
		return errs.Invalidf("until", "until is yyyy-MM-dd")
	}
	if err := h.svc.SetTierFloor(c.Request.Context(), p, id, in.Level, day.AddDate(0, 0, 1), in.Note); err != nil {
		return err
	}
	return h.memberTier(c, p)
}

func (h api) myTier(c *gin.Context, consumer uuid.UUID) error {
	st, err := h.svc.MemberTier(c.Request.Context(), consumer)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

// myNotices is the signed-in member's notices, newest first (a tier-drop notice).
func (h api) myNotices(c *gin.Context, consumer uuid.UUID) error {
	ns, err := h.svc.MyNotices(c.Request.Context(), consumer)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": ns})
	return nil
}
