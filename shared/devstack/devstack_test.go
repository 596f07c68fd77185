package devstack

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// A stack of its own (own directory, own ports) through start, reuse, crash leftovers
// and a foreign server on its port.
func TestStackLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// The postgres account must reach the data directory through every parent.
		for d := dir; d != "/"; d = filepath.Dir(d) {
			if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
				_ = os.Chmod(d, st.Mode().Perm()|0o001)
			}
		}
	}
	s, err := New(dir, freePort(t), freePort(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop(context.Background(), nil) })

	started, err := s.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !started.Postgres || !started.Redis {
		t.Fatalf("first start: %+v, want both started", started)
	}
	again, err := s.Start(ctx)
	if err != nil || again.Postgres || again.Redis {
		t.Fatalf("second start: %+v %v, want both reused", again, err)
	}
	checkDurable(ctx, t, s)

	// A foreign stack on the same ports is refused with a message naming the port.
	other, _ := New(t.TempDir(), s.PGPort, s.RedisPort, nil)
	if _, err := other.Start(ctx); err == nil || !strings.Contains(err.Error(), fmt.Sprint(s.PGPort)) {
		t.Fatalf("foreign stack on our ports: %v", err)
	}

	// Stop, then leave pid files as a crash would, naming a live process that is not
	// the server (this test binary): Start must see through them.
	if err := s.Stop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	me := []byte(fmt.Sprintf("%d\n", os.Getpid()))
	if err := os.WriteFile(filepath.Join(s.pgDataDir(), "postmaster.pid"), append(me, []byte(s.pgDataDir()+"\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.redisDir(), "redis.pid"), me, 0o644); err != nil {
		t.Fatal(err)
	}
	started, err = s.Start(ctx)
	if err != nil {
		t.Fatalf("start after a crash: %v", err)
	}
	if !started.Postgres || !started.Redis {
		t.Fatalf("after a crash: %+v, want both started", started)
	}
	if _, err := s.pgPing(ctx); err != nil {
		t.Fatalf("PostgreSQL not answering: %v", err)
	}
}

// A checkout in a directory the postgres account cannot enter (a private home, say):
// the cluster lives under pgFallbackRoot, ./var/pg/data links to it, and the stack
// starts, stops and starts again as anywhere else.
func TestStackInAPrivateDirectory(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := New(filepath.Join(private, "var"), freePort(t), freePort(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = s.Stop(context.Background(), nil)
		if target, err := os.Readlink(s.pgDataLink()); err == nil {
			_ = os.RemoveAll(filepath.Dir(target))
		}
	})
	if _, err := s.Start(ctx); err != nil {
		t.Fatalf("start in a private directory: %v", err)
	}
	if os.Geteuid() == 0 {
		target, err := os.Readlink(s.pgDataLink())
		if err != nil || !strings.HasPrefix(target, pgFallbackRoot) {
			t.Fatalf("as root, the data directory should be under %s: %q %v", pgFallbackRoot, target, err)
		}
	}
	if err := s.Stop(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Start(ctx); err != nil || !st.Postgres {
		t.Fatalf("second start: %+v %v", st, err)
	}
}

// checkDurable: an acknowledged commit survives a PostgreSQL crash, and queued tasks
// survive a Redis crash (append-only file, fsync every second).
func checkDurable(ctx context.Context, t *testing.T, s *Stack) {
	t.Helper()
	conn, err := pgx.Connect(ctx, s.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var sync string
	if err := conn.QueryRow(ctx, "SHOW synchronous_commit").Scan(&sync); err != nil || sync != "on" {
		t.Fatalf("synchronous_commit = %q (%v), want on", sync, err)
	}
	// The start settings reach the server (they cannot come from a reload).
	for _, kv := range startSettings {
		var got string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", kv[0]).Scan(&got); err != nil || got != kv[1] {
			t.Fatalf("%s = %q (%v), want %s", kv[0], got, err, kv[1])
		}
	}
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", s.RedisPort)})
	defer c.Close()
	res, err := c.ConfigGet(ctx, "append*").Result()
	if err != nil || res["appendonly"] != "yes" || res["appendfsync"] != "everysec" {
		t.Fatalf("redis persistence %v (%v), want appendonly yes, appendfsync everysec", res, err)
	}
}
