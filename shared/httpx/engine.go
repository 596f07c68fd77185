// Package httpx is Tandem's HTTP edge on gin: request ids, access log, panic recovery,
// body limits, Prometheus metrics, the one error renderer, JSON binding that names the
// bad field, health checks, and Idempotency-Key support. Domains' http.go files use it;
// nothing else renders errors.
package httpx

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Options configure New.
type Options struct {
	Log       *slog.Logger
	BodyLimit int64                 // bytes; 1 MiB when 0
	Registry  prometheus.Registerer // HTTP metrics are registered here when set
}

// New returns a gin engine with the platform middleware installed, in this order:
// request id, metrics, access log, recovery, body limit, the input contract on path,
// query and form parameters (input.go). Unknown routes and methods
// answer with the JSON error object.
func New(o Options) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.BodyLimit <= 0 {
		o.BodyLimit = 1 << 20
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true // c.Request.Context() values reach handlers' ctx
	e.Use(requestID())
	if o.Registry != nil {
		e.Use(newHTTPMetrics(o.Registry).middleware())
	}
	e.Use(accessLog(o.Log), recovery(o.Log), bodyLimit(o.BodyLimit), checkParams())
	e.NoRoute(RouteNotFound)
	e.NoMethod(func(c *gin.Context) {
		e := errs.E(errs.KindInvalid, "method_not_allowed", "method "+c.Request.Method+" is not allowed on "+c.Request.URL.Path)
		writeError(c, http.StatusMethodNotAllowed, e, e)
	})
	return e
}

// RouteNotFound answers a request no route matches with the JSON error object.
func RouteNotFound(c *gin.Context) {
	Render(c, errs.E(errs.KindNotFound, CodeRouteNotFound, "no such endpoint: "+c.Request.Method+" "+c.Request.URL.Path))
}

// CodeRouteNotFound: no route matches the request.
const CodeRouteNotFound = "route_not_found"

// Handler adapts a handler that returns an error: the error, if any, is rendered once.
func Handler(h func(c *gin.Context) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			Render(c, err)
		}
	}
}

func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !log.Enabled(c.Request.Context(), slog.LevelInfo) {
			c.Next() // nothing would be written: skip the clock, the client address and the attributes
			return
		}
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.String("route", route),
			slog.Int("status", c.Writer.Status()),
			slog.Int("bytes", c.Writer.Size()),
			slog.Duration("took", time.Since(start)),
			slog.String("remote", c.ClientIP()))
	}
}
