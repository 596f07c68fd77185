package approval

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Register declares the approval API and the to-do pages (shared/domain).
func (s *Service) Register(r *domain.Registry) {
	r.Routes(s.mountAPI)
	r.Pages(s.pages())
}

type api struct{ svc *Service }

// mountAPI adds GET /approvals, GET /approvals/:id, POST /approvals/:id/approve and
// POST /approvals/:id/reject. Every signed-in staff member may call them: the service
// decides who sees and decides what.
func (s *Service) mountAPI(rt domain.Routers) {
	h := api{svc: s}
	r := rt.Staff.Group("/approvals")
	r.GET("", identity.Handle(h.list))
	r.GET("/:id", identity.Handle(h.get))
	r.POST("/:id/approve", identity.Handle(h.decide(true)))
	r.POST("/:id/reject", identity.Handle(h.decide(false)))
}

func (h api) list(c *gin.Context, p *identity.Principal) error {
	after, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	page, err := h.svc.List(c.Request.Context(), p, Filter{Box: Box(c.DefaultQuery("box", string(BoxTodo))), Kind: c.Query("kind"), After: after, Limit: limit})
	if err != nil {
		return err
	}
	next, _ := uuid.Parse(page.NextCursor)
	c.JSON(http.StatusOK, httpx.PageOf(page.Requests, next))
	return nil
}

func (h api) get(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, "approval.request")
	if err != nil {
		return err
	}
	r, err := h.svc.Get(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, r)
	return nil
}

type decisionRequest struct {
	Comment string `json:"comment"`
}

func (h api) decide(approve bool) func(c *gin.Context, p *identity.Principal) error {
	return func(c *gin.Context, p *identity.Principal) error {
		id, err := httpx.PathID(c, "approval.request")
		if err != nil {
			return err
		}
		var in decisionRequest
		if err := httpx.BindJSON(c, &in); err != nil {
			return err
		}
		r, err := h.svc.Decide(c.Request.Context(), p, id, Decision{Approve: approve, Comment: in.Comment})
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, r)
		return nil
	}
}
