package consumer

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// mountMoreAPI adds member 360, profile and tag routes (and, in their files, tiers
// and coupons).
func (s *Service) mountMoreAPI(rt domain.Routers, h api) {
	g := rt.Staff.Group("/consumer")
	g.GET("/members/search", identity.Require(identity.PermMemberRead), identity.Handle(h.searchMembers))
	g.GET("/members/:id/360", identity.Require(identity.PermMemberRead), identity.Handle(h.member360))
	g.PUT("/members/:id/profile", identity.Require(identity.PermMemberWrite), identity.Handle(h.putProfile))
	g.POST("/members/:id/tags", identity.Require(identity.PermMemberWrite), identity.Handle(h.postTag))
	g.DELETE("/members/:id/tags/:tag", identity.Require(identity.PermMemberWrite), identity.Handle(h.deleteTag))
	g.GET("/tags", identity.Require(identity.PermMemberRead), identity.Handle(h.listTags))
	g.POST("/tags/imports", identity.Require(identity.PermMemberWrite), identity.Handle(h.postTagImport))
	g.GET("/tiers", identity.Require(identity.PermMemberRead), identity.Read(h.svc.TierProgram))
	g.PUT("/tiers", identity.Require(identity.PermCampaignWrite), identity.Write(http.StatusOK, h.svc.SetTierProgram))
	g.GET("/members/:id/tier", identity.Require(identity.PermMemberRead), identity.Handle(h.memberTier))
	g.PUT("/members/:id/tier-floor", identity.Require(identity.PermMemberWrite), identity.Handle(h.putTierFloor))
	rt.Consumer.GET("/consumer/me/tier", identity.HandleConsumer(h.myTier))
	rt.Consumer.GET("/consumer/me/notices", identity.HandleConsumer(h.myNotices))
}

func (h api) searchMembers(c *gin.Context, p *identity.Principal) error {
	_, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	ms, err := h.svc.SearchMembers(c.Request.Context(), p, MemberSearch{Query: c.Query("q"), Tag: c.Query("tag")}, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": ms})
	return nil
}

func (h api) member360(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	m, err := h.svc.Member360(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m)
	return nil
}

func (h api) putProfile(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	var in Profile
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	if err := h.svc.SetProfile(c.Request.Context(), p, id, in); err != nil {
		return err
	}
	c.JSON(http.StatusOK, in)
	return nil
}

type tagRequest struct {
	Tag string `json:"tag"`
}

func (h api) postTag(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	var in tagRequest
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	if err := h.svc.AddTag(c.Request.Context(), p, id, in.Tag); err != nil {
		return err
	}
	tags, err := h.svc.MemberTags(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"items": tags})
	return nil
}

func (h api) deleteTag(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objMember)
	if err != nil {
		return err
	}
	if err := h.svc.RemoveTag(c.Request.Context(), p, id, c.Param("tag")); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (h api) listTags(c *gin.Context, p *identity.Principal) error {
	tags, err := h.svc.Tags(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": tags})
	return nil
}

type tagImportRequest struct {
	Tag     string   `json:"tag"`
	Ref     string   `json:"ref"`
	Members []string `json:"members"` // member ids or phones
}

func (h api) postTagImport(c *gin.Context, p *identity.Principal) error {
	var in tagImportRequest
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	if len(in.Members) == 0 {
		return errs.Invalidf("members", "name at least one member by id or phone")
	}
	res, err := h.svc.ImportTags(c.Request.Context(), p, in.Tag, strings.TrimSpace(in.Ref), in.Members)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, res)
	return nil
}
