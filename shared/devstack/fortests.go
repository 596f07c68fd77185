package devstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

var (
	testStackOnce sync.Once
	testStack     *Stack
	testStackErr  error
)

// ForTests returns the local stack for tests, starting it once per test binary when
// `make test` has not: the repository's ./var (found from go.mod upwards) unless
// TANDEM_VAR_DIR says otherwise, ports from TANDEM_PG_PORT / TANDEM_REDIS_PORT.
// Servers a test binary starts are left running for the other packages; `make stop`
// stops them.
func ForTests() (*Stack, error) {
	testStackOnce.Do(func() {
		dir := os.Getenv("TANDEM_VAR_DIR")
		if dir == "" {
			root, err := RepoRoot()
			if err != nil {
				testStackErr = err
				return
			}
			dir = filepath.Join(root, "var")
		}
		pgPort, err := envPort("TANDEM_PG_PORT", DefaultPGPort)
		if err != nil {
			testStackErr = err
			return
		}
		redisPort, err := envPort("TANDEM_REDIS_PORT", DefaultRedisPort)
		if err != nil {
			testStackErr = err
			return
		}
		s, err := New(dir, pgPort, redisPort, nil)
		if err != nil {
			testStackErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := s.Start(ctx); err != nil {
			testStackErr = err
			return
		}
		testStack = s
	})
	return testStack, testStackErr
}

// RepoRoot is the nearest directory upwards from the working directory with a go.mod.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("devstack: no go.mod above the working directory")
		}
		dir = parent
	}
}

func envPort(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number (1-65535)", name, v)
	}
	return p, nil
}
