// Package config reads Tandem's settings from TANDEM_* environment variables and
// command-line flags (a flag wins over its variable), validates them at start, and
// prints them with secrets masked. One Config serves every subcommand: the fields
// carry their variable, flag, default and help, so the table in the README, the
// --help text and the validation all come from one place.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/pflag"

	"github.com/tandemcrm/tandem/shared/netguard"
)

// Config is every setting. Tags: env (variable), flag, def (default), help, secret.
type Config struct {
	HTTPAddr        string        `env:"TANDEM_HTTP_ADDR" flag:"http-addr" def:"127.0.0.1:8080" help:"address the HTTP API and console listen on"`
	DatabaseURL     string        `env:"TANDEM_DATABASE_URL" flag:"database-url" def:"postgres://tandem@127.0.0.1:54329/tandem?sslmode=disable" help:"PostgreSQL URL (the default is the local stack under ./var)" secret:"true"`
	RedisURL        string        `env:"TANDEM_REDIS_URL" flag:"redis-url" def:"redis://127.0.0.1:63799/0" help:"Redis URL (the default is the local stack under ./var)" secret:"true"`
	DBMaxConns      int           `env:"TANDEM_DB_MAX_CONNS" flag:"db-max-conns" def:"16" help:"PostgreSQL pool size per process"`
	LogFormat       string        `env:"TANDEM_LOG_FORMAT" flag:"log-format" def:"text" help:"log format: text or json"`
	LogLevel        string        `env:"TANDEM_LOG_LEVEL" flag:"log-level" def:"info" help:"log level: debug, info, warn, error"`
	BodyLimit       int64         `env:"TANDEM_BODY_LIMIT" flag:"body-limit" def:"1048576" help:"largest request body accepted, in bytes"`
	ShutdownTimeout time.Duration `env:"TANDEM_SHUTDOWN_TIMEOUT" flag:"shutdown-timeout" def:"15s" help:"how long to drain requests and tasks on stop"`
	WorkerConc      int           `env:"TANDEM_WORKER_CONCURRENCY" flag:"worker-concurrency" def:"20" help:"asynq tasks run at once per worker process"`
	WorkerPoll      time.Duration `env:"TANDEM_WORKER_POLL" flag:"worker-poll" def:"10ms" help:"asynq TaskCheckInterval: how often an idle worker looks for new tasks"`
	RelayPoll       time.Duration `env:"TANDEM_RELAY_POLL" flag:"relay-poll" def:"1s" help:"outbox relay poll interval when no commit notification arrives"`
	VarDir          string        `env:"TANDEM_VAR_DIR" flag:"var-dir" def:"./var" help:"tandem dev: where the local PostgreSQL, Redis and keys live"`
	PGPort          int           `env:"TANDEM_PG_PORT" flag:"pg-port" def:"54329" help:"tandem dev: port of the local PostgreSQL"`
	RedisPort       int           `env:"TANDEM_REDIS_PORT" flag:"redis-port" def:"63799" help:"tandem dev: port of the local Redis"`
	WxsimAddr       string        `env:"TANDEM_WXSIM_ADDR" flag:"wxsim-addr" def:"127.0.0.1:8091" help:"tandem dev: where the WeChat Pay simulator listens (its own host: the client rewrites only the host)"`
	WxpayKeys       string        `env:"TANDEM_WXPAY_KEYS" flag:"wxpay-keys" def:"./var/wxsim" help:"directory of the WeChat Pay merchant account's files: apiclient_key.pem, apiclient_cert.pem, apiv3_key.txt, mchid.txt, platform_cert.pem and/or pub_key.pem + pub_key_id.txt (tandem dev writes the simulator's here)"`
	WxpayBaseURL    string        `env:"TANDEM_WXPAY_BASE_URL" flag:"wxpay-base-url" def:"http://127.0.0.1:8091" help:"where WeChat Pay's API is: the dev simulator by default; https://api.mch.weixin.qq.com in production"`
	WxpayAppID      string        `env:"TANDEM_WXPAY_APPID" flag:"wxpay-appid" def:"wxd678efh567hg6787" help:"the mini-program's appid that orders are paid in (the default is the simulator's)"`
	WxminiBaseURL   string        `env:"TANDEM_WXMINI_BASE_URL" flag:"wxmini-base-url" def:"http://127.0.0.1:8091" help:"where WeChat's mini-program sign-in (/sns/jscode2session) is: the dev simulator by default; https://api.weixin.qq.com in production"`
	WxminiSecret    string        `env:"TANDEM_WXMINI_SECRET" flag:"wxmini-secret" def:"dev-app-secret" help:"the mini-program's app secret (TANDEM_WXPAY_APPID's), for consumer sign-in (the default is the simulator's)" secret:"true"`
	PublicURL       string        `env:"TANDEM_PUBLIC_URL" flag:"public-url" def:"" help:"Tandem's address as WeChat Pay reaches it, for payment notifications (empty: http://TANDEM_HTTP_ADDR)"`
	CookieSecure    string        `env:"TANDEM_COOKIE_SECURE" flag:"cookie-secure" def:"auto" help:"the session cookie's Secure flag: auto (when the request came over TLS), always or never"`
	TrustedProxies  string        `env:"TANDEM_TRUSTED_PROXIES" flag:"trusted-proxies" def:"" help:"comma-separated addresses or CIDRs of proxies whose X-Forwarded-For is believed (empty: none; the peer address is the client)"`
	TokenRate       int           `env:"TANDEM_TOKEN_RATE" flag:"token-rate" def:"600" help:"API requests per minute allowed per API token"`
	PprofAddr       string        `env:"TANDEM_PPROF_ADDR" flag:"pprof-addr" def:"" help:"loopback address for Go's profiler (/debug/pprof/) beside the API, e.g. 127.0.0.1:6060 (empty: off)"`
	RedriveAfter    time.Duration `env:"TANDEM_OUTBOX_REDRIVE_AFTER" flag:"outbox-redrive-after" def:"1m" help:"an event a subscriber has not done this long after its enqueue is looked up in asynq, and enqueued again when asynq lost it (Redis lost its data)"`
	WebhookAllow    string        `env:"TANDEM_WEBHOOK_ALLOW_NETS" flag:"webhook-allow-nets" def:"" help:"comma-separated CIDRs, or loopback, private, link-local: non-public addresses merchant webhooks may reach (empty: public addresses only; tandem dev allows loopback)"`
	RefundApproval  string        `env:"TANDEM_REFUND_APPROVAL_OVER" flag:"refund-approval-over" def:"5000.00" help:"a refund of more than this many yuan waits for a second person's approval (another holder of billing.refund.create) before it goes to WeChat Pay; 0: none does"`
}

// Field describes one setting, for --help and the README table.
type Field struct {
	Env, Flag, Default, Help string
	Secret                   bool
}

// Fields lists every setting in declaration order.
func Fields() []Field {
	t := reflect.TypeOf(Config{})
	out := make([]Field, t.NumField())
	for i := range out {
		f := t.Field(i)
		out[i] = Field{Env: f.Tag.Get("env"), Flag: f.Tag.Get("flag"), Default: f.Tag.Get("def"),
			Help: f.Tag.Get("help"), Secret: f.Tag.Get("secret") == "true"}
	}
	return out
}

// Bind declares every setting as a flag on fs; Load reads them back.
func Bind(fs *pflag.FlagSet) {
	for _, f := range Fields() {
		fs.String(f.Flag, "", fmt.Sprintf("%s (env %s, default %q)", f.Help, f.Env, f.Default))
	}
}

// Load builds the Config: flag if set, else the variable if set, else the default;
// every value is parsed and checked, and an error names the variable or flag at fault.
func Load(fs *pflag.FlagSet) (Config, error) {
	var c Config
	v := reflect.ValueOf(&c).Elem()
	for i, f := range Fields() {
		raw, source := f.Default, "default of "+f.Env
		if s, ok := os.LookupEnv(f.Env); ok {
			raw, source = s, f.Env
		}
		if fs != nil {
			if fl := fs.Lookup(f.Flag); fl != nil && fl.Changed {
				raw, source = fl.Value.String(), "--"+f.Flag
			}
		}
		if err := setField(v.Field(i), raw); err != nil {
			return c, fmt.Errorf("%s=%q: %w", source, maskIf(f.Secret, raw), err)
		}
	}
	return c, c.validate()
}

func setField(v reflect.Value, raw string) error {
	switch v.Interface().(type) {
	case string:
		v.SetString(raw)
	case int:
		n, err := strconv.Atoi(raw)
		if err != nil {
			return fmt.Errorf("not a whole number")
		}
		v.SetInt(int64(n))
	case int64:
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			return fmt.Errorf("not a whole number")
		}
		v.SetInt(n)
	case time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("not a duration (like 10ms, 15s, 2m)")
		}
		v.SetInt(int64(d))
	default:
		return fmt.Errorf("unsupported setting type %s", v.Type())
	}
	return nil
}

func (c Config) validate() error {
	var problems []string
	check := func(ok bool, env, msg string) {
		if !ok {
			problems = append(problems, env+": "+msg)
		}
	}
	_, _, err := net.SplitHostPort(c.HTTPAddr)
	check(err == nil, "TANDEM_HTTP_ADDR", "want host:port, like 127.0.0.1:8080")
	for env, v := range map[string]string{"TANDEM_WXPAY_BASE_URL": c.WxpayBaseURL, "TANDEM_WXMINI_BASE_URL": c.WxminiBaseURL, "TANDEM_PUBLIC_URL": c.PublicURL} {
		if u, err := url.Parse(v); v != "" && (err != nil || u.Scheme == "" || u.Host == "") {
			problems = append(problems, env+": want scheme://host[:port], like https://pay.example.com")
		}
	}
	check(c.WxpayBaseURL != "", "TANDEM_WXPAY_BASE_URL", "must not be empty")
	if _, err := netguard.Parse(c.WebhookAllow); err != nil {
		problems = append(problems, "TANDEM_WEBHOOK_ALLOW_NETS: "+err.Error())
	}
	check(c.RedriveAfter >= time.Second, "TANDEM_OUTBOX_REDRIVE_AFTER", "at least 1s")
	_, _, err = net.SplitHostPort(c.WxsimAddr)
	check(err == nil && c.WxsimAddr != c.HTTPAddr, "TANDEM_WXSIM_ADDR", "want host:port, like 127.0.0.1:8091, other than TANDEM_HTTP_ADDR")
	_, err = pgxpool.ParseConfig(c.DatabaseURL)
	check(err == nil && strings.HasPrefix(c.DatabaseURL, "postgres"), "TANDEM_DATABASE_URL", "want postgres://user[:password]@host:port/db")
	_, err = redis.ParseURL(c.RedisURL)
	check(err == nil, "TANDEM_REDIS_URL", "want redis://[:password@]host:port/db")
	check(c.DBMaxConns >= 1 && c.DBMaxConns <= 1000, "TANDEM_DB_MAX_CONNS", "want 1 to 1000")
	check(c.LogFormat == "text" || c.LogFormat == "json", "TANDEM_LOG_FORMAT", "want text or json")
	check(slicesContains([]string{"debug", "info", "warn", "error"}, strings.ToLower(c.LogLevel)), "TANDEM_LOG_LEVEL", "want debug, info, warn or error")
	check(c.BodyLimit >= 1024, "TANDEM_BODY_LIMIT", "want at least 1024 bytes")
	check(c.ShutdownTimeout > 0, "TANDEM_SHUTDOWN_TIMEOUT", "want a positive duration")
	check(c.WorkerConc >= 1 && c.WorkerConc <= 10000, "TANDEM_WORKER_CONCURRENCY", "want 1 to 10000")
	check(c.WorkerPoll >= time.Millisecond && c.WorkerPoll <= time.Minute, "TANDEM_WORKER_POLL", "want 1ms to 1m")
	check(c.RelayPoll >= time.Millisecond && c.RelayPoll <= time.Minute, "TANDEM_RELAY_POLL", "want 1ms to 1m")
	check(c.VarDir != "", "TANDEM_VAR_DIR", "must not be empty")
	check(c.PGPort >= 1 && c.PGPort <= 65535, "TANDEM_PG_PORT", "want a port, 1 to 65535")
	check(c.RedisPort >= 1 && c.RedisPort <= 65535, "TANDEM_REDIS_PORT", "want a port, 1 to 65535")
	check(c.PGPort != c.RedisPort, "TANDEM_REDIS_PORT", "must differ from TANDEM_PG_PORT")
	if len(problems) > 0 {
		return fmt.Errorf("configuration: %s", strings.Join(problems, "; "))
	}
	return nil
}

func slicesContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// String prints every setting as VAR=value, passwords in URLs masked.
func (c Config) String() string {
	var b strings.Builder
	v := reflect.ValueOf(c)
	for i, f := range Fields() {
		fmt.Fprintf(&b, "%s=%s\n", f.Env, maskIf(f.Secret, fmt.Sprint(v.Field(i).Interface())))
	}
	return b.String()
}

// LogValue makes slog print the masked form.
func (c Config) LogValue() string { return c.String() }

func maskIf(secret bool, s string) string {
	if !secret {
		return s
	}
	return MaskURL(s)
}

// MaskURL replaces the password of a URL with "****"; a string that is not a URL with a
// password is returned as it is, since there is nothing in it to hide.
func MaskURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "****"
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return strings.Replace(u.String(), "xxxxx", "****", 1)
		}
	}
	return s
}
