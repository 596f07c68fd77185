package wxsim

import (
	"context"
	"crypto/rsa"
	"embed"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/pg"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is the simulator's schema, wxsim. Apply it with pg.Migrate (or
// pgtest.New) before New.
var Migrations = pg.EmbeddedMigrations("wxsim", migrationFiles, "migrations")

// KeyMode says which of WeChat's keys signs what a merchant receives.
type KeyMode string

const (
	KeyModeCert      KeyMode = "cert"      // platform certificate
	KeyModePublicKey KeyMode = "publickey" // WeChat Pay public key (PUB_KEY_ID_...)
	// KeyModeSwitch: during a switch WeChat signs notifications randomly with
	// either (shared/wxpay/WECHATPAY.md b). Responses always follow the request's Wechatpay-Serial.
	KeyModeSwitch KeyMode = "switch"
)

// Merchant is a merchant account the simulator knows.
type Merchant struct {
	MchID      string
	AppIDs     []string // appids bound to the merchant; empty accepts any
	CertSerial string   // merchant API certificate serial
	PublicKey  *rsa.PublicKey
	APIv3Key   string
	KeyMode    KeyMode
}

// Config tunes the simulator. Zero values take the defaults in brackets.
type Config struct {
	// Clock is the business clock; nil: a clock of its own. tandem dev passes the
	// clock every domain reads, so that /sim/clock moves Tandem's time too.
	Clock *clock.Settable
	// FeeRate is WeChat's fee on payments ["0.60%"]; fees are rounded half up to
	// the fen per payment (the rounding rule is not sourced: shared/wxpay/WECHATPAY.md e, 5).
	FeeRate string
	// FeesAccount books fees in the FEES account instead of BASIC.
	FeesAccount bool
	// NotifyScale multiplies WeChat's notification retry schedule
	// (15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h) [1]; tests use ~0.001.
	NotifyScale float64
	// DownloadURLTTL is how long a bill download URL lives [30s] (shared/wxpay/WECHATPAY.md d:
	// 30 s on two pages, 5 min on one; the shorter is the safer to simulate).
	DownloadURLTTL time.Duration
	// AutoSettleRefunds moves a refund from PROCESSING to SUCCESS right after it is
	// accepted, and notifies; otherwise the control API settles refunds.
	AutoSettleRefunds bool
	// BillNoBOM and BillLF shape bill files: a leading BOM and CRLF line ends were
	// both seen in real downloads (shared/wxpay/WECHATPAY.md e, disagreement 3) and are the
	// default; these drop the BOM and write LF instead.
	BillNoBOM bool
	BillLF    bool
	// Control mounts the /sim/ control API.
	Control bool
	// NotifyClient sends notifications [a client with a 5 s time-out: WeChat's wait].
	NotifyClient *http.Client
	// AppSecret is the mini-programs' app secret that /sns/jscode2session accepts
	// [DevAppSecret].
	AppSecret string
}

// Sim is the simulator. Its HTTP handler serves WeChat's API under /v3/ and, when
// enabled, the control API under /sim/.
type Sim struct {
	cfg      Config
	feeRate  feeRate
	db       *pgxpool.Pool
	keys     *PlatformKeys
	clock    Clock
	logger   *slog.Logger
	faults   *faults
	notifier *notifier
	tokens   *downloadTokens
	codes    *loginCodes
	subs     subscribeState // subscribe messages (api_subscribe.go)

	mu        sync.RWMutex
	merchants map[string]*Merchant
}

// New returns a simulator on a database migrated with Migrations.
func New(db *pgxpool.Pool, keys *PlatformKeys, cfg Config, logger *slog.Logger) (*Sim, error) {
	if cfg.FeeRate == "" {
		cfg.FeeRate = "0.60%"
	}
	rate, err := parseFeeRate(cfg.FeeRate)
	if err != nil {
		return nil, err
	}
	if cfg.NotifyScale <= 0 {
		cfg.NotifyScale = 1
	}
	if cfg.DownloadURLTTL <= 0 {
		cfg.DownloadURLTTL = 30 * time.Second
	}
	if cfg.AppSecret == "" {
		cfg.AppSecret = DevAppSecret
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.NewSettable()
	}
	if cfg.NotifyClient == nil {
		cfg.NotifyClient = &http.Client{Timeout: 5 * time.Second}
	}
	if logger == nil {
		logger = slog.Default()
	}
	s := &Sim{
		cfg: cfg, feeRate: rate, db: db, keys: keys, clock: Clock{cfg.Clock},
		logger: logger.With("component", "wxsim"), faults: &faults{},
		tokens: &downloadTokens{m: map[string]*downloadToken{}}, codes: &loginCodes{}, merchants: map[string]*Merchant{},
	}
	s.notifier = newNotifier(s)
	return s, nil
}

// Clock is the simulator's business clock.
func (s *Sim) Clock() Clock { return s.clock }

// Keys is WeChat's key material.
func (s *Sim) Keys() *PlatformKeys { return s.keys }

// AddMerchant registers (or replaces) a merchant account.
func (s *Sim) AddMerchant(m Merchant) error {
	if m.MchID == "" || m.CertSerial == "" || m.PublicKey == nil || len(m.APIv3Key) != 32 {
		return fmt.Errorf("wxsim: merchant %q needs mchid, certificate serial, public key and a 32-byte APIv3 key", m.MchID)
	}
	if m.KeyMode == "" {
		m.KeyMode = KeyModeCert
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.merchants[m.MchID] = &m
	return nil
}

// MerchantFromKeys is the Merchant a simulator needs for merchant key material.
func MerchantFromKeys(k *MerchantKeys, mode KeyMode, appIDs ...string) Merchant {
	return Merchant{
		MchID: k.MchID, AppIDs: appIDs, CertSerial: k.CertSerial(),
		PublicKey: k.Cert.PublicKey.(*rsa.PublicKey), APIv3Key: k.APIv3Key, KeyMode: mode,
	}
}

func (s *Sim) merchant(mchID string) (*Merchant, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	m, ok := s.merchants[mchID]
	return m, ok
}

// Handler serves WeChat's API (the merchant API v3 and the mini-program's
// /sns/jscode2session) and, if enabled, the control API.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	s.routeAPI(mux)
	s.routeSubscribe(mux)
	if s.cfg.Control {
		s.routeControl(mux)
	}
	return mux
}

func (s *Sim) routeAPI(mux *http.ServeMux) {
	mux.Handle("POST /v3/pay/transactions/jsapi", s.api(s.prepayJSAPI))
	mux.Handle("POST /v3/pay/transactions/native", s.api(s.prepayNative))
	mux.Handle("GET /v3/pay/transactions/out-trade-no/{out_trade_no}", s.api(s.queryByOutTradeNo))
	mux.Handle("GET /v3/pay/transactions/id/{transaction_id}", s.api(s.queryByTransactionID))
	mux.Handle("POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close", s.api(s.closeOrder))
	mux.Handle("POST /v3/refund/domestic/refunds", s.api(s.createRefund))
	mux.Handle("GET /v3/refund/domestic/refunds/{out_refund_no}", s.api(s.queryRefund))
	mux.Handle("GET /v3/bill/tradebill", s.api(s.applyTradeBill))
	mux.Handle("GET /v3/bill/fundflowbill", s.api(s.applyFundFlowBill))
	mux.Handle("GET /v3/billdownload/file", s.api(s.downloadBill))
	mux.Handle("POST /v3/applyment4sub/applyment/", s.api(s.submitApplyment))
	mux.Handle("GET /v3/applyment4sub/applyment/business_code/{business_code}", s.api(s.queryApplyment))
	mux.HandleFunc("GET /sns/jscode2session", s.jscode2session)
	mux.Handle("/v3/", s.api(func(*apiRequest) apiResponse {
		return apiError(http.StatusNotFound, "NOT_FOUND", "请求的资源不存在")
	}))
}

// Close stops notification delivery and waits for it.
func (s *Sim) Close() { s.notifier.close() }

// Wait blocks until no notification is being delivered (tests, demo scripts).
func (s *Sim) Wait(ctx context.Context) error { return s.notifier.idle(ctx) }

// feeRate is a rate in thousandths of a percent (0.60% = 600), exact for any rate
// WeChat quotes.
type feeRate struct {
	milliPct int64
	text     string // as printed in bills: "0.60%"
}

func parseFeeRate(s string) (feeRate, error) {
	num, ok := strings.CutSuffix(strings.TrimSpace(s), "%")
	if !ok {
		return feeRate{}, fmt.Errorf("wxsim: fee rate %q must end in %%", s)
	}
	whole, frac, _ := strings.Cut(num, ".")
	if len(frac) > 3 {
		return feeRate{}, fmt.Errorf("wxsim: fee rate %q has more than 3 decimals", s)
	}
	v, err := strconv.ParseInt(whole+(frac + "000")[:3], 10, 64)
	if err != nil || v < 0 || v > 100_000 {
		return feeRate{}, fmt.Errorf("wxsim: fee rate %q is not a percentage", s)
	}
	text := fmt.Sprintf("%d.%02d%%", v/1000, v%1000/10)
	if v%10 != 0 {
		text = fmt.Sprintf("%d.%03d%%", v/1000, v%1000)
	}
	return feeRate{milliPct: v, text: text}, nil
}

// fee is the fee on a payment of total fen, rounded half up to the fen.
func (r feeRate) fee(total int64) int64 { return (total*r.milliPct + 50_000) / 100_000 }
