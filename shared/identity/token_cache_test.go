package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

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

// Redis losing its data (FLUSHDB here; SHUTDOWN NOSAVE or a failover in life) brings no
// revoked token back: a principal cached before the loss is not trusted while the
// generation is missing, and a generation started again after the loss never equals
// one a cached principal carries.
func TestCachedTokensAreNotTrustedAfterRedisLosesItsData(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, audit.Migrations, identity.Migrations)
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	svc := identity.NewService(db, rdb, identity.Config{})
	demo, err := svc.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := svc.Principal(ctx, demo.Users["admin"])
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Principal(ctx, demo.Users["sh1.rep"])
	if err != nil {
		t.Fatal(err)
	}
	newToken := func() (string, uuid.UUID) {
		t.Helper()
		tok, secret, err := svc.CreateToken(ctx, rep, identity.NewToken{Name: "app", TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.AuthenticateToken(ctx, secret); err != nil { // now cached
			t.Fatal(err)
		}
		return secret, tok.ID
	}
	flush := func() {
		t.Helper()
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}

	// A revocation whose bump Redis lost with its data (revoked in the database only).
	secret, id := newToken()
	flush()
	if _, err := db.Exec(ctx, "UPDATE identity.api_tokens SET revoked_at = now() WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
	_, err = svc.AuthenticateToken(ctx, secret)
	wantCode(t, err, "identity.token_revoked")

	// A revocation after the loss: its bump must not land on the generation the token
	// was cached under before the loss (a counter restarted from zero would).
	if _, err := svc.SetUserRoles(ctx, admin, rep.User.ID, []string{identity.RoleSalesRep}); err != nil {
		t.Fatal(err) // one bump, so that a counter would stand at 1
	}
	secret, id = newToken()
	flush()
	if err := svc.RevokeToken(ctx, admin, id); err != nil {
		t.Fatal(err)
	}
	_, err = svc.AuthenticateToken(ctx, secret)
	wantCode(t, err, "identity.token_revoked")

	// Disabling a user after a loss, with the bump lost too.
	secret, _ = newToken()
	flush()
	if _, err := db.Exec(ctx, "UPDATE identity.users SET disabled_at = now() WHERE id = $1", rep.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AuthenticateToken(ctx, secret); err == nil {
		t.Fatal("a disabled user's cached token was served after Redis lost its data")
	}
}
