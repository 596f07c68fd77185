package main

import (
	"context"
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/reconciliation"
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
		httpx.Check{Name: "outbox", Detail: func(ctx context.Context) (any, error) { return a.outboxMetrics.Undelivered(ctx) }},
	)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg})))
	e.GET("/api/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml; charset=utf-8", openAPIDoc) })

	// Who is calling: a bearer token or a session cookie, on the API and the console
	// (not on the platform endpoints above, which a scraper or a probe calls).
	auth := identity.NewHTTP(a.identity, a.cfg.CookieSecure)
	if err := e.SetTrustedProxies(splitList(a.cfg.TrustedProxies)); err != nil {
		a.log.Error("TANDEM_TRUSTED_PROXIES ignored", "err", err)
	}
	api := e.Group("/api/v1", auth.Authenticate())
	auth.Mount(api)
	signedIn := api.Group("", auth.RequireAPI())
	merchant.NewHTTP(a.merchant).Mount(signedIn)
	// reconciliation checks no permission itself: recon.run.read is put in front here.
	reconciliation.NewHTTP(a.recon).Mount(signedIn.Group("/reconciliation", identity.Require(identity.PermReconRead)))
	// POSTs that move money or points replay their answer for a repeated Idempotency-Key.
	idem := &httpx.Idempotency{DB: a.db, Caller: identity.Caller}
	// Consumers sign in from the mini-program (POST /api/v1/consumer/sessions) and call
	// their own routes (/me/...) with the consumer token; staff tokens do not reach them.
	consumer.NewHTTP(a.consumer, consumer.HTTPConfig{RequireAPI: auth.RequireAPI(), Idempotency: idem}).Mount(api)
	if a.billing != nil {
		// billing's WeChat Pay notify endpoints take no credentials: WeChat's signature is theirs.
		billing.NewHTTP(a.billing, billing.HTTPConfig{RequireAPI: auth.RequireAPI(), Idempotency: idem}).Mount(api)
		matching.NewHTTP(a.matching).Mount(api)
	}
	if err := a.mountConsole(e.Group("", auth.Authenticate()), auth); err != nil {
		// The templates and catalogues are embedded: only a broken build gets here.
		panic(err)
	}
	return e
}
