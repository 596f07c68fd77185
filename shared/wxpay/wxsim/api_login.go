package wxsim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DevAppSecret is the mini-program's app secret the simulator accepts by default.
const DevAppSecret = "dev-app-secret"

// loginCodeTTL is how long a wx.login code can be exchanged.
const loginCodeTTL = 5 * time.Minute

// The errcodes of jscode2session the simulator answers.
const (
	errcodeInvalidSecret    = 40125 // the app secret is wrong
	errcodeInvalidAppID     = 40013
	errcodeInvalidCode      = 40029 // unknown, used or expired
	errcodeMissingParameter = 41002
)

// LoginRequest is a mini-program user calling wx.login: the code it returns names the
// user's openid (and unionid, when the app is bound to an open platform account) in appid.
type LoginRequest struct {
	AppID   string `json:"appid"`
	OpenID  string `json:"openid"`
	UnionID string `json:"unionid"`
}

type loginCode struct {
	LoginRequest
	expires time.Time
}

// loginCodes are the issued wx.login codes: each is exchanged once, within loginCodeTTL.
type loginCodes struct {
	mu sync.Mutex
	m  map[string]loginCode
}

func (l *loginCodes) issue(r LoginRequest, now time.Time) string {
	code := mustNonce()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]loginCode{}
	}
	for k, c := range l.m { // drop expired codes so memory stays bounded
		if !now.Before(c.expires) {
			delete(l.m, k)
		}
	}
	l.m[code] = loginCode{LoginRequest: r, expires: now.Add(loginCodeTTL)}
	return code
}

// redeem uses up the code; it is false when the code is unknown, used, expired or
// issued in another app.
func (l *loginCodes) redeem(code, appID string, now time.Time) (LoginRequest, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.m[code]
	if !ok || c.AppID != appID {
		return LoginRequest{}, false
	}
	delete(l.m, code)
	return c.LoginRequest, now.Before(c.expires)
}

// Login issues a wx.login code for a user of a mini-program bound to a merchant.
func (s *Sim) Login(_ context.Context, r LoginRequest) (string, error) {
	r = LoginRequest{AppID: strings.TrimSpace(r.AppID), OpenID: strings.TrimSpace(r.OpenID), UnionID: strings.TrimSpace(r.UnionID)}
	if r.OpenID == "" {
		return "", opErrorf(http.StatusBadRequest, "openid required")
	}
	if !s.knownApp(r.AppID) {
		return "", opErrorf(http.StatusNotFound, "appid %q is bound to no merchant", r.AppID)
	}
	return s.codes.issue(r, s.clock.Now()), nil
}

// knownApp says whether appid is a mini-program of the simulator's merchants (one
// that lists no appids accepts any).
func (s *Sim) knownApp(appID string) bool {
	if appID == "" {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, m := range s.merchants {
		if len(m.AppIDs) == 0 {
			return true
		}
		for _, a := range m.AppIDs {
			if a == appID {
				return true
			}
		}
	}
	return false
}

// jscode2session is WeChat's GET /sns/jscode2session: a wx.login code for the user's
// openid, unionid and session key. Errors answer 200 with an errcode, as WeChat does.
func (s *Sim) jscode2session(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	body := func() any {
		appID, secret, code := q.Get("appid"), q.Get("secret"), q.Get("js_code")
		switch {
		case appID == "" || secret == "" || code == "" || q.Get("grant_type") != "authorization_code":
			return loginError(errcodeMissingParameter, "missing appid, secret, js_code or grant_type=authorization_code")
		case !s.knownApp(appID):
			return loginError(errcodeInvalidAppID, "invalid appid")
		case secret != s.cfg.AppSecret:
			return loginError(errcodeInvalidSecret, "invalid appsecret")
		}
		u, ok := s.codes.redeem(code, appID, s.clock.Now())
		if !ok {
			return loginError(errcodeInvalidCode, "invalid code")
		}
		return struct {
			OpenID     string `json:"openid"`
			UnionID    string `json:"unionid,omitempty"`
			SessionKey string `json:"session_key"`
		}{u.OpenID, u.UnionID, mustNonce()[:24]}
	}()
	// WeChat sends its JSON as text/plain.
	w.Header().Set("Content-Type", "text/plain")
	_ = json.NewEncoder(w).Encode(body)
}

func loginError(code int, msg string) map[string]any {
	return map[string]any{"errcode": code, "errmsg": msg + ", rid: " + mustNonce()[:16]}
}
