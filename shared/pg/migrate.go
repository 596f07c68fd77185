package pg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

// MigrationSet is one owner's migrations: Name is the PostgreSQL schema it owns (its
// files create it), FS holds tern-numbered files (001_init.sql, 002_...).
// Each set keeps its own version (platform.schema_version_<name>), so domains evolve
// independently; sets are applied in the order given, which must follow the direction
// of dependencies (a set may reference only schemas before it).
type MigrationSet struct {
	Name string
	FS   fs.FS
}

// migrateLock is the advisory lock held for a whole Migrate, so two processes starting
// at once apply the sets one after the other, never interleaved.
const migrateLock = 7_364_001

// Migrate applies every set in order under a session advisory lock.
func Migrate(ctx context.Context, pool *pgxpool.Pool, sets ...MigrationSet) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock) //nolint:errcheck
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS platform"); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, set := range sets {
		m, err := migrate.NewMigrator(ctx, conn.Conn(), "platform.schema_version_"+set.Name)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", set.Name, err)
		}
		if err := m.LoadMigrations(set.FS); err != nil {
			return fmt.Errorf("migrate %s: load: %w", set.Name, err)
		}
		if err := m.Migrate(ctx); err != nil {
			return fmt.Errorf("migrate %s: %w", set.Name, err)
		}
	}
	return nil
}

// Fingerprint is a hash of the sets' names and file contents: equal fingerprints mean
// an identical schema, which is how tests reuse one migrated template database.
func Fingerprint(sets ...MigrationSet) (string, error) {
	h := sha256.New()
	for _, set := range sets {
		fmt.Fprintf(h, "set %s\n", set.Name)
		names, err := fs.Glob(set.FS, "*.sql")
		if err != nil {
			return "", err
		}
		sort.Strings(names)
		for _, n := range names {
			b, err := fs.ReadFile(set.FS, n)
			if err != nil {
				return "", err
			}
			fmt.Fprintf(h, "file %s %d\n", n, len(b))
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// EmbeddedMigrations is the set named name made of the files under dir of an embedded
// file system (each owner embeds its own migrations/ directory). A dir that is not
// there is a mistake in our own code, so it panics at start.
func EmbeddedMigrations(name string, files fs.FS, dir string) MigrationSet {
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(fmt.Sprintf("migrations of %s: %v", name, err))
	}
	return MigrationSet{Name: name, FS: sub}
}
