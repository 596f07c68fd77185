package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/phone"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// startMiniProgram runs a simulator that plays WeChat's mini-program sign-in for the
// app's appid and points the app at it; it returns a wx.login for that app.
func startMiniProgram(t *testing.T, a *app) (login func(openid string) string) {
	t.Helper()
	sim := startMiniProgramSim(t, a)
	return func(openid string) string {
		code, err := sim.Login(context.Background(), wxsim.LoginRequest{AppID: a.cfg.WxpayAppID, OpenID: openid})
		if err != nil {
			t.Fatal(err)
		}
		return code
	}
}

// startMiniProgramSim runs a simulator that plays WeChat's mini-program side (sign-in,
// subscribe messages) for the app's appid and points the app at it.
func startMiniProgramSim(t *testing.T, a *app) *wxsim.Sim {
	t.Helper()
	platform, mk, err := wxsim.LoadOrCreateKeys(a.cfg.WxpayKeys, wxsim.DevMchID)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := wxsim.New(pgtest.New(t, wxsim.Migrations), platform, wxsim.Config{Control: true}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMerchant(wxsim.MerchantFromKeys(mk, wxsim.KeyModeSwitch, a.cfg.WxpayAppID)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); sim.Close() })
	a.cfg.WxminiBaseURL, a.cfg.WxminiSecret = srv.URL, wxsim.DevAppSecret
	return sim
}

// Members of the mini-program sign in with a wx.login code and, with the consumer
// token, order, list their orders and read their points; nobody else sees their order,
// and the token reaches no staff route.
func TestConsumerSignIn(t *testing.T) {
	a := testApp(t)
	demo, err := a.seedDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	login := startMiniProgram(t, a)
	h := a.router()
	decode := func(body string, v any) {
		t.Helper()
		if err := json.Unmarshal([]byte(body), v); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
	}
	signIn := func(openid string) string {
		t.Helper()
		code := login(openid)
		w := call(h, "POST", "/api/v1/consumer/sessions", `{"code":"`+code+`"}`)
		if w.Code != 201 {
			t.Fatalf("sign in: %d %s", w.Code, w.Body)
		}
		var s struct{ Token string }
		decode(w.Body.String(), &s)
		// A code is single use.
		wantError(t, call(h, "POST", "/api/v1/consumer/sessions", `{"code":"`+code+`"}`), 401, "identity.consumer_code_invalid")
		return "Bearer " + s.Token
	}
	alice, bob, carol := signIn("o-alice"), signIn("o-bob"), signIn("o-carol")
	// Alice and Bob join as members with their phones; Carol only signs in.
	for who, auth := range map[string]string{"alice": alice, "bob": bob} {
		if w := call(h, "POST", "/api/v1/consumer/me/membership", `{"phone":"+86 139-0000-0001"}`, "Authorization", auth); w.Code != 201 {
			t.Fatalf("%s joins: %d %s", who, w.Code, w.Body)
		}
	}
	if w := call(h, "POST", "/api/v1/consumer/me/membership", `{"phone":"+86 139-0000-0001"}`, "Authorization", alice); w.Code != 200 {
		t.Fatalf("joining again: %d %s", w.Code, w.Body)
	}
	wantError(t, call(h, "POST", "/api/v1/consumer/me/membership", `{"phone":"call me"}`, "Authorization", carol), 400, phone.CodeInvalid)
	wantError(t, call(h, "POST", "/api/v1/consumer/me/membership", `{"phone":"13900000003","app_id":"wx-other"}`, "Authorization", carol), 400, "invalid_input")
	latte := `{"merchant_id":"` + demo.merchantID.String() + `","description":"latte","amount":"12.50"}`
	wantError(t, call(h, "POST", "/api/v1/billing/me/orders", latte, "Authorization", carol), 422, "billing.not_member")

	w := call(h, "POST", "/api/v1/billing/me/orders", latte, "Authorization", alice)
	if w.Code != 201 {
		t.Fatalf("order: %d %s", w.Code, w.Body)
	}
	var order struct{ ID string }
	decode(w.Body.String(), &order)

	w = call(h, "GET", "/api/v1/billing/me/orders", "", "Authorization", alice)
	if w.Code != 200 || !strings.Contains(w.Body.String(), order.ID) {
		t.Fatalf("alice's orders: %d %s", w.Code, w.Body)
	}
	if w = call(h, "GET", "/api/v1/billing/me/orders/"+order.ID, "", "Authorization", alice); w.Code != 200 {
		t.Fatalf("alice's order: %d %s", w.Code, w.Body)
	}
	wantError(t, call(h, "GET", "/api/v1/billing/me/orders/"+order.ID, "", "Authorization", bob), 404, "billing.order_not_found")
	if w = call(h, "GET", "/api/v1/billing/me/orders", "", "Authorization", bob); w.Code != 200 || strings.Contains(w.Body.String(), order.ID) {
		t.Fatalf("bob's orders: %d %s", w.Code, w.Body)
	}
	if w = call(h, "GET", "/api/v1/consumer/me/points", "", "Authorization", alice); w.Code != 200 || !strings.Contains(w.Body.String(), `"balance"`) {
		t.Fatalf("alice's points: %d %s", w.Code, w.Body)
	}
	if w = call(h, "GET", "/api/v1/consumer/me/recommendations", "", "Authorization", alice); w.Code != 200 {
		t.Fatalf("alice's recommendations: %d %s", w.Code, w.Body)
	}

	t.Run("refusals", func(t *testing.T) {
		wantError(t, call(h, "GET", "/api/v1/me", "", "Authorization", alice), 403, "identity.staff_only")
		wantError(t, call(h, "GET", "/api/v1/billing/orders", "", "Authorization", alice), 403, "identity.staff_only")
		wantError(t, call(h, "GET", "/api/v1/billing/me/orders", ""), 401, "identity.unauthenticated")
		wantError(t, call(h, "GET", "/api/v1/consumer/me/points", "", "Authorization", "Bearer tdc_"+strings.Repeat("A", 43)), 401, "identity.token_invalid")
		wantError(t, call(h, "POST", "/api/v1/consumer/sessions", `{"code":"never-issued"}`), 401, "identity.consumer_code_invalid")
		wantError(t, call(h, "POST", "/api/v1/consumer/sessions", `{}`), 400, "invalid_input")
	})
}
