package consumer_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

func TestHTTP(t *testing.T) {
	w := newWorld(t)
	demo, err := w.ids.SeedDemo(w.ctx, "Tandem-demo-2025")
	if err != nil {
		t.Fatal(err)
	}
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	staff := e.Group("/api/v1", func(c *gin.Context) { // stands in for identity's: the caller named by a test header
		if login := c.GetHeader("X-Test-Login"); login != "" {
			p, err := w.ids.Principal(w.ctx, demo.Users[login])
			if err != nil {
				t.Error(err)
			}
			c.Request = c.Request.WithContext(identity.WithPrincipal(c.Request.Context(), p))
		}
	})
	consumers := e.Group("/api/v1", func(c *gin.Context) { // stands in for identity's Authenticate of consumers
		if id, err := uuid.Parse(c.GetHeader("X-Test-Consumer")); err == nil {
			c.Request = c.Request.WithContext(identity.WithConsumer(c.Request.Context(), id))
		}
	})
	idem := &httpx.Idempotency{DB: w.db, Caller: identity.Caller}
	domain.Collect(w.svc).MountRoutes(domain.Routers{Staff: staff, Consumer: consumers, Public: consumers, Idempotent: idem.Middleware()})
	id, err := consumer.Demo(w.ctx, w.svc, appID)
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string, h map[string]string) (int, map[string]any) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	growth := map[string]string{"X-Test-Login": "growth", "Idempotency-Key": "adj-1"}
	st, before := call("GET", "/api/v1/consumer/members/"+id.String(), "", growth)
	if st != 200 || before["phone"] != "138****8000" {
		t.Fatalf("member: %d %v", st, before)
	}
	had := before["spendable"].(float64)
	if st, _ := call("GET", "/api/v1/consumer/members/"+id.String(), "", map[string]string{"X-Test-Login": "finance"}); st != http.StatusForbidden {
		t.Fatalf("finance reads a member: %d", st)
	}
	if st, m := call("POST", "/api/v1/consumer/members/"+id.String()+"/points/adjustments", `{"delta":30,"key":"welcome","reason":"欢迎"}`, growth); st != 201 || m["spendable"] != had+30 {
		t.Fatalf("adjust: %d %v", st, m)
	}
	if st, m := call("GET", "/api/v1/consumer/me/points", "", map[string]string{"X-Test-Consumer": id.String()}); st != 200 || m["balance"] != had+30 || len(m["lots"].([]any)) == 0 {
		t.Fatalf("my points: %d %v", st, m)
	}
	if st, _ := call("GET", "/api/v1/consumer/me/points", "", nil); st != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", st)
	}
	if again, err := consumer.Demo(w.ctx, w.svc, appID); err != nil || again != id {
		t.Fatalf("demo again: %s, %v", again, err)
	}
}
