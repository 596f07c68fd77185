package wxpay

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/notify"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// Client talks to WeChat Pay for one merchant account. It is safe for concurrent use.
type Client struct {
	acct   Account
	logger *slog.Logger
	cfg    clientConfig

	api      *core.Client // verifies every response
	download *core.Client // bill files only: WeChat does not sign them (shared/wxpay/WECHATPAY.md d)
	jsapi    *jsapi.JsapiApiService
	native   *native.NativeApiService
	refunds  *refunddomestic.RefundsApiService
	notify   *notify.Handler
}

type clientConfig struct {
	baseURL         *url.URL
	httpClient      *http.Client
	logger          *slog.Logger
	retry           RetryPolicy
	callTimeout     time.Duration
	downloadTimeout time.Duration
}

// Option configures a Client.
type Option func(*clientConfig) error

// WithBaseURL sends every request to base (scheme and host only) instead of
// https://api.mch.weixin.qq.com, which the SDK's services hard-code. Only the
// transport changes: the signature covers path and query, so signing and
// verifying stay exactly the SDK's. Used to point the client at the simulator.
func WithBaseURL(base string) Option {
	return func(c *clientConfig) error {
		u, err := url.Parse(base)
		if err != nil {
			return fmt.Errorf("wxpay: base URL: %w", err)
		}
		if u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("wxpay: base URL %q must be scheme://host[:port] only", base)
		}
		c.baseURL = u
		return nil
	}
}

// WithHTTPClient sets the HTTP client whose transport carries the requests
// (proxies, TLS settings, instrumentation). Its Timeout is left as given; per-call
// time-outs come from WithCallTimeout.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *clientConfig) error { c.httpClient = hc; return nil }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *clientConfig) error { c.logger = l; return nil }
}

// WithRetry sets the retry policy for idempotent calls.
func WithRetry(p RetryPolicy) Option {
	return func(c *clientConfig) error { c.retry = p; return nil }
}

// WithCallTimeout bounds each attempt of an API call (default 10 s).
func WithCallTimeout(d time.Duration) Option {
	return func(c *clientConfig) error { c.callTimeout = d; return nil }
}

// WithDownloadTimeout bounds one bill download attempt, applying and
// downloading (default 5 min).
func WithDownloadTimeout(d time.Duration) Option {
	return func(c *clientConfig) error { c.downloadTimeout = d; return nil }
}

// New returns a client for acct.
func New(ctx context.Context, acct Account, opts ...Option) (*Client, error) {
	if err := acct.Validate(); err != nil {
		return nil, err
	}
	cfg := clientConfig{
		retry:           DefaultRetryPolicy,
		callTimeout:     10 * time.Second,
		downloadTimeout: 5 * time.Minute,
	}
	for _, opt := range opts {
		if err := opt(&cfg); err != nil {
			return nil, err
		}
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	hc := cfg.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	if cfg.baseURL != nil {
		redirected := *hc
		redirected.Transport = redirectTransport{target: cfg.baseURL, next: transportOf(hc)}
		hc = &redirected
	}

	verifier := acct.verifier()
	credential := option.WithMerchantCredential(acct.MchID, acct.CertSerial, acct.PrivateKey)
	api, err := core.NewClient(ctx, credential, option.WithVerifier(verifier), option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wxpay: api client: %w", err)
	}
	download, err := core.NewClient(ctx, credential, option.WithoutValidator(), option.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("wxpay: download client: %w", err)
	}
	handler, err := notify.NewRSANotifyHandler(acct.APIv3Key, verifier)
	if err != nil {
		return nil, fmt.Errorf("wxpay: notify handler: %w", err)
	}
	return &Client{
		acct:     acct,
		logger:   cfg.logger.With("component", "wxpay", "mchid", acct.MchID),
		cfg:      cfg,
		api:      api,
		download: download,
		jsapi:    &jsapi.JsapiApiService{Client: api},
		native:   &native.NativeApiService{Client: api},
		refunds:  &refunddomestic.RefundsApiService{Client: api},
		notify:   handler,
	}, nil
}

// MchID is the merchant number this client acts for.
func (c *Client) MchID() string { return c.acct.MchID }

// redirectTransport rewrites scheme and host of every request to target and
// leaves everything that is signed (method, path, query, body) untouched.
type redirectTransport struct {
	target *url.URL
	next   http.RoundTripper
}

func (t redirectTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.URL.Scheme = t.target.Scheme
	out.URL.Host = t.target.Host
	out.Host = t.target.Host
	return t.next.RoundTrip(out)
}

func transportOf(hc *http.Client) http.RoundTripper {
	if hc.Transport != nil {
		return hc.Transport
	}
	return http.DefaultTransport
}
