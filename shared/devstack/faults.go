package devstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
)

// CrashPostgres stops the cluster the way a power cut looks to PostgreSQL (pg_ctl
// restart -m immediate: no checkpoint, no goodbye to clients; the start recovers from
// the WAL) and starts it again. For fault experiments (tandem faults) on a stack of
// their own: every client of the cluster loses its connections.
func (s *Stack) CrashPostgres(ctx context.Context) error {
	bin, err := pgBinDir()
	if err != nil {
		return err
	}
	runAs, err := pgRunAs()
	if err != nil {
		return err
	}
	out, err := pgCommand(ctx, runAs, filepath.Join(bin, "pg_ctl"), "restart", "-D", s.pgDataDir(), "-m", "immediate",
		"-l", s.pgLogFile(), "-w", "-t", "60", "-o", fmt.Sprintf("-p %d", s.PGPort)).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl restart -m immediate: %v: %s", err, out)
	}
	return nil
}

// LoseRedis stops Redis with SHUTDOWN NOSAVE and deletes its files (the append-only
// file and the snapshot) before starting it again: Redis back, empty, as after losing
// its disk or failing over to an empty replica. For fault experiments, as CrashPostgres.
func (s *Stack) LoseRedis(ctx context.Context) error {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.RedisPort)})
	_ = c.ShutdownNoSave(ctx).Err() // the connection closing is its success
	c.Close()
	if err := waitFor(ctx, 15*time.Second, "Redis shutdown", func() bool { _, err := s.redisPing(ctx); return err != nil }); err != nil {
		return err
	}
	for _, name := range []string{"appendonlydir", "dump.rdb"} {
		if err := os.RemoveAll(filepath.Join(s.redisDir(), name)); err != nil {
			return fmt.Errorf("devstack: %w", err)
		}
	}
	_, err := s.startRedis(ctx)
	return err
}
