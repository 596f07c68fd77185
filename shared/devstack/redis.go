package devstack

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisConf: loopback only, persistence under Dir/redis, and many logical databases so
// each test can have its own. Persistence is the append-only file written to disk every
// second (plus RDB snapshots): a crash of Redis or of the machine loses at most the last
// second of queued tasks, and the outbox re-driver puts back whatever was lost.
const redisConf = `bind 127.0.0.1
port %d
dir %s
pidfile %s
logfile %s
daemonize yes
protected-mode yes
databases 1024
save 60 1000
appendonly yes
appendfsync everysec
`

func (s *Stack) redisDir() string { return filepath.Join(s.Dir, "redis") }

func (s *Stack) redisPing(ctx context.Context) (dir string, err error) {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.RedisPort), DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	res, err := c.ConfigGet(cctx, "dir").Result()
	if err != nil {
		return "", err
	}
	return res["dir"], nil
}

// redisLoaded: Redis answers commands. CONFIG (redisPing) is answered while Redis still
// loads its append-only file, PING is refused (LOADING) until the data is in.
func (s *Stack) redisLoaded(ctx context.Context) bool {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.RedisPort), DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.Ping(cctx).Err() == nil
}

// awaitRedisLoaded waits for a large append-only file to load.
func (s *Stack) awaitRedisLoaded(ctx context.Context) error {
	return waitFor(ctx, 60*time.Second, "Redis to load its data", func() bool { return s.redisLoaded(ctx) })
}

func (s *Stack) startRedis(ctx context.Context) (bool, error) {
	dir := s.redisDir()
	if got, err := s.redisPing(ctx); err == nil {
		if sameDir(got, dir) {
			if err := s.awaitRedisLoaded(ctx); err != nil {
				return false, err
			}
			return false, s.ensureRedisAOF(ctx)
		}
		return false, fmt.Errorf("port %d has a Redis using %s, not ours (%s): set TANDEM_REDIS_PORT to a free port", s.RedisPort, got, dir)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return false, fmt.Errorf("redis-server not found: install Debian package redis-server (run deploy/dev/install.sh redis)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, fmt.Errorf("devstack: %w", err)
	}
	pidFile := filepath.Join(dir, "redis.pid")
	if b, err := os.ReadFile(pidFile); err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if !processAlive(pid, "redis-server") {
			s.Log.Warn("removing stale Redis pid file", "pid", pid, "file", pidFile)
			os.Remove(pidFile)
		}
	}
	conf := filepath.Join(dir, "redis.conf")
	logFile := filepath.Join(dir, "redis.log")
	if err := os.WriteFile(conf, fmt.Appendf(nil, redisConf, s.RedisPort, dir, pidFile, logFile), 0o644); err != nil {
		return false, fmt.Errorf("devstack: %w", err)
	}
	s.Log.Info("starting Redis", "port", s.RedisPort, "dir", dir)
	cmd := exec.CommandContext(ctx, bin, conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := cmd.CombinedOutput(); err != nil {
		return false, fmt.Errorf("redis-server did not start on 127.0.0.1:%d (%v): %s; see %s", s.RedisPort, err, out, logFile)
	}
	if err := waitFor(ctx, 15*time.Second, "Redis", func() bool { _, err := s.redisPing(ctx); return err == nil }); err != nil {
		return true, err
	}
	return true, s.awaitRedisLoaded(ctx)
}

// ensureRedisAOF turns the append-only file on in a Redis started before it was in the
// configuration (CONFIG SET rewrites nothing on disk; the next start reads redisConf).
func (s *Stack) ensureRedisAOF(ctx context.Context) error {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.RedisPort)})
	defer c.Close()
	res, err := c.ConfigGet(ctx, "appendonly").Result()
	if err != nil {
		return fmt.Errorf("devstack: redis: %w", err)
	}
	if res["appendonly"] == "yes" {
		return nil
	}
	s.Log.Info("turning on Redis's append-only file", "port", s.RedisPort)
	if err := c.ConfigSet(ctx, "appendfsync", "everysec").Err(); err != nil {
		return fmt.Errorf("devstack: redis: %w", err)
	}
	if err := c.ConfigSet(ctx, "appendonly", "yes").Err(); err != nil {
		return fmt.Errorf("devstack: redis: %w", err)
	}
	return nil
}

func (s *Stack) stopRedis(ctx context.Context) error {
	if _, err := s.redisPing(ctx); err != nil {
		return nil
	}
	s.Log.Info("stopping Redis", "port", s.RedisPort)
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.RedisPort)})
	defer c.Close()
	// SHUTDOWN SAVE writes the snapshot; the connection closing is its success.
	_ = c.ShutdownSave(context.WithoutCancel(ctx)).Err()
	return waitFor(context.WithoutCancel(ctx), 15*time.Second, "Redis shutdown", func() bool {
		_, err := s.redisPing(ctx)
		return err != nil
	})
}
