package merchant_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// api serves the merchant routes with the caller named by X-Test-Login (standing in
// for identity's authentication, which cmd/tandem's tests cover).
func api(t *testing.T, w *world) func(login, method, path string, body any) (int, map[string]any) {
	e := httpx.New(httpx.Options{})
	g := e.Group("/api/v1", func(c *gin.Context) {
		if login := c.GetHeader("X-Test-Login"); login != "" {
			p := w.p(t, login)
			c.Request = c.Request.WithContext(identity.WithPrincipal(c.Request.Context(), p))
		}
	})
	domain.Collect(w.svc).MountRoutes(domain.Routers{Staff: g})
	return func(login, method, path string, body any) (int, map[string]any) {
		t.Helper()
		var rd *bytes.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		} else {
			rd = bytes.NewReader(nil)
		}
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Test-Login", login)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
}

func errCode(body map[string]any) (code, field string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	field, _ = e["field"].(string)
	return code, field
}

func TestHTTPStory(t *testing.T) {
	w := newWorld(t, merchant.Config{})
	call := api(t, w)
	lead := map[string]any{"name": "南翔小笼", "category": "restaurant", "address": "豫园路85号", "lat": 31.2272, "lng": 121.492,
		"phone": "+86 138-0013-8000", "city": "上海"}
	st, body := call("sh1.rep", "POST", "/api/v1/merchant/leads", lead)
	if st != http.StatusCreated || body["phone"] != "138****8000" {
		t.Fatalf("create: %d %v", st, body)
	}
	id := body["id"].(string)
	lead["phone"] = "13800138000"
	st, body = call("sh2.rep", "POST", "/api/v1/merchant/leads", lead)
	if code, field := errCode(body); st != http.StatusConflict || code != merchant.CodeDuplicate || field != "phone" {
		t.Fatalf("duplicate: %d %v", st, body)
	}
	st, body = call("sh1.lead", "GET", "/api/v1/merchant/pool", nil)
	if items := body["items"].([]any); st != http.StatusOK || len(items) != 1 {
		t.Fatalf("pool: %d %v", st, body)
	}
	// Another team's rep does not see team 1's pool (issue 12: pools per org unit).
	if st, body = call("sh2.rep", "GET", "/api/v1/merchant/pool", nil); st != http.StatusOK || len(body["items"].([]any)) != 0 {
		t.Fatalf("other team's pool: %d %v", st, body)
	}
	if st, body = call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/claim", nil); st != http.StatusOK || body["phone"] != "+86 138-0013-8000" {
		t.Fatalf("claim: %d %v", st, body)
	}
	if st, _ = call("sh2.rep", "GET", "/api/v1/merchant/leads/"+id, nil); st != http.StatusNotFound {
		t.Fatalf("other rep reads: %d", st)
	}
	if st, _ = call("finance", "GET", "/api/v1/merchant/leads", nil); st != http.StatusForbidden {
		t.Fatalf("finance lists: %d", st)
	}
	if st, _ = call("finance", "GET", "/api/v1/merchant/leads/"+id, nil); st != http.StatusNotFound {
		t.Fatalf("finance reads: %d", st)
	}
	if st, _ = call("", "GET", "/api/v1/merchant/leads", nil); st != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", st)
	}
	st, body = call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/check-ins", map[string]any{"lat": 31.25, "lng": 121.492})
	if code, _ := errCode(body); st != http.StatusUnprocessableEntity || code != merchant.CodeTooFar {
		t.Fatalf("far check-in: %d %v", st, body)
	}
	if st, body = call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/check-ins", map[string]any{"lat": 31.2273, "lng": 121.492}); st != http.StatusCreated {
		t.Fatalf("check-in: %d %v", st, body)
	}
	if st, body = call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/follow-ups", map[string]any{"channel": "visit", "note": "met"}); st != http.StatusCreated {
		t.Fatalf("follow-up: %d %v", st, body)
	}
	for _, s := range []string{"visited", "negotiating"} {
		if st, body = call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/stage", map[string]any{"stage": s}); st != http.StatusOK {
			t.Fatalf("stage %s: %d %v", s, st, body)
		}
	}
	contract := map[string]any{"commission_rate": "150%", "settlement_cycle": "T+1", "starts_on": "2026-01-01", "ends_on": "2027-01-01"}
	st, body = call("sh.manager", "POST", "/api/v1/merchant/leads/"+id+"/contract", contract)
	if _, field := errCode(body); st != http.StatusUnprocessableEntity || field != "commission_rate" {
		t.Fatalf("bad rate: %d %v", st, body)
	}
	contract["commission_rate"] = "6.5%"
	if st, body = call("sh.manager", "POST", "/api/v1/merchant/leads/"+id+"/contract", contract); st != http.StatusCreated || body["commission_rate"] != "6.5%" {
		t.Fatalf("contract: %d %v", st, body)
	}
	if st, body = call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/onboarding", nil); st != http.StatusOK || body["state"] != "auditing" {
		t.Fatalf("submit: %d %v", st, body)
	}
	st, body = call("reviewer", "POST", "/api/v1/merchant/leads/"+id+"/onboarding/approve", map[string]any{"sub_mchid": "1900000109"})
	m, _ := body["merchant"].(map[string]any)
	if st != http.StatusOK || m["status"] != "live" || body["owner_invitation"] == "" {
		t.Fatalf("approve: %d %v", st, body)
	}
	if st, body = call("sh1.rep", "GET", "/api/v1/merchant/merchants/"+m["id"].(string), nil); st != http.StatusOK || body["commission_rate"] != "6.5%" {
		t.Fatalf("merchant: %d %v", st, body)
	}
	if st, body = call("sh1.rep", "GET", "/api/v1/merchant/leads/"+id+"/history", nil); st != http.StatusOK || len(body["stages"].([]any)) != 6 {
		t.Fatalf("history: %d %v", st, body)
	}
	if st, _ = call("sh1.rep", "GET", "/api/v1/merchant/leads/not-an-id", nil); st != http.StatusNotFound {
		t.Fatalf("malformed id: %d", st)
	}
}
