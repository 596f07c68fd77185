package marketing

import (
	"bufio"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// api is marketing's staff API; the service checks permissions.
type api struct{ svc *Service }

// mountAPI adds the routes under /marketing.
func (s *Service) mountAPI(rt domain.Routers) {
	h := api{svc: s}
	r := rt.Staff.Group("/marketing")
	r.POST("/segments/count", identity.Handle(h.count))
	r.GET("/segments/vocabulary", identity.Handle(h.vocabulary))
	r.GET("/segments", identity.Handle(h.listSegments))
	r.POST("/segments", identity.Handle(h.saveSegment))
	r.GET("/segments/:id", identity.Handle(h.getSegment))
	r.PUT("/segments/:id", identity.Handle(h.saveSegment))
	r.GET("/segments/:id/export", identity.Handle(h.exportSegment))
	r.GET("/segments/:id/members/:consumer", identity.Handle(h.isMember))
	r.GET("/index", identity.Handle(h.indexStats))
	r.GET("/campaigns", identity.Handle(h.listCampaigns))
	r.POST("/campaigns", identity.Handle(h.createCampaign))
	r.GET("/campaigns/:id", identity.Handle(h.getCampaign))
	r.POST("/campaigns/:id/audience", identity.Handle(h.changeAudience))
	r.POST("/campaigns/:id/:action", identity.Handle(h.campaignAction))
	r.GET("/referral-settings", identity.Handle(h.referralSettings))
	r.PUT("/referral-settings", identity.Write(http.StatusOK, h.svc.SetReferralSettings))
	me := rt.Consumer.Group("/marketing/me")
	me.GET("/referral-code", identity.HandleConsumer(h.referralCode))
	me.POST("/referral", identity.HandleConsumer(h.acceptInvite))
}

// referralCode is the consumer's invite code (?device_id= the asking device).
func (h api) referralCode(c *gin.Context, consumer uuid.UUID) error {
	code, err := h.svc.ReferralCode(c.Request.Context(), consumer, c.Query("device_id"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"code": code})
	return nil
}

func (h api) acceptInvite(c *gin.Context, consumer uuid.UUID) error {
	var b struct {
		Code     string `json:"code"`
		DeviceID string `json:"device_id"`
	}
	if err := httpx.BindJSON(c, &b); err != nil {
		return err
	}
	if err := h.svc.AcceptInvite(c.Request.Context(), consumer, b.Code, b.DeviceID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// referralSettings is the referral programme: its settings and figures.
func (h api) referralSettings(c *gin.Context, p *identity.Principal) error {
	prog, err := h.svc.GetReferralProgramme(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"settings": prog.Settings, "pending": prog.Figures.Pending, "rewarded": prog.Figures.Rewarded,
		"void": prog.Figures.Void})
	return nil
}

func pathID(c *gin.Context, name, what string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, errs.NotFound(what)
	}
	return id, nil
}

func (h api) count(c *gin.Context, p *identity.Principal) error {
	var rule Rule
	if err := httpx.BindJSON(c, &rule); err != nil {
		return err
	}
	n, err := h.svc.CountRule(c.Request.Context(), p, rule)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, n)
	return nil
}

func (h api) vocabulary(c *gin.Context, p *identity.Principal) error {
	v, err := h.svc.Vocabulary(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

func (h api) indexStats(c *gin.Context, p *identity.Principal) error {
	st, err := h.svc.IndexStats(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (h api) listSegments(c *gin.Context, p *identity.Principal) error {
	list, err := h.svc.ListSegments(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": list})
	return nil
}

type segmentBody struct {
	Name string `json:"name"`
	Rule Rule   `json:"rule"`
}

func (h api) saveSegment(c *gin.Context, p *identity.Principal) error {
	id := uuid.Nil
	if c.Param("id") != "" {
		var err error
		if id, err = pathID(c, "id", "marketing.segment"); err != nil {
			return err
		}
	}
	var b segmentBody
	if err := httpx.BindJSON(c, &b); err != nil {
		return err
	}
	sg, err := h.svc.SaveSegment(c.Request.Context(), p, id, b.Name, b.Rule)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if id == uuid.Nil {
		status = http.StatusCreated
	}
	c.JSON(status, sg)
	return nil
}

func (h api) getSegment(c *gin.Context, p *identity.Principal) error {
	id, err := pathID(c, "id", "marketing.segment")
	if err != nil {
		return err
	}
	sg, err := h.svc.GetSegment(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, sg)
	return nil
}

// exportSegment streams the members' ids as CSV, one per line.
func (h api) exportSegment(c *gin.Context, p *identity.Principal) error {
	id, err := pathID(c, "id", "marketing.segment")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	// Refused or missing before the header goes out: after it, an error is too late.
	if err := p.RequireAll(identity.PermMemberRead, objSegment); err != nil {
		return err
	}
	if _, err := h.svc.segment(ctx, id); err != nil {
		return err
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="segment-`+id.String()+`.csv"`)
	w := bufio.NewWriterSize(c.Writer, 64<<10)
	w.WriteString("consumer_id\n")
	err = h.svc.ExportSegment(ctx, p, id, func(m uuid.UUID) error {
		_, err := w.WriteString(m.String() + "\n")
		return err
	})
	if err != nil {
		h.svc.log.ErrorContext(ctx, "marketing: segment export broke off", "segment", id, "err", err)
		return nil // the header is out: the truncated file is all the client gets
	}
	return w.Flush()
}

func (h api) isMember(c *gin.Context, p *identity.Principal) error {
	id, err := pathID(c, "id", "marketing.segment")
	if err != nil {
		return err
	}
	member, err := pathID(c, "consumer", "marketing.member")
	if err != nil {
		return err
	}
	in, err := h.svc.IsMember(c.Request.Context(), p, id, member)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"member": in})
	return nil
}

func (h api) listCampaigns(c *gin.Context, p *identity.Principal) error {
	list, err := h.svc.ListCampaigns(c.Request.Context(), p)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": list})
	return nil
}

func (h api) createCampaign(c *gin.Context, p *identity.Principal) error {
	var in CampaignInput
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	cp, err := h.svc.CreateCampaign(c.Request.Context(), p, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, cp)
	return nil
}

func (h api) getCampaign(c *gin.Context, p *identity.Principal) error {
	id, err := pathID(c, "id", "marketing.campaign")
	if err != nil {
		return err
	}
	cp, runs, err := h.svc.CampaignResults(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"campaign": cp, "runs": runs})
	return nil
}

func (h api) changeAudience(c *gin.Context, p *identity.Principal) error {
	id, err := pathID(c, "id", "marketing.campaign")
	if err != nil {
		return err
	}
	var b struct {
		SegmentID uuid.UUID `json:"segment_id"`
	}
	if err := httpx.BindJSON(c, &b); err != nil {
		return err
	}
	if err := h.svc.ChangeAudience(c.Request.Context(), p, id, b.SegmentID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// campaignAction is POST /campaigns/:id/{pause,resume,stop,copy,start}.
func (h api) campaignAction(c *gin.Context, p *identity.Principal) error {
	id, err := pathID(c, "id", "marketing.campaign")
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	switch c.Param("action") {
	case "pause":
		err = h.svc.PauseCampaign(ctx, p, id)
	case "resume":
		err = h.svc.ResumeCampaign(ctx, p, id)
	case "stop":
		err = h.svc.StopCampaign(ctx, p, id)
	case "start":
		err = h.svc.StartCampaignNow(ctx, p, id)
	case "copy":
		cp, err := h.svc.CopyCampaign(ctx, p, id)
		if err != nil {
			return err
		}
		c.JSON(http.StatusCreated, cp)
		return nil
	default:
		return errs.NotFound("marketing.action")
	}
	if err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
