// Package pg wraps PostgreSQL through pgx/v5: the pool, transactions that retry what
// PostgreSQL asks to be retried, the mapping of PostgreSQL errors to errs kinds, and
// schema migrations embedded in the binary.
package pg

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PoolConfig tunes the pool. Zero values take the defaults.
type PoolConfig struct {
	MaxConns int32
	MinConns int32
	// AppName shows in pg_stat_activity, so an operator sees which process holds a connection.
	AppName string
}

// Connect opens a pool and checks that the server answers. pgx's default query mode
// (QueryExecModeCacheStatement) prepares each statement once per connection and
// reuses it: the statement cache the platform relies on for fast primary-key reads.
func Connect(ctx context.Context, url string, c PoolConfig) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	if c.MaxConns > 0 {
		cfg.MaxConns = c.MaxConns
	}
	if c.MinConns > 0 {
		cfg.MinConns = c.MinConns
	}
	if c.AppName != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = c.AppName
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		binaryUUIDs(conn.TypeMap())
		return nil
	}
	cfg.HealthCheckPeriod = 15 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
