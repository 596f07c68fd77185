package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// Two processes (two Services on one database and Redis, as two replicas) cache a
// token's principal; a change of roles or a revocation made through one is seen by
// both at the very next request.
func TestCachedTokensFollowChangesOnEveryReplica(t *testing.T) {
	db := pgtest.New(t, audit.Migrations, identity.Migrations)
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	a := identity.NewService(db, rdb, identity.Config{})
	b := identity.NewService(db, rdb, identity.Config{})
	demo, err := a.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	principal := func(svc *identity.Service, login string) *identity.Principal {
		t.Helper()
		p, err := svc.Principal(ctx, demo.Users[login])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	admin, rep := principal(a, "admin"), principal(a, "sh1.rep")
	tok, secret, err := a.CreateToken(ctx, rep, identity.NewToken{Name: "app", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range []*identity.Service{a, b, a, b} { // load, then served from the caches
		p, err := svc.AuthenticateToken(ctx, secret)
		if err != nil || !p.Can(identity.PermLeadRead) {
			t.Fatalf("before the change: %v, can read leads %v", err, p != nil && p.Can(identity.PermLeadRead))
		}
	}
	// Make the rep a growth operator: no more leads, on both replicas, at once.
	if _, err := a.SetUserRoles(ctx, admin, rep.User.ID, []string{identity.RoleGrowthOperator}); err != nil {
		t.Fatal(err)
	}
	for name, svc := range map[string]*identity.Service{"same": a, "other": b} {
		p, err := svc.AuthenticateToken(ctx, secret)
		if err != nil || p.Can(identity.PermLeadRead) {
			t.Fatalf("%s replica after the role change: err %v, still reads leads: %v", name, err, p != nil && p.Can(identity.PermLeadRead))
		}
	}
	if err := b.RevokeToken(ctx, admin, tok.ID); err != nil {
		t.Fatal(err)
	}
	for name, svc := range map[string]*identity.Service{"same": b, "other": a} {
		if _, err := svc.AuthenticateToken(ctx, secret); err == nil {
			t.Fatalf("%s replica accepted a revoked token", name)
		} else {
			wantCode(t, err, "identity.token_revoked")
		}
	}
}
