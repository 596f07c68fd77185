// Package wxmini is the mini-program side of WeChat that Tandem's server calls:
// exchanging a wx.login code for the user's openid (auth.code2Session).
package wxmini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Error codes of Code2Session.
const (
	CodeCodeInvalid  = "identity.consumer_code_invalid" // the code is unknown, used or expired: wx.login again
	CodeRateLimited  = "wxmini.frequency_limited"
	CodeUnavailable  = "wxmini.unavailable"
	CodeMisconfigure = "wxmini.misconfigured" // WeChat refuses the appid or secret
)

type code2SessionResponse struct {
	OpenID     string `json:"openid"`
	UnionID    string `json:"unionid"`
	SessionKey string `json:"session_key"`
	ErrCode    int    `json:"errcode"`
	ErrMsg     string `json:"errmsg"`
}

// Code2Session exchanges a wx.login code (single use, five minutes) for the user's
// openid in appID and, when there is one, unionid: GET {baseURL}/sns/jscode2session,
// baseURL being https://api.weixin.qq.com or the simulator. The session key is dropped:
// Tandem decrypts nothing the mini-program sends.
func Code2Session(ctx context.Context, hc *http.Client, baseURL, appID, secret, code string) (openid, unionid string, err error) {
	if strings.TrimSpace(code) == "" {
		return "", "", errs.Invalidf("code", "code is required: the mini-program's wx.login gives it")
	}
	q := url.Values{"appid": {appID}, "secret": {secret}, "js_code": {code}, "grant_type": {"authorization_code"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/sns/jscode2session?"+q.Encode(), nil)
	if err != nil {
		return "", "", fmt.Errorf("wxmini: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		kind := errs.KindUnavailable
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			kind = errs.KindTimeout
		}
		return "", "", errs.Wrap(err, kind, CodeUnavailable, "WeChat sign-in is unavailable; retry")
	}
	defer resp.Body.Close()
	var r code2SessionResponse
	// WeChat answers 200 with JSON labelled text/plain, errors included.
	if resp.StatusCode != http.StatusOK {
		return "", "", errs.E(errs.KindUnavailable, CodeUnavailable, fmt.Sprintf("WeChat sign-in answered %s; retry", resp.Status))
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&r); err != nil {
		return "", "", errs.Wrap(err, errs.KindUnavailable, CodeUnavailable, "WeChat sign-in answered garbage; retry")
	}
	if err := errcodeError(r.ErrCode, r.ErrMsg); err != nil {
		return "", "", err
	}
	if r.OpenID == "" {
		return "", "", errs.E(errs.KindUnavailable, CodeUnavailable, "WeChat sign-in answered no openid; retry")
	}
	return r.OpenID, r.UnionID, nil
}

// errcodeError maps jscode2session's errcode to an error, nil for success.
func errcodeError(code int, msg string) error {
	switch code {
	case 0:
		return nil
	case 40029, 40163: // invalid code; code already used
		return errs.E(errs.KindUnauthorized, CodeCodeInvalid, "the sign-in code is invalid, used or expired; call wx.login again")
	case 45011: // API minute-quota reached for this user
		return errs.E(errs.KindTooMany, CodeRateLimited, "too many sign-ins; wait a minute and try again")
	case -1: // system busy
		return errs.E(errs.KindUnavailable, CodeUnavailable, "WeChat is busy; retry")
	}
	// 40013 (appid), 40125 and 40001 (secret), 41002/41004/41008 (missing parameters),
	// 40226 (user blocked): nothing the consumer can retry.
	return errs.Wrap(fmt.Errorf("jscode2session errcode %d: %s", code, msg), errs.KindInternal, CodeMisconfigure,
		"WeChat refused the sign-in; the app's appid or secret may be misconfigured")
}
