// Package wxsimtest starts a WeChat Pay simulator for a test: a fresh database,
// key material generated once per test binary, an HTTP server on loopback and
// clients of the real wechatpay-go-based wxpay package pointed at it.
package wxsimtest

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// Mode is how the merchant verifies WeChat: platform certificate, WeChat Pay
// public key, or both during a switch.
type Mode string

const (
	ModeCert      Mode = "cert"
	ModePublicKey Mode = "publickey"
	ModeSwitch    Mode = "switch"
)

// Modes are all three, for table tests.
var Modes = []Mode{ModeCert, ModePublicKey, ModeSwitch}

// Test key material, generated at test time, once per binary (RSA-2048 key
// generation dominates start-up otherwise).
var (
	keysOnce sync.Once
	platform *wxsim.PlatformKeys
	merchant *wxsim.MerchantKeys
	other    *wxsim.MerchantKeys
	keysErr  error
)

// Keys returns the binary's platform keys, its merchant, and a second merchant.
func Keys(t testing.TB) (*wxsim.PlatformKeys, *wxsim.MerchantKeys, *wxsim.MerchantKeys) {
	t.Helper()
	keysOnce.Do(func() {
		if platform, keysErr = wxsim.GeneratePlatformKeys(); keysErr != nil {
			return
		}
		if merchant, keysErr = wxsim.GenerateMerchantKeys("1900000109"); keysErr != nil {
			return
		}
		other, keysErr = wxsim.GenerateMerchantKeys("1900000209")
	})
	if keysErr != nil {
		t.Fatalf("wxsimtest: keys: %v", keysErr)
	}
	return platform, merchant, other
}

// AppID is the appid bound to the test merchant.
const AppID = "wxd678efh567hg6787"

// Env is one running simulator.
type Env struct {
	t        testing.TB
	Sim      *wxsim.Sim
	DB       *pgxpool.Pool
	URL      string // base URL of the simulator
	Platform *wxsim.PlatformKeys
	Merchant *wxsim.MerchantKeys
	Account  wxpay.Account // the merchant's client configuration for Mode
	Mode     Mode
}

// New starts a simulator with cfg (Control is always on) whose merchant is
// configured for mode.
func New(t testing.TB, mode Mode, cfg wxsim.Config) *Env {
	t.Helper()
	p, m, _ := Keys(t)
	db := pgtest.New(t, wxsim.Migrations)
	cfg.Control = true
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	sim, err := wxsim.New(db, p, cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	keyMode := map[Mode]wxsim.KeyMode{ModeCert: wxsim.KeyModeCert, ModePublicKey: wxsim.KeyModePublicKey,
		ModeSwitch: wxsim.KeyModeSwitch}[mode]
	if err := sim.AddMerchant(wxsim.MerchantFromKeys(m, keyMode, AppID)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	acct := wxsim.AccountFor(p, m, AppID)
	switch mode {
	case ModeCert:
		acct.PublicKey, acct.PublicKeyID = nil, ""
	case ModePublicKey:
		acct.PlatformCerts = nil
	}
	return &Env{t: t, Sim: sim, DB: db, URL: srv.URL, Platform: p, Merchant: m, Account: acct, Mode: mode}
}

// Client is a wxpay client for the env's merchant, pointed at the simulator,
// retrying fast.
func (e *Env) Client(opts ...wxpay.Option) *wxpay.Client {
	e.t.Helper()
	base := []wxpay.Option{
		wxpay.WithBaseURL(e.URL),
		wxpay.WithRetry(wxpay.RetryPolicy{Attempts: 3, Base: time.Millisecond, Max: 10 * time.Millisecond}),
		wxpay.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
	}
	c, err := wxpay.New(context.Background(), e.Account, append(base, opts...)...)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// PlatformCerts is the platform certificate list, for custom accounts.
func (e *Env) PlatformCerts() []*x509.Certificate { return []*x509.Certificate{e.Platform.Cert} }

// Control calls the control API and decodes its answer into out (may be nil);
// a non-2xx answer fails the test.
func (e *Env) Control(method, path string, in, out any) {
	e.t.Helper()
	if status, body := e.ControlStatus(method, path, in); status/100 != 2 {
		e.t.Fatalf("control %s %s: %d %s", method, path, status, body)
	} else if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			e.t.Fatalf("control %s %s: %v", method, path, err)
		}
	}
}

// ControlStatus calls the control API and returns status and body.
func (e *Env) ControlStatus(method, path string, in any) (int, []byte) {
	e.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// Wait blocks until no notification is in flight.
func (e *Env) Wait() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Sim.Wait(ctx); err != nil {
		e.t.Fatalf("notifications still in flight: %v", err)
	}
}
