package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/billing/consumercoupons"
	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/reconciliation/billingledger"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/netguard"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// openPayments connects the parts that take money: the WeChat Pay client (the account
// in TANDEM_WXPAY_KEYS, at TANDEM_WXPAY_BASE_URL), billing and matching (which learns
// purchases from billing's events). Commands that take no payments (migrate, seed) skip it.
func (a *app) openPayments(ctx context.Context) error {
	acct, err := loadWxpayAccount(a.cfg.WxpayKeys, a.cfg.WxpayAppID)
	if err != nil {
		return fmt.Errorf("WeChat Pay account in %s: %w: run 'tandem dev' once (it writes the simulator's keys there) or set TANDEM_WXPAY_KEYS", a.cfg.WxpayKeys, err)
	}
	pay, err := wxpay.New(ctx, acct, wxpay.WithBaseURL(a.cfg.WxpayBaseURL), wxpay.WithLogger(a.log))
	if err != nil {
		return fmt.Errorf("WeChat Pay client: %w", err)
	}
	public := a.cfg.PublicURL
	if public == "" {
		public = "http://" + a.cfg.HTTPAddr
	}
	a.pay = pay
	allow, err := netguard.Parse(a.cfg.WebhookAllow)
	if err != nil {
		return fmt.Errorf("TANDEM_WEBHOOK_ALLOW_NETS: %w", err)
	}
	approvalOver, err := money.ParseYuan(a.cfg.RefundApproval)
	if err != nil || approvalOver.Sign() < 0 {
		return fmt.Errorf("TANDEM_REFUND_APPROVAL_OVER: an amount in yuan such as 5000.00, or 0 for none (%q)", a.cfg.RefundApproval)
	}
	deps := a.deps()
	a.billing = billing.New(deps, billing.Ports{Pay: pay, Merchants: merchantTerms{a.merchant}, Members: a.consumer,
		Coupons: consumercoupons.Adapter{Consumer: a.consumer}, Approvals: a.approvals, Names: a.merchant},
		billing.Config{AppID: acct.AppID, NotifyBaseURL: strings.TrimSuffix(public, "/"), WebhookAllow: allow, RefundApprovalOver: approvalOver.Fen()})
	a.matching = matching.New(deps, matching.Ports{Members: a.consumer, Dedup: a.merchant, Shops: merchantShops{a.merchant}}, matching.Config{})
	// The ports are fixed at construction: the service is made again, with billing.
	ledger := billingledger.Adapter{Billing: a.billing}
	a.recon = reconciliation.New(deps, reconciliation.Ports{Repairer: ledger, Ledger: ledger, Refunder: ledger, Fees: ledger,
		Accounts: []*wxpay.Client{pay}, Assignees: reconciliation.IdentityAssignees{Users: a.identity},
		Merchants: reconciliation.Merchants{Orders: a.billing, Names: a.merchant}}, reconciliation.Config{})
	return nil
}

// loadWxpayAccount reads an account from a directory of the files WeChat's merchant
// platform issues (the simulator writes the same names). The platform certificate and
// the WeChat Pay public key are each optional; at least one must be there.
func loadWxpayAccount(dir, appID string) (wxpay.Account, error) {
	read := func(name string) (string, error) {
		b, err := os.ReadFile(filepath.Join(dir, name))
		return strings.TrimSpace(string(b)), err
	}
	exists := func(name string) bool { _, err := os.Stat(filepath.Join(dir, name)); return err == nil }
	mchid, err := read(wxsim.FileMchID)
	if err != nil {
		return wxpay.Account{}, err
	}
	f := wxpay.AccountFiles{MchID: mchid, AppID: appID,
		PrivateKeyFile:   filepath.Join(dir, wxsim.FileMerchantKey),
		MerchantCertFile: filepath.Join(dir, wxsim.FileMerchantCert),
		APIv3KeyFile:     filepath.Join(dir, wxsim.FileAPIv3Key)}
	if exists(wxsim.FilePlatformCert) {
		f.PlatformCertFiles = []string{filepath.Join(dir, wxsim.FilePlatformCert)}
	}
	if exists(wxsim.FilePubKey) {
		if f.PublicKeyID, err = read(wxsim.FilePubKeyID); err != nil {
			return wxpay.Account{}, err
		}
		f.PublicKeyFile = filepath.Join(dir, wxsim.FilePubKey)
	}
	if f.PlatformCertFiles == nil && f.PublicKeyFile == "" {
		return wxpay.Account{}, errors.New("neither " + wxsim.FilePlatformCert + " nor " + wxsim.FilePubKey)
	}
	return wxpay.LoadAccount(f)
}

// merchantTerms gives billing a merchant's contract terms from the merchant domain.
// The WeChat mchid stays empty: the platform's own account collects every payment
// (the merchant's sub-merchant number is for settlement, which comes later).
type merchantTerms struct{ m *merchant.Service }

func (t merchantTerms) Terms(ctx context.Context, id uuid.UUID) (billing.Terms, error) {
	mt, err := t.m.Terms(ctx, id)
	if err != nil {
		return billing.Terms{}, err
	}
	rate, err := money.NewRate(mt.CommissionRate)
	if err != nil {
		return billing.Terms{}, err
	}
	return billing.Terms{CommissionRate: rate, SettlementCycle: string(mt.Cycle), Live: mt.Live,
		WebhookURL: mt.WebhookURL, WebhookSecret: mt.WebhookSecret}, nil
}

func (t merchantTerms) CommissionRateOn(ctx context.Context, id uuid.UUID, day time.Time) (money.Rate, bool, error) {
	d, ok, err := t.m.CommissionRateOn(ctx, id, day)
	if err != nil || !ok {
		return money.Rate{}, false, err
	}
	rate, err := money.NewRate(d)
	return rate, err == nil, err
}
