package identity_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

// miniProgram is a mini-program whose wx.login codes are "code-<openid>".
func miniProgram(cfg *identity.Config) {
	cfg.Code2Session = func(_ context.Context, code string) (identity.ConsumerClaims, error) {
		openid, ok := strings.CutPrefix(code, "code-")
		if !ok {
			return identity.ConsumerClaims{}, errs.E(errs.KindUnauthorized, "identity.consumer_code_invalid", "invalid code")
		}
		return identity.ConsumerClaims{AppID: "wx-test", OpenID: openid}, nil
	}
	cfg.ConsumerSignInPerIP = 3
}

func TestConsumerSessions(t *testing.T) {
	w := newWorld(t, miniProgram)
	s, err := w.svc.SignInConsumer(w.ctx, "code-o1", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Created || !strings.HasPrefix(s.Token, identity.ConsumerTokenPrefix) || s.ExpiresAt.Sub(w.clock.Now()) != 30*24*time.Hour {
		t.Fatalf("session %+v", s)
	}
	if got, err := w.svc.AuthenticateConsumer(w.ctx, s.Token); err != nil || got != s.ConsumerID {
		t.Fatalf("token names %s, %v; want %s", got, err, s.ConsumerID)
	}
	ids, err := w.svc.ConsumerIdentities(w.ctx, s.ConsumerID)
	if err != nil || len(ids) != 1 || ids[0] != (identity.ConsumerIdentity{Kind: "openid", AppID: "wx-test", Value: "o1"}) {
		t.Fatalf("identities %+v %v", ids, err)
	}

	again, err := w.svc.SignInConsumer(w.ctx, "code-o1", "10.0.0.1")
	if err != nil || again.Created || again.ConsumerID != s.ConsumerID || again.Token == s.Token {
		t.Fatalf("signing in again: %+v %v", again, err)
	}

	_, err = w.svc.SignInConsumer(w.ctx, "bad", "10.0.0.1")
	wantCode(t, err, "identity.consumer_code_invalid")
	_, err = w.svc.AuthenticateConsumer(w.ctx, identity.ConsumerTokenPrefix+strings.Repeat("A", 43))
	wantCode(t, err, identity.ErrTokenInvalid.Code)
	_, err = w.svc.AuthenticateConsumer(w.ctx, identity.TokenPrefix+s.Token[len(identity.ConsumerTokenPrefix):])
	wantCode(t, err, identity.ErrTokenMalformed.Code)

	// Three attempts from one address in the window, failed or not; another address goes on.
	_, err = w.svc.SignInConsumer(w.ctx, "code-o2", "10.0.0.1")
	wantCode(t, err, "identity.consumer_signin_rate_limited")
	if errs.As(err).RetryAfter < 1 {
		t.Fatalf("no Retry-After: %+v", errs.As(err))
	}
	if _, err := w.svc.SignInConsumer(w.ctx, "code-o2", "10.0.0.2"); err != nil {
		t.Fatal(err)
	}

	w.clock.Advance(30 * 24 * time.Hour)
	_, err = w.svc.AuthenticateConsumer(w.ctx, s.Token)
	wantCode(t, err, identity.ErrTokenExpired.Code)
}

func TestConsumerSignInOff(t *testing.T) {
	w := newWorld(t)
	_, err := w.svc.SignInConsumer(w.ctx, "code-o1", "10.0.0.1")
	wantCode(t, err, "identity.consumer_signin_off")
}
