package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
	"github.com/tandemcrm/tandem/shared/web"
)

// demoPages is a domain's pages as a domain registers them: a form that fails with a
// coded error, one whose code has no message, and a redirect with a flash.
func demoPages() web.Pages {
	files := fstest.MapFS{
		"form.html": {Data: []byte(`{{define "content"}}<h1 id="page-title">{{.T "demo.title"}}</h1>
<form method="post" action="/demo" data-confirm="{{.T "form.confirm"}}"><input name="name" value="{{.Value "name"}}"></form>{{end}}`)},
		"zh-CN.json": {Data: []byte(`{"demo.title":"示例","nav.demo":"示例","error.demo.too_long":"名称太长（最多 {{.Message}}）","field.name":"名称"}`)},
		"en.json":    {Data: []byte(`{"demo.title":"Demo","nav.demo":"Demo","error.demo.too_long":"The name is too long (at most {{.Message}})","field.name":"Name"}`)},
	}
	return web.Pages{Domain: "demo", Templates: files, Messages: files,
		Nav: []web.NavItem{{ID: "nav-demo", Label: "nav.demo", Href: "/demo", Perms: []identity.Permission{identity.PermReconRead}}},
		Mount: func(r gin.IRouter, w *web.Console) {
			form := func(c *gin.Context, v *web.View) error { return w.Show(c, v, "demo/form", "demo.title", nil) }
			r.GET("/demo", w.Handle(form))
			r.POST("/demo", w.Handle(func(c *gin.Context, v *web.View) error {
				switch c.PostForm("name") {
				case "ok":
					return w.Redirect(c, "/demo", "demo.title")
				case "uncoded":
					return w.Rerender(c, v, errs.Invalidf("name", "name must be short"), form)
				}
				return w.Rerender(c, v, errs.E(errs.KindInvalid, "demo.too_long", "20").WithField("name"), form)
			}))
		}}
}

func shell(t *testing.T) http.Handler {
	t.Helper()
	db := pgtest.New(t, audit.Migrations, identity.Migrations)
	svc := identity.NewService(db, redistest.New(t).Client(t), identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	if _, err := svc.SeedDemo(context.Background(), password); err != nil {
		t.Fatal(err)
	}
	e := httpx.New(httpx.Options{})
	auth := identity.NewHTTP(svc, "auto")
	c, err := web.New(svc, auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Register(demoPages()); err != nil {
		t.Fatal(err)
	}
	c.Mount(e.Group("", auth.Authenticate()))
	e.NoRoute(c.NotFound(httpx.RouteNotFound))
	return e
}

func TestDomainPagesPlugIntoTheShell(t *testing.T) {
	if err := web.CheckPages(demoPages()); err != nil {
		t.Fatal(err)
	}
	h := shell(t)
	fin := &browser{t: t, h: h, cookies: map[string]string{}}
	fin.login("finance", password)
	_, page := fin.do("GET", "/demo", nil)
	if !strings.Contains(page, `id="nav-demo"`) || !strings.Contains(page, "示例") {
		t.Fatalf("finance (recon.run.read) sees no demo entry: %s", page)
	}
	if strings.Contains(page, "echarts") {
		t.Fatal("a page without charts loads ECharts")
	}
	rep := &browser{t: t, h: h, cookies: map[string]string{}}
	rep.login("sh1.rep", password)
	if _, page := rep.do("GET", "/", nil); strings.Contains(page, `id="nav-demo"`) {
		t.Fatal("a rep without the permission sees the demo entry")
	}
	csrf := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindStringSubmatch(page)[1]

	// A coded refusal reads in the user's language, and the form keeps what was typed.
	res, page := fin.do("POST", "/demo", url.Values{"csrf_token": {csrf}, "name": {"一个很长的名字"}})
	if res.StatusCode != 400 || !strings.Contains(page, "名称太长（最多 20）") || !strings.Contains(page, `value="一个很长的名字"`) {
		t.Fatalf("coded error: %d %s", res.StatusCode, page)
	}
	// An error without a message of its own: the kind's sentence naming the field, no English.
	_, page = fin.do("POST", "/demo", url.Values{"csrf_token": {csrf}, "name": {"uncoded"}})
	if !strings.Contains(page, "“名称”填写有误") || strings.Contains(page, "name must be short") {
		t.Fatalf("uncoded error on a Chinese page: %s", page)
	}
	fin.do("GET", "/lang/en", nil)
	_, page = fin.do("POST", "/demo", url.Values{"csrf_token": {csrf}, "name": {"x"}})
	if !strings.Contains(page, "The name is too long (at most 20)") {
		t.Fatalf("coded error in English: %s", page)
	}
	// A successful form redirects with a flash shown once.
	res, _ = fin.do("POST", "/demo", url.Values{"csrf_token": {csrf}, "name": {"ok"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("ok: %d", res.StatusCode)
	}
	if _, page = fin.do("GET", "/demo", nil); !strings.Contains(page, `id="flash"`) {
		t.Fatal("no flash after the redirect")
	}
	if _, page = fin.do("GET", "/demo", nil); strings.Contains(page, `id="flash"`) {
		t.Fatal("the flash shows twice")
	}
}

func TestConsoleNotFoundIsAPageAndAPIStaysJSON(t *testing.T) {
	h := shell(t)
	req := httptest.NewRequest("GET", "/no/such/page", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 404 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Body.String(), "没有这个页面") {
		t.Fatalf("console 404: %d %s %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body.String())
	}
	req = httptest.NewRequest("GET", "/api/v1/nope", nil)
	req.Header.Set("Accept", "text/html")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), `"code":"route_not_found"`) {
		t.Fatalf("API 404: %d %s", rec.Code, rec.Body.String())
	}
}

func TestAssetsAreFingerprintedCachedAndCompressed(t *testing.T) {
	h := shell(t)
	b := &browser{t: t, h: h, cookies: map[string]string{}}
	_, page := b.do("GET", "/login", nil)
	m := regexp.MustCompile(`src="(/assets/vendor/htmx.min.js\?v=[0-9a-f]{12})"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("htmx is not fingerprinted: %s", page)
	}
	req := httptest.NewRequest("GET", m[1], nil)
	req.Header.Set("Accept-Encoding", "gzip, br")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("asset: %d %v", rec.Code, rec.Header())
	}
	if n := rec.Body.Len(); n > 30_000 {
		t.Fatalf("htmx gzipped is %d bytes", n)
	}
	req = httptest.NewRequest("GET", "/assets/app.css?v=stale", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("a stale fingerprint is cached: %d %v", rec.Code, rec.Header())
	}
}
