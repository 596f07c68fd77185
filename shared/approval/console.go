package approval

import (
	"embed"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// Console pages (待办): the caller's to-do list of requests to decide, the requests
// they asked for, and one request's page with its approve and reject forms.

//go:embed console
var consoleFiles embed.FS

func (s *Service) pages() web.Pages {
	files := web.EmbeddedDir(consoleFiles, "console")
	return web.Pages{
		Domain: "approval", Templates: files, Messages: files,
		// Everyone signed in to the console may have requests of their own or to decide.
		Nav: []web.NavItem{{ID: "nav-todos", Label: "nav.todos", Href: "/todos", Perms: []identity.Permission{identity.PermDashboardView}}},
		Mount: func(r gin.IRouter, w *web.Console) {
			pg := consolePages{svc: s, w: w}
			r.GET("/todos", w.Handle(pg.list))
			r.GET("/todos/:id", w.Handle(pg.request))
			r.POST("/todos/:id", w.Handle(pg.decide))
		},
	}
}

type consolePages struct {
	svc *Service
	w   *web.Console
}

func columns(v *web.View) []web.Column[Request] {
	return []web.Column[Request]{
		{Header: "approval.title", Cell: func(r Request) string { return r.Title }, Link: func(r Request) string { return "/todos/" + r.ID.String() }},
		{Header: "approval.kind", Cell: func(r Request) string { return v.T("approval.kind_" + r.Kind) }},
		{Header: "approval.requested_by", Cell: func(r Request) string { return r.RequestedByLogin }},
		{Header: "approval.requested_at", Cell: func(r Request) string { return v.Time(&r.RequestedAt) }},
		{Header: "approval.state", Cell: func(r Request) string { return v.T("approval.state_" + string(r.State)) }},
		{Header: "approval.decided_by", Cell: func(r Request) string { return r.DecidedByLogin }},
		{Header: "approval.comment", Cell: func(r Request) string { return r.Comment }},
	}
}

type listPage struct {
	Box   string
	Boxes []web.Option
	List  web.List
}

func (pg consolePages) list(c *gin.Context, v *web.View) error {
	box := Box(c.DefaultQuery("box", string(BoxTodo)))
	var after uuid.UUID
	if cur := c.Query("cursor"); cur != "" {
		var err error
		if after, err = uuid.Parse(cur); err != nil {
			return errs.Invalidf("cursor", "the cursor is the next_cursor of a previous page")
		}
	}
	page, err := pg.svc.List(c.Request.Context(), v.Me, Filter{Box: box, After: after})
	if err != nil {
		return err
	}
	var boxes []web.Option
	for _, b := range []Box{BoxTodo, BoxDecided, BoxMine} {
		boxes = append(boxes, web.Option{Value: string(b), Label: v.T("approval.box_" + string(b)), Selected: b == box})
	}
	filters := []web.Filter{{Name: "box", Label: "approval.box", Type: "select", Value: string(box), Options: boxes}}
	list := web.NewList("todo-list", columns(v), page.Requests, filters, c.Request.URL, page.NextCursor, false)
	return pg.w.Show(c, v, "approval/todos", "approval.todos_title", listPage{Box: string(box), Boxes: boxes, List: list})
}

type requestPage struct {
	R          Request
	Payload    string
	CanDecide  bool
	Requested  string
	DecidedAt  string
	StateLabel string
}

func (pg consolePages) request(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("approval.request")
	}
	r, err := pg.svc.Get(c.Request.Context(), v.Me, id)
	if err != nil {
		return err
	}
	return pg.w.Show(c, v, "approval/request", "approval.request_title", requestPage{R: r, Payload: string(r.Payload),
		CanDecide: r.State == StatePending && r.IsApprover(v.Me), Requested: v.Time(&r.RequestedAt), DecidedAt: v.Time(r.DecidedAt),
		StateLabel: v.T("approval.state_" + string(r.State))})
}

func (pg consolePages) decide(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound("approval.request")
	}
	d := Decision{Approve: c.PostForm("decision") == "approve", Comment: c.PostForm("comment")}
	if _, err := pg.svc.Decide(c.Request.Context(), v.Me, id, d); err != nil {
		return pg.w.Rerender(c, v, err, pg.request)
	}
	flash := "approval.rejected"
	if d.Approve {
		flash = "approval.approved"
	}
	return pg.w.Redirect(c, "/todos", flash)
}
