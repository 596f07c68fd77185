package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/identity"
)

func call(h http.Handler, method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Cookie" {
			req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: hdr[i+1]})
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code string) {
	t.Helper()
	if w.Code != status || !strings.Contains(w.Body.String(), `"code":"`+code+`"`) {
		t.Fatalf("want %d %s, got %d %s", status, code, w.Code, w.Body)
	}
}

// Signing in over HTTP: bad input gets a clear error and changes nothing.
func TestSignInOverHTTP(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := a.router()
	login := func(user, pw string) *httptest.ResponseRecorder {
		return call(h, "POST", "/api/v1/sessions", `{"login":"`+user+`","password":"`+pw+`"}`)
	}
	wantError(t, call(h, "POST", "/api/v1/sessions", `{"login":"admin"}`), 400, "invalid_input")
	for range 4 {
		wantError(t, login("sh2.rep", "wrong-password-9"), 401, "identity.bad_credentials")
	}
	w := login("sh2.rep", "wrong-password-9")
	wantError(t, w, 403, "identity.account_locked")
	if w.Header().Get("Retry-After") == "" {
		t.Fatal("a locked account says when to retry")
	}
	w = login("sh2.rep", demoPassword)
	wantError(t, w, 403, "identity.account_locked")
	if len(w.Result().Cookies()) != 0 {
		t.Fatal("a refused sign-in sets no cookie")
	}

	w = login("sh1.rep", demoPassword)
	if w.Code != 201 {
		t.Fatalf("login: %d %s", w.Code, w.Body)
	}
	var cookie *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == identity.SessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("cookie: %+v", cookie)
	}
	if w := call(h, "POST", "/api/v1/sessions", `{"login":"sh1.rep","password":"`+demoPassword+`"}`, "X-Forwarded-Proto", "https"); !strings.Contains(w.Header().Get("Set-Cookie"), "Secure") {
		t.Fatal("behind TLS the cookie is Secure")
	}
	csrf := strings.Split(strings.Split(w.Body.String(), `"csrf_token":"`)[1], `"`)[0]
	if w := call(h, "GET", "/api/v1/me", "", "Cookie", cookie.Value); w.Code != 200 || !strings.Contains(w.Body.String(), `"auth":"session"`) {
		t.Fatalf("me by cookie: %d %s", w.Code, w.Body)
	}
	wantError(t, call(h, "DELETE", "/api/v1/sessions/current", "", "Cookie", cookie.Value), 403, "identity.csrf_invalid")
	wantError(t, call(h, "DELETE", "/api/v1/sessions/current", "", "Cookie", cookie.Value, identity.CSRFHeader, "forged"), 403, "identity.csrf_invalid")
	if w := call(h, "DELETE", "/api/v1/sessions/current", "", "Cookie", cookie.Value, identity.CSRFHeader, csrf); w.Code != 204 {
		t.Fatalf("logout: %d %s", w.Code, w.Body)
	}
	wantError(t, call(h, "GET", "/api/v1/me", "", "Cookie", cookie.Value), 401, "identity.session_invalid")

	// A session from thirteen hours ago has expired.
	past := identity.NewService(a.db, a.redis, identity.Config{Now: func() time.Time { return time.Now().Add(-13 * time.Hour) }})
	old, err := past.Login(context.Background(), identity.LoginAttempt{Login: "sh1.lead", Password: demoPassword})
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, call(h, "GET", "/api/v1/me", "", "Cookie", old.Token), 401, "identity.session_expired")
	wantError(t, call(h, "GET", "/api/v1/me", "", "Authorization", "Basic YWRtaW46eA=="), 401, "identity.token_malformed")
}

func TestTokenRateLimitOverHTTP(t *testing.T) {
	a := testApp(t)
	a.identity = identity.NewService(a.db, a.redis, identity.Config{TokenRate: 2})
	d, err := a.identity.SeedDemo(context.Background(), demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := a.identity.Principal(context.Background(), d.Users["finance"])
	_, secret, err := a.identity.CreateToken(context.Background(), p, identity.NewToken{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	h := a.router()
	for range 2 {
		if w := call(h, "GET", "/api/v1/me", "", "Authorization", "Bearer "+secret); w.Code != 200 {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	w := call(h, "GET", "/api/v1/me", "", "Authorization", "Bearer "+secret)
	wantError(t, w, 429, "identity.token_rate_limited")
	if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
}
