package main

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynqmon"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
)

// console is the web console with every domain's pages and catalogues.
func (a *app) console(auth *identity.HTTP, reg *domain.Registry) (*web.Console, error) {
	console, err := web.New(a.identity, auth, a.log)
	if err != nil {
		return nil, err
	}
	for _, p := range reg.AllPages() {
		if err := console.Register(p); err != nil {
			return nil, err
		}
	}
	return console, nil
}

// mountConsole serves the console's pages and, for admins, the asynq dashboard. A
// console path no route matches gets the HTML error page.
func (a *app) mountConsole(engine *gin.Engine, e *gin.RouterGroup, console *web.Console) {
	console.Mount(e)
	engine.NoRoute(console.NotFound(httpx.RouteNotFound))
	mon := asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: a.queue})
	queues := e.Group("/admin/queues", identity.Require(identity.PermQueuesAdmin), sameOrigin())
	queues.Any("", gin.WrapH(mon))
	queues.Any("/*path", gin.WrapH(mon))
}

// sameOrigin refuses unsafe requests from another origin: asynqmon's own UI sends no
// CSRF token, so its writes are accepted only from pages served by this host.
func sameOrigin() gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			c.Next()
			return
		}
		origin := c.GetHeader("Origin")
		if origin == "" {
			origin = c.GetHeader("Referer")
		}
		u, err := url.Parse(origin)
		if origin == "" || err != nil || u.Host != c.Request.Host {
			httpx.Render(c, errs.E(errs.KindForbidden, "identity.cross_origin", "cross-origin writes are refused"))
			return
		}
		c.Next()
	}
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}
