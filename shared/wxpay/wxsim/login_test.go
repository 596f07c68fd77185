package wxsim_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxmini"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

// TestCode2Session: a wx.login code from the control API names its user once, for five
// minutes of the simulator's clock, in its own app and with the app's secret only.
func TestCode2Session(t *testing.T) {
	ctx := context.Background()
	e := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{})
	login := func(openid, unionid string) string {
		var out struct{ Code string }
		e.Control("POST", "/sim/login", wxsim.LoginRequest{AppID: wxsimtest.AppID, OpenID: openid, UnionID: unionid}, &out)
		return out.Code
	}
	exchange := func(appID, secret, code string) (string, string, error) {
		return wxmini.Code2Session(ctx, http.DefaultClient, e.URL, appID, secret, code)
	}
	wantCode := func(t *testing.T, err error, kind errs.Kind, code string) {
		t.Helper()
		if errs.KindOf(err) != kind || !errs.Is(err, code) {
			t.Fatalf("got %v (%s), want %s %s", err, errs.KindOf(err), kind, code)
		}
	}

	code := login("o-alice", "u-alice")
	openid, unionid, err := exchange(wxsimtest.AppID, wxsim.DevAppSecret, code)
	if err != nil || openid != "o-alice" || unionid != "u-alice" {
		t.Fatalf("got %q %q %v", openid, unionid, err)
	}
	t.Run("single use", func(t *testing.T) {
		_, _, err := exchange(wxsimtest.AppID, wxsim.DevAppSecret, code)
		wantCode(t, err, errs.KindUnauthorized, wxmini.CodeCodeInvalid)
	})
	t.Run("unknown code", func(t *testing.T) {
		_, _, err := exchange(wxsimtest.AppID, wxsim.DevAppSecret, "no-such-code")
		wantCode(t, err, errs.KindUnauthorized, wxmini.CodeCodeInvalid)
	})
	t.Run("no unionid", func(t *testing.T) {
		openid, unionid, err := exchange(wxsimtest.AppID, wxsim.DevAppSecret, login("o-bob", ""))
		if err != nil || openid != "o-bob" || unionid != "" {
			t.Fatalf("got %q %q %v", openid, unionid, err)
		}
	})
	t.Run("wrong appid", func(t *testing.T) {
		_, _, err := exchange("wx0000000000000000", wxsim.DevAppSecret, login("o-carol", ""))
		wantCode(t, err, errs.KindInternal, wxmini.CodeMisconfigure)
		if status, _ := e.ControlStatus("POST", "/sim/login", wxsim.LoginRequest{AppID: "wx0000000000000000", OpenID: "o-carol"}); status != http.StatusNotFound {
			t.Fatalf("login in an unknown app: %d", status)
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		c := login("o-dave", "")
		_, _, err := exchange(wxsimtest.AppID, "not-the-secret", c)
		wantCode(t, err, errs.KindInternal, wxmini.CodeMisconfigure)
		if openid, _, err := exchange(wxsimtest.AppID, wxsim.DevAppSecret, c); err != nil || openid != "o-dave" {
			t.Fatalf("a refused exchange used up the code: %q %v", openid, err)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		fresh, stale := login("o-erin", ""), login("o-erin", "")
		e.Sim.Clock().Advance(4*time.Minute + 59*time.Second)
		if _, _, err := exchange(wxsimtest.AppID, wxsim.DevAppSecret, fresh); err != nil {
			t.Fatalf("within five minutes: %v", err)
		}
		e.Sim.Clock().Advance(time.Second)
		_, _, err := exchange(wxsimtest.AppID, wxsim.DevAppSecret, stale)
		wantCode(t, err, errs.KindUnauthorized, wxmini.CodeCodeInvalid)
	})
}
