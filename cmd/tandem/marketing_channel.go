package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tandemcrm/tandem/consumer/marketing"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/identity"
)

// wechatChannel is marketing's message channel played by WeChat's subscribe messages
// (订阅消息) of the mini-program: the member's openid comes from identity, an access
// token from /cgi-bin/token (kept until shortly before it expires), and each message
// is one POST /cgi-bin/message/subscribe/send with the campaign's template, the text
// in its thing1 field. The base URL is TANDEM_WXMINI_BASE_URL: the simulator in
// development (shared/wxpay/wxsim/api_subscribe.go), https://api.weixin.qq.com in
// production.
type wechatChannel struct {
	ids                 *identity.Service
	hc                  *http.Client
	clock               clock.Clock
	base, appID, secret string

	mu      sync.Mutex
	token   string
	expires time.Time
}

// Reasons a message is refused (marketing counts the member as refused, not sent).
const (
	messageNoOpenID      = "no_openid"
	messageNoTemplate    = "no_template"
	messageNotSubscribed = "not_subscribed" // errcode 43101: the member has not agreed to the template
)

// WeChat's errcodes the channel acts on.
const (
	wxErrTokenInvalid = 40001
	wxErrTokenExpired = 42001
	wxErrNotSubscribe = 43101
	wxErrOpenID       = 40003
)

// thingRunes is the longest value of a template's "thing" field.
const thingRunes = 20

func newWechatChannel(a *app) *wechatChannel {
	return &wechatChannel{ids: a.identity, hc: &http.Client{Timeout: 5 * time.Second}, clock: a.clock,
		base: strings.TrimRight(a.cfg.WxminiBaseURL, "/"), appID: a.cfg.WxpayAppID, secret: a.cfg.WxminiSecret}
}

// Send implements marketing.Channel.
func (c *wechatChannel) Send(ctx context.Context, msgs []marketing.Message) (marketing.Issued, error) {
	out := marketing.Issued{Refused: map[string]string{}}
	for _, m := range msgs {
		if m.Template == "" {
			out.Refused[m.Key] = messageNoTemplate
			continue
		}
		openid, err := c.openID(ctx, m)
		if err != nil {
			return out, err
		}
		if openid == "" {
			out.Refused[m.Key] = messageNoOpenID
			continue
		}
		code, err := c.send(ctx, openid, m)
		if code == wxErrTokenInvalid || code == wxErrTokenExpired { // revoked early: once more with a new token
			c.mu.Lock()
			c.token = ""
			c.mu.Unlock()
			code, err = c.send(ctx, openid, m)
		}
		switch {
		case err != nil:
			return out, err
		case code == wxErrNotSubscribe || code == wxErrOpenID:
			out.Refused[m.Key] = messageNotSubscribed
		case code != 0:
			return out, fmt.Errorf("wechat subscribe message: errcode %d", code)
		}
	}
	return out, nil
}

// openID is the member's openid in the mini-program, "" when they have none.
func (c *wechatChannel) openID(ctx context.Context, m marketing.Message) (string, error) {
	ids, err := c.ids.ConsumerIdentities(ctx, m.ConsumerID)
	if err != nil {
		return "", err
	}
	for _, id := range ids {
		if id.Kind == "openid" && id.AppID == c.appID {
			return id.Value, nil
		}
	}
	return "", nil
}

func (c *wechatChannel) send(ctx context.Context, openid string, m marketing.Message) (int, error) {
	token, err := c.accessToken(ctx)
	if err != nil {
		return 0, err
	}
	text := []rune(m.Text)
	if len(text) > thingRunes {
		text = append(text[:thingRunes-1], '…')
	}
	body, _ := json.Marshal(map[string]any{"touser": openid, "template_id": m.Template, "page": "pages/index/index",
		"data": map[string]map[string]string{"thing1": {"value": string(text)}}})
	var r struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	err = c.call(ctx, http.MethodPost, "/cgi-bin/message/subscribe/send?access_token="+url.QueryEscape(token), body, &r)
	return r.ErrCode, err
}

// accessToken is a valid access token, fetched again a minute before it expires.
func (c *wechatChannel) accessToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.clock.Now().Before(c.expires) {
		return c.token, nil
	}
	var r struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
		ErrCode     int    `json:"errcode"`
		ErrMsg      string `json:"errmsg"`
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {c.appID}, "secret": {c.secret}}
	if err := c.call(ctx, http.MethodGet, "/cgi-bin/token?"+q.Encode(), nil, &r); err != nil {
		return "", err
	}
	if r.AccessToken == "" {
		return "", fmt.Errorf("wechat access token: errcode %d: %s", r.ErrCode, r.ErrMsg)
	}
	c.token, c.expires = r.AccessToken, c.clock.Now().Add(time.Duration(r.ExpiresIn-60)*time.Second)
	return c.token, nil
}

func (c *wechatChannel) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("wechat %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("wechat %s: %w", strings.SplitN(path, "?", 2)[0], err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("wechat %s: %s", strings.SplitN(path, "?", 2)[0], resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
