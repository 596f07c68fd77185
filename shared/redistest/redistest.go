// Package redistest gives each test its own logical database on the local Redis
// (the dev stack configures 1024 of them), flushed before use.
package redistest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/tandemcrm/tandem/shared/devstack"
)

// DB is one test's Redis database.
type DB struct {
	Addr string
	DB   int
}

// Options for go-redis.
func (d DB) Options() *redis.Options { return &redis.Options{Addr: d.Addr, DB: d.DB} }

// Asynq options for asynq clients, servers and inspectors.
func (d DB) Asynq() asynq.RedisClientOpt { return asynq.RedisClientOpt{Addr: d.Addr, DB: d.DB} }

// URL in the form TANDEM_REDIS_URL takes.
func (d DB) URL() string { return fmt.Sprintf("redis://%s/%d", d.Addr, d.DB) }

// New allocates a database. Database 0 is never handed out; it holds the counter.
func New(t testing.TB) DB {
	t.Helper()
	stack, err := devstack.ForTests()
	if err != nil {
		t.Fatalf("redistest: local Redis: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := fmt.Sprintf("127.0.0.1:%d", stack.RedisPort)
	c0 := redis.NewClient(&redis.Options{Addr: addr})
	defer c0.Close()
	n, err := c0.Incr(ctx, "tandem:test:next-db").Result()
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	d := DB{Addr: addr, DB: 1 + int(n%1023)}
	c := redis.NewClient(d.Options())
	defer c.Close()
	if err := c.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("redistest: flush db %d: %v", d.DB, err)
	}
	return d
}

// Client returns a go-redis client on the test's database, closed with the test.
func (d DB) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(d.Options())
	t.Cleanup(func() { c.Close() })
	return c
}
