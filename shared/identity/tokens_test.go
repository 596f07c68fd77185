package identity_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

func TestTokens(t *testing.T) {
	w := newWorld(t, func(c *identity.Config) { c.TokenRate = 3 })
	rep := w.p(t, "sh1.rep")
	tok, secret, err := w.svc.CreateToken(w.ctx, rep, identity.NewToken{Name: "field app", TTL: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, identity.TokenPrefix) || !strings.HasPrefix(secret, tok.Prefix) || tok.UserID != rep.User.ID {
		t.Fatalf("token %+v secret %q", tok, secret)
	}
	p, err := w.svc.AuthenticateToken(w.ctx, secret)
	if err != nil || p.User.ID != rep.User.ID || p.TokenID != tok.ID || p.AuthMethod() != "token" {
		t.Fatalf("authenticate: %v", err)
	}
	// Rate: 3 a minute; the fourth is refused with a Retry-After within the minute.
	for range 2 {
		if _, err := w.svc.AuthenticateToken(w.ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	_, err = w.svc.AuthenticateToken(w.ctx, secret)
	wantCode(t, err, "identity.token_rate_limited")
	if ra := errs.As(err).RetryAfter; ra < 1 || ra > 60 {
		t.Fatalf("retry after %d", ra)
	}

	listed, _, err := w.svc.ListTokens(w.ctx, rep, uuid.Nil, 0)
	if err != nil || len(listed) != 1 || listed[0].LastUsedAt == nil {
		t.Fatalf("list: %v %+v", err, listed)
	}
	// Another rep neither sees nor revokes it: not found.
	other := w.p(t, "sh2.rep")
	if l, _, _ := w.svc.ListTokens(w.ctx, other, uuid.Nil, 0); len(l) != 0 {
		t.Fatalf("other rep sees %d tokens", len(l))
	}
	wantCode(t, w.svc.RevokeToken(w.ctx, other, tok.ID), "identity.token_not_found")
	// The admin (identity.token.manage at all) sees and revokes it.
	admin := w.p(t, "admin")
	if l, _, _ := w.svc.ListTokens(w.ctx, admin, uuid.Nil, 0); len(l) != 1 {
		t.Fatalf("admin sees %d tokens", len(l))
	}
	if err := w.svc.RevokeToken(w.ctx, admin, tok.ID); err != nil {
		t.Fatal(err)
	}
	_, err = w.svc.AuthenticateToken(w.ctx, secret)
	wantCode(t, err, "identity.token_revoked")

	_, secret2, err := w.svc.CreateToken(w.ctx, rep, identity.NewToken{Name: "short", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(61 * time.Minute)
	_, err = w.svc.AuthenticateToken(w.ctx, secret2)
	wantCode(t, err, "identity.token_expired")

	for _, bad := range []string{"", "tdm_short", "Bearer x", "tdm_" + strings.Repeat("!", 43), "xyz_" + strings.Repeat("a", 43)} {
		_, err := w.svc.AuthenticateToken(w.ctx, bad)
		wantCode(t, err, "identity.token_malformed")
	}
	_, err = w.svc.AuthenticateToken(w.ctx, "tdm_"+strings.Repeat("a", 43))
	wantCode(t, err, "identity.token_invalid")

	_, _, err = w.svc.CreateToken(w.ctx, rep, identity.NewToken{Name: " ", TTL: time.Hour})
	wantCode(t, err, "invalid_input")
	_, _, err = w.svc.CreateToken(w.ctx, w.p(t, "shop.staff"), identity.NewToken{Name: "x"})
	wantCode(t, err, "identity.forbidden")
}
