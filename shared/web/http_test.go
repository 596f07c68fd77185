package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
	"github.com/tandemcrm/tandem/shared/web"
)

const password = "Tandem-demo-2025"

func console(t *testing.T) http.Handler {
	t.Helper()
	db := pgtest.New(t, audit.Migrations, identity.Migrations)
	svc := identity.NewService(db, redistest.New(t).Client(t), identity.Config{})
	if _, err := svc.SeedDemo(context.Background(), password); err != nil {
		t.Fatal(err)
	}
	e := httpx.New(httpx.Options{})
	auth := identity.NewHTTP(svc, "auto")
	e.Use(auth.Authenticate())
	c, err := web.New(svc, auth, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Mount(e)
	return e
}

// browser is a cookie jar over a handler.
type browser struct {
	t       *testing.T
	h       http.Handler
	cookies map[string]string
}

func (b *browser) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	rec := httptest.NewRecorder()
	b.h.ServeHTTP(rec, req)
	res := rec.Result()
	for _, c := range res.Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return res, rec.Body.String()
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) login(login, pw string) (*http.Response, string) {
	b.t.Helper()
	_, page := b.do("GET", "/login", nil)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF field: %s", page)
	}
	return b.do("POST", "/login", url.Values{"csrf_token": {m[1]}, "login": {login}, "password": {pw}, "next": {"/"}})
}

func TestConsoleSignInNavigationAndLanguage(t *testing.T) {
	h := console(t)
	b := &browser{t: t, h: h, cookies: map[string]string{}}
	res, _ := b.do("GET", "/users", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?next=%2Fusers" {
		t.Fatalf("anonymous: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	// The sign-in form refuses a post without its CSRF token.
	res, page := b.do("POST", "/login", url.Values{"login": {"admin"}, "password": {password}})
	if res.StatusCode != 403 || !strings.Contains(page, "页面已过期") {
		t.Fatalf("login without CSRF: %d", res.StatusCode)
	}
	res, page = b.login("admin", "wrong-password-1")
	if res.StatusCode != 401 || !strings.Contains(page, "账号或密码错误") {
		t.Fatalf("wrong password: %d", res.StatusCode)
	}
	res, _ = b.login("admin", password)
	if res.StatusCode != http.StatusSeeOther || b.cookies[identity.SessionCookie] == "" {
		t.Fatalf("login: %d", res.StatusCode)
	}
	res, page = b.do("GET", "/", nil)
	if res.StatusCode != 200 || !strings.Contains(page, "仪表盘") || !strings.Contains(page, `id="nav-users"`) || !strings.Contains(page, `id="nav-queues"`) || !strings.Contains(page, "data-chart") {
		t.Fatalf("dashboard: %d %s", res.StatusCode, page)
	}
	for _, p := range []string{"/users", "/org", "/roles", "/tokens", "/audit", "/users?q=rep&role=sales_rep", "/audit?action=auth."} {
		if res, page := b.do("GET", p, nil); res.StatusCode != 200 || !strings.Contains(page, `id="page-title"`) {
			t.Fatalf("%s: %d", p, res.StatusCode)
		}
	}
	res, page = b.do("GET", "/audit?format=csv", nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(page, "\ufeff时间,操作人,操作") || !strings.Contains(page, "auth.login") {
		t.Fatalf("audit csv: %d %q", res.StatusCode, page[:min(len(page), 200)])
	}
	// A form posted without the session's CSRF token changes nothing.
	res, _ = b.do("POST", "/org", url.Values{"name": {"x"}, "kind": {"team"}})
	if res.StatusCode != 403 {
		t.Fatalf("post without CSRF: %d", res.StatusCode)
	}
	// English sticks.
	res, _ = b.do("GET", "/lang/en?back=/users", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/users" {
		t.Fatalf("lang: %d", res.StatusCode)
	}
	if _, page = b.do("GET", "/", nil); !strings.Contains(page, "Dashboard") || strings.Contains(page, "仪表盘") {
		t.Fatal("English did not stick")
	}
	if res, _ := b.do("GET", "/lang/en?back=//evil.example", nil); res.Header.Get("Location") != "/" {
		t.Fatal("open redirect")
	}

	// A sales rep: a smaller menu, and the users page is refused.
	rep := &browser{t: t, h: h, cookies: map[string]string{}}
	rep.login("sh1.rep", password)
	_, page = rep.do("GET", "/", nil)
	if !strings.Contains(page, `id="nav-tokens"`) || strings.Contains(page, `id="nav-users"`) || strings.Contains(page, `id="nav-audit"`) || strings.Contains(page, `id="nav-queues"`) {
		t.Fatalf("rep's menu: %s", page)
	}
	if res, page := rep.do("GET", "/users", nil); res.StatusCode != 403 || !strings.Contains(page, "您没有权限") {
		t.Fatalf("rep on /users: %d", res.StatusCode)
	}
}
