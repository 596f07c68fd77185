package identity_test

import (
	"testing"

	"github.com/tandemcrm/tandem/shared/identity"
)

func TestResolveConsumer(t *testing.T) {
	w := newWorld(t)
	a, created, err := w.svc.ResolveConsumer(w.ctx, identity.ConsumerClaims{AppID: "wxapp1", OpenID: "o-1", UnionID: "u-1"})
	if err != nil || !created {
		t.Fatalf("first: %v %v", err, created)
	}
	// The same person in another app, known by unionid, gains that app's openid and a phone.
	b, created, err := w.svc.ResolveConsumer(w.ctx, identity.ConsumerClaims{AppID: "wxapp2", OpenID: "o-2", UnionID: "u-1", Phone: "13812345678"})
	if err != nil || created || b != a {
		t.Fatalf("second: %v %v %v", err, created, b == a)
	}
	// By phone alone.
	c, created, _ := w.svc.ResolveConsumer(w.ctx, identity.ConsumerClaims{Phone: "13812345678"})
	if created || c != a {
		t.Fatal("by phone")
	}
	// An openid is per app: the same string in another app is another person.
	d, created, _ := w.svc.ResolveConsumer(w.ctx, identity.ConsumerClaims{AppID: "wxapp3", OpenID: "o-1"})
	if !created || d == a {
		t.Fatal("openid in another app")
	}
	got, err := w.svc.ConsumerIdentities(w.ctx, a)
	if err != nil || len(got) != 4 {
		t.Fatalf("identities: %v %+v", err, got)
	}
	_, _, err = w.svc.ResolveConsumer(w.ctx, identity.ConsumerClaims{OpenID: "o-9"})
	wantCode(t, err, "invalid_input")
}
