package wxsim

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// WeChat's subscribe messages (订阅消息) as the simulator plays them: a mini-program
// takes an access token (GET /cgi-bin/token) and sends a member a message of a
// template (POST /cgi-bin/message/subscribe/send). As on WeChat, a member receives a
// one-time template's message only after agreeing to it in the mini-program
// (wx.requestSubscribeMessage: the control API's POST /sim/subscribe grants that), one
// message per agreement; otherwise the send answers errcode 43101.

// accessTokenTTL is how long an access token is good for (WeChat: 7200 s).
const accessTokenTTL = 2 * time.Hour

// The errcodes of the subscribe-message API the simulator answers.
const (
	errcodeInvalidToken     = 40001 // the access token is unknown or expired
	errcodeInvalidOpenID    = 40003
	errcodeInvalidTemplate  = 40037
	errcodeArgumentInvalid  = 47003 // data missing or a value too long
	errcodeUserRefusedToAck = 43101 // the member has not agreed to (or used up) this template
)

// maxThingRunes is the longest value of a template's "thing" field.
const maxThingRunes = 20

// SubscribeGrant is a member agreeing, in the mini-program, to receive Times more
// messages of a template.
type SubscribeGrant struct {
	AppID      string `json:"appid"`
	OpenID     string `json:"openid"`
	TemplateID string `json:"template_id"`
	Times      int    `json:"times"`
}

// SubscribeMessage is a message the simulator delivered.
type SubscribeMessage struct {
	AppID      string                       `json:"appid"`
	ToUser     string                       `json:"touser"`
	TemplateID string                       `json:"template_id"`
	Page       string                       `json:"page,omitempty"`
	Data       map[string]map[string]string `json:"data"`
	At         time.Time                    `json:"at"`
}

// subscribeState is the simulator's tokens, agreements and delivered messages.
type subscribeState struct {
	mu       sync.Mutex
	tokens   map[string]tokenGrant // access token → app
	quota    map[string]int        // appid/openid/template → messages agreed to
	messages []SubscribeMessage
}

type tokenGrant struct {
	appID   string
	expires time.Time
}

func quotaKey(appID, openID, templateID string) string {
	return appID + "/" + openID + "/" + templateID
}

func (s *Sim) routeSubscribe(mux *http.ServeMux) {
	mux.HandleFunc("GET /cgi-bin/token", s.accessToken)
	mux.HandleFunc("POST /cgi-bin/message/subscribe/send", s.sendSubscribeMessage)
	if !s.cfg.Control {
		return
	}
	mux.HandleFunc("POST /sim/subscribe", control(func(ctx context.Context, g SubscribeGrant) (any, error) { return s.Subscribe(ctx, g) }))
	mux.HandleFunc("GET /sim/subscribe-messages", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"items": s.SubscribeMessages()})
	})
}

// Subscribe records a member's agreement to more messages of a template.
func (s *Sim) Subscribe(_ context.Context, g SubscribeGrant) (map[string]any, error) {
	switch {
	case strings.TrimSpace(g.OpenID) == "" || strings.TrimSpace(g.TemplateID) == "":
		return nil, opErrorf(http.StatusBadRequest, "openid and template_id required")
	case !s.knownApp(g.AppID):
		return nil, opErrorf(http.StatusNotFound, "appid %q is bound to no merchant", g.AppID)
	}
	g.Times = max(g.Times, 1)
	st := &s.subs
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.quota == nil {
		st.quota = map[string]int{}
	}
	k := quotaKey(g.AppID, g.OpenID, g.TemplateID)
	st.quota[k] += g.Times
	return map[string]any{"remaining": st.quota[k]}, nil
}

// SubscribeMessages lists the messages delivered so far, oldest first.
func (s *Sim) SubscribeMessages() []SubscribeMessage {
	s.subs.mu.Lock()
	defer s.subs.mu.Unlock()
	return append([]SubscribeMessage{}, s.subs.messages...)
}

// accessToken is WeChat's GET /cgi-bin/token?grant_type=client_credential.
func (s *Sim) accessToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	body := func() any {
		appID, secret := q.Get("appid"), q.Get("secret")
		switch {
		case appID == "" || secret == "" || q.Get("grant_type") != "client_credential":
			return loginError(errcodeMissingParameter, "missing appid, secret or grant_type=client_credential")
		case !s.knownApp(appID):
			return loginError(errcodeInvalidAppID, "invalid appid")
		case secret != s.cfg.AppSecret:
			return loginError(errcodeInvalidSecret, "invalid appsecret")
		}
		token := mustNonce()
		st := &s.subs
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.tokens == nil {
			st.tokens = map[string]tokenGrant{}
		}
		now := s.clock.Now()
		for k, t := range st.tokens {
			if !now.Before(t.expires) {
				delete(st.tokens, k)
			}
		}
		st.tokens[token] = tokenGrant{appID: appID, expires: now.Add(accessTokenTTL)}
		return map[string]any{"access_token": token, "expires_in": int(accessTokenTTL.Seconds())}
	}()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// sendSubscribeMessage is WeChat's POST /cgi-bin/message/subscribe/send?access_token=.
func (s *Sim) sendSubscribeMessage(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ToUser     string                       `json:"touser"`
		TemplateID string                       `json:"template_id"`
		Page       string                       `json:"page"`
		Data       map[string]map[string]string `json:"data"`
	}
	decodeErr := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&in)
	body := func() any {
		st := &s.subs
		st.mu.Lock()
		defer st.mu.Unlock()
		now := s.clock.Now()
		tok, ok := st.tokens[r.URL.Query().Get("access_token")]
		switch {
		case !ok || !now.Before(tok.expires):
			return loginError(errcodeInvalidToken, "invalid credential, access_token is invalid or not latest")
		case decodeErr != nil || len(in.Data) == 0:
			return loginError(errcodeArgumentInvalid, "argument invalid! data is empty or not json")
		case strings.TrimSpace(in.ToUser) == "":
			return loginError(errcodeInvalidOpenID, "invalid openid")
		case strings.TrimSpace(in.TemplateID) == "":
			return loginError(errcodeInvalidTemplate, "invalid template_id")
		}
		for key, v := range in.Data {
			if strings.HasPrefix(key, "thing") && len([]rune(v["value"])) > maxThingRunes {
				return loginError(errcodeArgumentInvalid, "argument invalid! data."+key+".value exceeds limit")
			}
		}
		k := quotaKey(tok.appID, in.ToUser, in.TemplateID)
		if st.quota[k] <= 0 {
			return loginError(errcodeUserRefusedToAck, "user refuse to accept the msg")
		}
		st.quota[k]--
		st.messages = append(st.messages, SubscribeMessage{AppID: tok.appID, ToUser: in.ToUser, TemplateID: in.TemplateID,
			Page: in.Page, Data: in.Data, At: now})
		return map[string]any{"errcode": 0, "errmsg": "ok", "msgid": now.UnixNano()}
	}()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}
