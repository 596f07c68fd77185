package config

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestLoadPrecedenceAndDefaults(t *testing.T) {
	t.Setenv("TANDEM_HTTP_ADDR", "127.0.0.1:9999")
	t.Setenv("TANDEM_WORKER_POLL", "25ms")
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	Bind(fs)
	if err := fs.Parse([]string{"--http-addr", "127.0.0.1:7000"}); err != nil {
		t.Fatal(err)
	}
	c, err := Load(fs)
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:7000" {
		t.Errorf("flag should win: %s", c.HTTPAddr)
	}
	if c.WorkerPoll != 25*time.Millisecond {
		t.Errorf("env should win over default: %s", c.WorkerPoll)
	}
	if c.DBMaxConns != 16 {
		t.Errorf("default: %d", c.DBMaxConns)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"TANDEM_DB_MAX_CONNS":     "lots",
		"TANDEM_WORKER_POLL":      "10",
		"TANDEM_LOG_FORMAT":       "xml",
		"TANDEM_HTTP_ADDR":        "8080",
		"TANDEM_DATABASE_URL":     "mysql://x",
		"TANDEM_PG_PORT":          "70000",
		"TANDEM_BODY_LIMIT":       "12",
		"TANDEM_REDIS_URL":        "http://nope",
		"TANDEM_LOG_LEVEL":        "loud",
		"TANDEM_SHUTDOWN_TIMEOUT": "-1s",
	}
	for env, val := range cases {
		t.Run(env, func(t *testing.T) {
			t.Setenv(env, val)
			_, err := Load(nil)
			if err == nil || !strings.Contains(err.Error(), env) {
				t.Fatalf("%s=%s: error %v does not name the variable", env, val, err)
			}
		})
	}
}

func TestSecretsMasked(t *testing.T) {
	t.Setenv("TANDEM_DATABASE_URL", "postgres://app:s3cret@db:5432/tandem")
	t.Setenv("TANDEM_REDIS_URL", "redis://:hunter2@cache:6379/0")
	c, err := Load(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.String()
	if strings.Contains(s, "s3cret") || strings.Contains(s, "hunter2") {
		t.Fatalf("secret printed:\n%s", s)
	}
	if !strings.Contains(s, "postgres://app:****@db:5432/tandem") {
		t.Fatalf("masked URL missing:\n%s", s)
	}
	t.Setenv("TANDEM_DATABASE_URL", "mysql://app:s3cret@db")
	if _, err := Load(nil); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error leaks the secret: %v", err)
	}
}
