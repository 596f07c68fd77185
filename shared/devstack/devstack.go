// Package devstack runs the local PostgreSQL and Redis that `tandem dev`, `make run`,
// `make test` and the test helpers use: real servers from the installed Debian binaries,
// with their data under one directory (./var), listening on 127.0.0.1 only.
//
// Start is idempotent and safe to call from many processes at once (a file lock
// serialises them): a server already running from this directory is reused, a server
// from elsewhere on the port is an error that names the port, and a pid file left by a
// crash is removed before starting.
package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Stack is the local pair of servers under Dir.
type Stack struct {
	Dir       string // the var directory, e.g. ./var; made absolute by New
	PGPort    int
	RedisPort int
	Log       *slog.Logger
}

// Started says which servers a Start call launched (and so which Stop should stop).
type Started struct{ Postgres, Redis bool }

// Default ports are away from the system defaults so a system PostgreSQL or Redis
// on 5432/6379 never collides with ours.
const (
	DefaultPGPort    = 54329
	DefaultRedisPort = 63799
	// DBName and DBUser are the local cluster's database and superuser.
	DBName = "tandem"
	DBUser = "tandem"
)

// New returns a Stack rooted at dir (made absolute).
func New(dir string, pgPort, redisPort int, log *slog.Logger) (*Stack, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Stack{Dir: abs, PGPort: pgPort, RedisPort: redisPort, Log: log}, nil
}

// DatabaseURL is the URL of the stack's application database.
func (s *Stack) DatabaseURL() string {
	return s.DatabaseURLFor(DBName)
}

// DatabaseURLFor is the URL of another database on the same cluster (tests clone one each).
func (s *Stack) DatabaseURLFor(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", DBUser, s.PGPort, db)
}

// RedisURL is the URL of database 0 on the stack's Redis.
func (s *Stack) RedisURL() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", s.RedisPort) }

// Start makes sure both servers run, starting what is not running.
func (s *Stack) Start(ctx context.Context) (Started, error) {
	var st Started
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return st, fmt.Errorf("devstack: create %s: %w", s.Dir, err)
	}
	unlock, err := s.lock(ctx)
	if err != nil {
		return st, err
	}
	defer unlock()
	if st.Postgres, err = s.startPostgres(ctx); err != nil {
		return st, err
	}
	if st.Redis, err = s.startRedis(ctx); err != nil {
		return st, err
	}
	return st, nil
}

// Stop stops the servers named in which (both when which is nil).
func (s *Stack) Stop(ctx context.Context, which *Started) error {
	unlock, err := s.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	var errs []error
	if which == nil || which.Redis {
		errs = append(errs, s.stopRedis(ctx))
	}
	if which == nil || which.Postgres {
		errs = append(errs, s.stopPostgres(ctx))
	}
	return errors.Join(errs...)
}

// lock takes an exclusive flock on Dir/stack.lock so that parallel test binaries and a
// `make run` never start or initialise the same server twice.
func (s *Stack) lock(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(filepath.Join(s.Dir, "stack.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("devstack: lock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("devstack: lock: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("devstack: waiting for %s: %w", f.Name(), ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// processAlive reports whether pid is a live process whose command name is comm.
// A pid file left by a crash may name a pid that a different program now has.
func processAlive(pid int, comm string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return false
	}
	name := string(b)
	if len(name) > 0 && name[len(name)-1] == '\n' {
		name = name[:len(name)-1]
	}
	return name == comm || (len(comm) > 15 && name == comm[:15])
}

func waitFor(ctx context.Context, timeout time.Duration, what string, ok func() bool) error {
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			return fmt.Errorf("devstack: %s did not come up within %s", what, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
