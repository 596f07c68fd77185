// Package pgtest gives each test its own PostgreSQL database, cloned from a template
// that was migrated once (the idea of pgtestdb): the template is named by a hash of
// the migrations, so a changed migration makes a new template and an unchanged one is
// reused across test binaries and runs. A test's database is dropped when it passes
// and kept, with its name logged, when it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/devstack"
	"github.com/tandemcrm/tandem/shared/pg"
)

// New returns a pool on a fresh database migrated with sets (the platform set is
// always applied first, so callers list only what they add).
func New(t testing.TB, sets ...pg.MigrationSet) *pgxpool.Pool {
	t.Helper()
	url, _ := NewDatabase(t, sets...)
	pool, err := pg.Connect(context.Background(), url, pg.PoolConfig{MaxConns: 8, AppName: "tandem-test"})
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	t.Cleanup(pool.Close) // registered after the drop, so it runs before it
	return pool
}

// NewDatabase creates the database and returns its URL and name, for tests that open
// their own connections (a command under test, say).
func NewDatabase(t testing.TB, sets ...pg.MigrationSet) (url, name string) {
	t.Helper()
	stack, err := devstack.ForTests()
	if err != nil {
		t.Fatalf("pgtest: local PostgreSQL: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	all := withPlatform(sets)
	tpl, err := ensureTemplate(ctx, stack, all)
	if err != nil {
		t.Fatalf("pgtest: template: %v", err)
	}
	name = "test_" + randomSuffix()
	admin, err := pgx.Connect(ctx, stack.DatabaseURLFor("postgres"))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tpl)); err != nil {
		t.Fatalf("pgtest: create %s from %s: %v", name, tpl, err)
	}
	// A test's database is thrown away: it needs no durable commits (the cluster does).
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+name+" SET synchronous_commit = off"); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("pgtest: kept database %s for inspection (%s)", name, stack.DatabaseURLFor(name))
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, stack.DatabaseURLFor("postgres"))
		if err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("pgtest: drop %s: %v", name, err)
		}
	})
	return stack.DatabaseURLFor(name), name
}

func withPlatform(sets []pg.MigrationSet) []pg.MigrationSet {
	out := []pg.MigrationSet{platformSet()}
	for _, s := range sets {
		if s.Name != "platform" {
			out = append(out, s)
		}
	}
	return out
}

// ensureTemplate makes the template database for these sets once, under an advisory
// lock so that parallel test binaries wait for one another instead of racing.
func ensureTemplate(ctx context.Context, stack *devstack.Stack, sets []pg.MigrationSet) (string, error) {
	fp, err := pg.Fingerprint(sets...)
	if err != nil {
		return "", err
	}
	tpl := "tpl_" + fp
	admin, err := pgx.Connect(ctx, stack.DatabaseURLFor("postgres"))
	if err != nil {
		return "", err
	}
	defer admin.Close(ctx)
	h := fnv.New64a()
	h.Write([]byte(tpl))
	lock := int64(h.Sum64() >> 1)
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
		return "", err
	}
	defer admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lock) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", tpl).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return tpl, nil
	}
	// Build under a scratch name and rename when complete, so an interrupted build
	// never leaves a half-migrated template that later runs would trust.
	scratch := tpl + "_build"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+scratch+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+scratch); err != nil {
		return "", err
	}
	pool, err := pg.Connect(ctx, stack.DatabaseURLFor(scratch), pg.PoolConfig{MaxConns: 2})
	if err != nil {
		return "", err
	}
	err = pg.Migrate(ctx, pool, sets...)
	pool.Close()
	if err != nil {
		return "", err
	}
	for _, q := range []string{
		"ALTER DATABASE " + scratch + " RENAME TO " + tpl,
		"ALTER DATABASE " + tpl + " WITH IS_TEMPLATE true",
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return "", err
		}
	}
	return tpl, nil
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
