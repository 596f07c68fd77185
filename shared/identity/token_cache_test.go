package identity_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// running starts svc.Run (as tandem serve does) and waits until its change listener
// is connected, so that cached principals are trusted.
func running(t *testing.T, svc *identity.Service) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the change listener", svc.Listening)
}

func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(time.Millisecond)
	}
	return time.Since(start)
}

type tokenWorld struct {
	db         *pgxpool.Pool
	a, b       *identity.Service // two processes on one database and Redis, as two replicas
	admin, rep *identity.Principal
}

func newTokenWorld(t *testing.T) *tokenWorld {
	t.Helper()
	db := pgtest.New(t, audit.Migrations, identity.Migrations)
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	w := &tokenWorld{db: db, a: identity.NewService(db, rdb, identity.Config{}), b: identity.NewService(db, rdb, identity.Config{})}
	demo, err := w.a.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	if w.admin, err = w.a.Principal(ctx, demo.Users["admin"]); err != nil {
		t.Fatal(err)
	}
	if w.rep, err = w.a.Principal(ctx, demo.Users["sh1.rep"]); err != nil {
		t.Fatal(err)
	}
	return w
}

// token issues a token for the rep and has every service given load it into its cache.
func (w *tokenWorld) token(t *testing.T, svcs ...*identity.Service) (string, uuid.UUID) {
	t.Helper()
	tok, secret, err := w.a.CreateToken(context.Background(), w.rep, identity.NewToken{Name: "app", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	for _, svc := range svcs {
		if _, err := svc.AuthenticateToken(context.Background(), secret); err != nil {
			t.Fatal(err)
		}
	}
	return secret, tok.ID
}

// revokeBehindItsBack revokes a token in the database only, with no notification: what
// a notification lost while a listener was away looks like.
func (w *tokenWorld) revokeBehindItsBack(t *testing.T, id uuid.UUID) {
	t.Helper()
	if _, err := w.db.Exec(context.Background(), "UPDATE identity.api_tokens SET revoked_at = now() WHERE id = $1", id); err != nil {
		t.Fatal(err)
	}
}

// A change of roles or a revocation made through one process takes effect on that
// process before the call returns, and on every other process as soon as PostgreSQL
// delivers the change's NOTIFY (measured here; milliseconds on one machine).
func TestCachedTokensFollowChangesOnEveryReplica(t *testing.T) {
	t.Parallel()
	w := newTokenWorld(t)
	ctx := context.Background()
	running(t, w.a)
	running(t, w.b)
	secret, _ := w.token(t, w.a, w.b)

	// The caches are really used: a revocation nobody was told of is not seen.
	quiet, quietID := w.token(t, w.a)
	w.revokeBehindItsBack(t, quietID)
	if _, err := w.a.AuthenticateToken(ctx, quiet); err != nil {
		t.Fatalf("the cached principal was not used: %v", err)
	}

	// Make the rep a growth operator: no more leads.
	if _, err := w.a.SetUserRoles(ctx, w.admin, w.rep.User.ID, []string{identity.RoleGrowthOperator}); err != nil {
		t.Fatal(err)
	}
	if p, err := w.a.AuthenticateToken(ctx, secret); err != nil || p.Can(identity.PermLeadRead) {
		t.Fatalf("same process after the role change: err %v, still reads leads: %v", err, p != nil && p.Can(identity.PermLeadRead))
	}
	took := waitFor(t, "the role change on the other process", func() bool {
		p, err := w.b.AuthenticateToken(ctx, secret)
		return err == nil && !p.Can(identity.PermLeadRead)
	})
	t.Logf("role change seen by the other process after %v", took)

	secret2, tok2 := w.token(t, w.a, w.b)
	if err := w.b.RevokeToken(ctx, w.admin, tok2); err != nil {
		t.Fatal(err)
	}
	if _, err := w.b.AuthenticateToken(ctx, secret2); err == nil {
		t.Fatal("the revoking process accepted the revoked token after RevokeToken returned")
	} else {
		wantCode(t, err, "identity.token_revoked")
	}
	took = waitFor(t, "the revocation on the other process", func() bool {
		_, err := w.a.AuthenticateToken(ctx, secret2)
		return err != nil
	})
	t.Logf("revocation seen by the other process after %v", took)
	_, err := w.a.AuthenticateToken(ctx, secret2)
	wantCode(t, err, "identity.token_revoked")
	if _, err := w.a.AuthenticateToken(ctx, quiet); err == nil {
		t.Fatal("a change elsewhere left a stale entry trusted")
	}
}

// A cached principal is never trusted while the generation is unknown: before the
// listener is connected, and after it lost its connection (notifications sent meanwhile
// are missed, so the generation moves on when it is back).
func TestCachedTokensAreNotTrustedWhenTheGenerationIsUnknown(t *testing.T) {
	t.Parallel()
	w := newTokenWorld(t)
	ctx := context.Background()

	// Not listening (Run not started): every request reads PostgreSQL.
	secret, id := w.token(t, w.b, w.b)
	w.revokeBehindItsBack(t, id)
	_, err := w.b.AuthenticateToken(ctx, secret)
	wantCode(t, err, "identity.token_revoked")

	// Listening, then the listener's connection is killed and a revocation is made
	// behind its back: the entry cached before is not served.
	running(t, w.a)
	secret, id = w.token(t, w.a, w.a)
	before := w.a.Generation()
	if _, err := w.db.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lost listener", func() bool { return w.a.Generation() != before })
	w.revokeBehindItsBack(t, id)
	_, err = w.a.AuthenticateToken(ctx, secret)
	wantCode(t, err, "identity.token_revoked")

	// Disabling a user, also behind its back, after the listener is back.
	waitFor(t, "the listener back", w.a.Listening)
	secret, _ = w.token(t, w.a, w.a)
	before = w.a.Generation()
	if _, err := w.db.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lost listener", func() bool { return w.a.Generation() != before })
	if _, err := w.db.Exec(ctx, "UPDATE identity.users SET disabled_at = now() WHERE id = $1", w.rep.User.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := w.a.AuthenticateToken(ctx, secret); err == nil {
		t.Fatal("a disabled user's cached token was served after the listener lost its connection")
	}
}

// The token rate is counted in each process and shared through Redis: what one process
// counted and flushed counts against the same token on another.
func TestTokenRateIsSharedAcrossProcesses(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, audit.Migrations, identity.Migrations)
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	cfg := identity.Config{TokenRate: 4}
	a, b := identity.NewService(db, rdb, cfg), identity.NewService(db, rdb, cfg)
	demo, err := a.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.Principal(ctx, demo.Users["sh1.rep"])
	if err != nil {
		t.Fatal(err)
	}
	running(t, a)
	running(t, b)
	tok, secret, err := a.CreateToken(ctx, rep, identity.NewToken{Name: "app", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	counted := func(n int) func() bool {
		return func() bool {
			v, _ := rdb.Get(ctx, "tandem:identity:token:"+tok.ID.String()).Int()
			return v == n
		}
	}
	for range 3 {
		if _, err := a.AuthenticateToken(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a's counts in Redis", counted(3))
	if _, err := b.AuthenticateToken(ctx, secret); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "b's count in Redis", counted(4))
	// b's flush reads the shared total back after Redis has counted it: wait for b to
	// hold it, or a request between the two would be checked against b's own count.
	waitFor(t, "the shared count back in b", func() bool { return b.TokenRateSeen(tok.ID.String()) == 4 })
	_, err = b.AuthenticateToken(ctx, secret)
	wantCode(t, err, "identity.token_rate_limited")
}

// Once a minute a token's last_used_at is due again, and every request in flight finds
// it due at once: one of them writes it, the others go on without a round trip (they
// used to all queue on the token's row lock, once a minute, in the serving tail).
func TestTokenLastUsedIsWrittenOncePerMinuteUnderConcurrentRequests(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t, audit.Migrations, identity.Migrations)
	rdb := redistest.New(t).Client(t)
	ctx := context.Background()
	clk := &clock{now: time.Now()}
	svc := identity.NewService(db, rdb, identity.Config{Now: clk.Now})
	running(t, svc)
	demo, err := svc.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := svc.Principal(ctx, demo.Users["admin"])
	if err != nil {
		t.Fatal(err)
	}
	tok, secret, err := svc.CreateToken(ctx, admin, identity.NewToken{Name: "app", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Every write of last_used_at is counted by the database itself.
	if _, err := db.Exec(ctx, `CREATE TABLE public.touches (at timestamptz);
CREATE FUNCTION public.count_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO public.touches VALUES (NEW.last_used_at); RETURN NEW; END $$;
CREATE TRIGGER count_touch AFTER UPDATE OF last_used_at ON identity.api_tokens FOR EACH ROW EXECUTE FUNCTION public.count_touch()`); err != nil {
		t.Fatal(err)
	}
	touches := func() int {
		var n int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM public.touches`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	concurrently := func() {
		t.Helper()
		start := make(chan struct{})
		errc := make(chan error, 32)
		for range 32 {
			go func() {
				<-start
				_, err := svc.AuthenticateToken(ctx, secret)
				errc <- err
			}()
		}
		close(start)
		for range 32 {
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		}
	}

	if _, err := svc.AuthenticateToken(ctx, secret); err != nil { // first use: loaded, cached, written
		t.Fatal(err)
	}
	concurrently() // within the minute: nothing to write
	if n := touches(); n != 1 {
		t.Fatalf("within the first minute: %d writes of last_used_at, want 1", n)
	}
	clk.Advance(2 * time.Minute)
	concurrently()
	if n := touches(); n != 2 {
		t.Fatalf("32 requests finding last_used_at due together: %d writes in all, want 2", n)
	}
	listed, _, err := svc.ListTokens(ctx, admin, uuid.Nil, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range listed {
		if l.ID == tok.ID && (l.LastUsedAt == nil || !l.LastUsedAt.Equal(clk.Now().Truncate(time.Microsecond))) {
			t.Fatalf("last_used_at %v, want %v", l.LastUsedAt, clk.Now())
		}
	}
}
