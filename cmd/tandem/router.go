package main

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

//go:embed openapi.yaml
var openAPIDoc []byte

// router builds the whole HTTP surface: platform endpoints, then every domain's routes.
func (a *app) router() *gin.Engine {
	e := httpx.New(httpx.Options{Log: a.log, BodyLimit: a.cfg.BodyLimit, Registry: a.reg})
	httpx.Health(e,
		httpx.Check{Name: "postgres", Probe: func(ctx context.Context) error { return a.db.Ping(ctx) }},
		httpx.Check{Name: "redis", Probe: func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }},
		// The backlog query runs at most once every 5 s, however often probes come.
		httpx.Check{Name: "outbox", Detail: httpx.CachedDetail(5*time.Second, time.Now,
			func(ctx context.Context) (any, error) { return a.outboxMetrics.Undelivered(ctx) })},
	)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg})))
	e.GET("/api/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml; charset=utf-8", openAPIDoc) })

	// Who is calling: a bearer token or a session cookie, on the API and the console
	// (not on the platform endpoints above, which a scraper or a probe calls).
	auth := identity.NewHTTP(a.identity, a.cfg.CookieSecure)
	if err := e.SetTrustedProxies(splitList(a.cfg.TrustedProxies)); err != nil {
		a.log.Error("TANDEM_TRUSTED_PROXIES ignored", "err", err)
	}
	reg := a.registry()
	console, err := a.console(auth, reg)
	if err != nil {
		// The templates and catalogues are embedded: only a broken build gets here.
		panic(err)
	}
	// Refusals read in the caller's language when it sends Accept-Language, worded by
	// the console's catalogues.
	api := e.Group("/api/v1", httpx.Translate(console), auth.Authenticate())
	auth.Mount(api)
	// POSTs that move money or points replay their answer for a repeated Idempotency-Key.
	idem := &httpx.Idempotency{DB: a.db, Caller: identity.Caller}
	reg.MountRoutes(domain.Routers{
		Staff:      api.Group("", auth.RequireAPI()),
		Consumer:   api.Group("", identity.RequireConsumer()),
		Public:     api,
		Idempotent: idem.Middleware(),
	})
	a.mountConsole(e, e.Group("", auth.Authenticate()), console)
	return e
}
