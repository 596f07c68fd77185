package main

import (
	"context"
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tandemcrm/tandem/shared/httpx"
)

//go:embed openapi.yaml
var openAPIDoc []byte

// router builds the whole HTTP surface: platform endpoints, then every domain's routes.
func (a *app) router() *gin.Engine {
	e := httpx.New(httpx.Options{Log: a.log, BodyLimit: a.cfg.BodyLimit, Registry: a.reg})
	httpx.Health(e,
		httpx.Check{Name: "postgres", Probe: func(ctx context.Context) error { return a.db.Ping(ctx) }},
		httpx.Check{Name: "redis", Probe: func(ctx context.Context) error { return a.redis.Ping(ctx).Err() }},
	)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(a.reg, promhttp.HandlerOpts{Registry: a.reg})))
	e.GET("/api/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml; charset=utf-8", openAPIDoc) })
	return e
}
