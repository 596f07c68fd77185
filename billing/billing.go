// Package billing is consumer orders paid through WeChat Pay (ARCHITECTURE.md, product §4): orders
// and their state machine, prepay (JSAPI and Native), payment and refund
// notifications checked against our orders, refunds, the double-entry ledger of who
// owes whom, and fulfilment (the merchant's webhook).
//
// A payment is applied once, under a row lock on its order, in one transaction
// with its ledger entry and its events.TopicPaymentSucceeded outbox event; every
// repeat of a notification is logged and changes nothing. What WeChat reports and
// our order disagrees with is recorded as an exception and not applied.
//
// Other domains reach billing only through the ports it declares (MerchantTerms,
// Members), which cmd/tandem satisfies with the merchant and consumer services.
package billing

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/netguard"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations is schema billing. It references no other schema.
var Migrations = pg.EmbeddedMigrations("billing", migrationFiles, "migrations")

const objOrder = "billing.order"

// Error codes of this package (shared/errs).
const (
	CodeOrderNotFound      = objOrder + "_not_found"
	CodeMerchantNotLive    = "billing.merchant_not_live"
	CodeMerchantMchID      = "billing.merchant_mchid"
	CodeNotMember          = "billing.not_member"
	CodeNoOpenID           = "billing.no_openid"
	CodeIllegalTransition  = "billing.illegal_transition"
	CodeOrderNotPayable    = "billing.order_not_payable"
	CodeOrderNotRefundable = "billing.order_not_refundable"
	CodeRefundExceeds      = "billing.refund_exceeds"
	CodeWxpay              = "billing.wxpay"
)

// Terms are what billing needs of a merchant's contract.
type Terms struct {
	CommissionRate  money.Rate
	SettlementCycle string // e.g. "T+1", "weekly"
	Live            bool
	// WechatMchID is the mchid the merchant is paid through; "" for the platform's.
	WechatMchID   string
	WebhookURL    string // "" when the merchant takes no webhook
	WebhookSecret string
}

// MerchantTerms is the merchant domain as billing sees it; cmd/tandem satisfies it
// with the merchant service. A merchant that does not exist is errs kind not found.
type MerchantTerms interface {
	Terms(ctx context.Context, merchantID uuid.UUID) (Terms, error)
	// CommissionRateOn is the rate the merchant's contracts set for a calendar day
	// (Asia/Shanghai): a rate can change from a date. ok is false when no contract
	// had started by then (the order keeps the rate it was placed at).
	CommissionRateOn(ctx context.Context, merchantID uuid.UUID, day time.Time) (rate money.Rate, ok bool, err error)
}

// MerchantNames is the merchant domain's names of merchants, batched, which the
// console shows merchants by; cmd/tandem satisfies it with the merchant service's
// published read. An id it does not name is absent from the map.
type MerchantNames interface {
	MerchantNames(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]string, error)
}

// Members is the consumer domain as billing sees it; *consumer.Service implements it.
type Members interface {
	IsMember(ctx context.Context, consumerID uuid.UUID) (bool, error)
	// OpenID is the member's openid in appID, "" when they have none there.
	OpenID(ctx context.Context, consumerID uuid.UUID, appID string) (string, error)
}

// Ports are what billing needs outside itself, adapted in cmd/tandem.
type Ports struct {
	Pay       *wxpay.Client // the platform's WeChat Pay account; required
	Merchants MerchantTerms // required
	Members   Members       // required
	Coupons   Coupons       // optional: without it, orders take no coupons
	// Names are the merchants' names for the console; optional: without them the
	// console shows a merchant by the first block of its id.
	Names MerchantNames
	// Approvals lets a refund over Config.RefundApprovalOver wait for an approver;
	// without it such a refund cannot be made.
	Approvals *approval.Service
}

// Config configures the service.
type Config struct {
	AppID string // the app (mini-program) orders are paid in: the account's AppID
	// NotifyBaseURL is where WeChat reaches Tandem, e.g. "https://pay.tandem.example";
	// the notify endpoints are under it at NotifyPaymentPath and NotifyRefundPath.
	NotifyBaseURL string
	// Webhooks calls merchants' webhooks [WebhookAllow's client, 10 s time-out].
	Webhooks *http.Client
	// WebhookAllow names the non-public addresses webhooks may reach (none by default:
	// a merchant's URL that resolves to loopback, private or link-local is refused).
	WebhookAllow netguard.Allow
	// Refunds are WeChat's refund limits [WeChat's own].
	Refunds RefundRules
	// Schedule is when the scheduled money work acts (schedule.go) [see there].
	Schedule Schedule
	// RefundApprovalOver is the largest refund (fen) made without an approval; a
	// larger one waits for a second person (refund_approval.go) [0: none needs one;
	// tandem's TANDEM_REFUND_APPROVAL_OVER is 5,000.00 yuan unless set].
	RefundApprovalOver int64
}

// Paths of the notify endpoints (no authentication: WeChat's signature is the auth).
const (
	NotifyPaymentPath = "/api/v1/billing/wxpay/notify/payment"
	NotifyRefundPath  = "/api/v1/billing/wxpay/notify/refund"
)

// Service is the billing domain's API.
type Service struct {
	cfg   Config
	ports Ports
	db    *pgxpool.Pool
	pay   *wxpay.Client
	log   *slog.Logger
	clock clock.Clock
	newID func() uuid.UUID
	// relays wakes the outbox relays after a notified payment's commit.
	relays *outbox.Waker
	// payments is the group commit of payment notifications (payment_notified.go).
	payments *pg.GroupCommit[notifiedPayment, bool]
}

// New returns the service (the one constructor shape of shared/domain).
func New(deps domain.Deps, ports Ports, cfg Config) *Service {
	deps = deps.WithDefaults()
	if cfg.Webhooks == nil {
		cfg.Webhooks = cfg.WebhookAllow.Client(webhookTimeout)
	}
	cfg.Refunds = cfg.Refunds.withDefaults()
	cfg.Schedule = cfg.Schedule.withDefaults()
	s := &Service{cfg: cfg, ports: ports, db: deps.DB, pay: ports.Pay, log: deps.Log, clock: deps.Clock, relays: deps.Relays,
		newID: func() uuid.UUID { return uuid.Must(uuid.NewV7()) }}
	s.payments = s.newPaymentBatcher()
	if ports.Approvals != nil {
		ports.Approvals.OnDecided(KindRefundApproval, s.decideRefund)
	}
	return s
}

// Name is the domain's name.
func (s *Service) Name() string { return "billing" }

// Register declares the domain's API routes and event subscriptions (shared/domain).
func (s *Service) Register(r *domain.Registry) {
	r.Routes(s.mountAPI)
	r.Subscribe(s.Subscriptions()...)
	r.Subscribe(s.approvalSubscriptions()...)
	r.Subscribe(s.mergeFollower().Subscriptions()...) // merge_moves.go
	r.Schedule(s.Tasks()...)
	r.Pages(s.pages())
}

func (s *Service) now() time.Time { return s.clock.Now().UTC() }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("billing: %s: %w", op, pg.Classify(err))
}
