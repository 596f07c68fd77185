package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/reconciliation/billingledger"
	"github.com/tandemcrm/tandem/shared/config"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// reconcileCmd is `tandem reconcile` with what only this package can give it: billing's
// ledger (our side of --date runs), billing as the repairer of lost notifications, and
// the WeChat Pay client of TANDEM_WXPAY_* to download the bill with.
func reconcileCmd() *cobra.Command {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var (
		once    sync.Once
		pay     *wxpay.Client
		openErr error
	)
	client := func(ctx context.Context) (*wxpay.Client, error) {
		once.Do(func() {
			cfg, err := config.Load(nil)
			if err != nil {
				openErr = err
				return
			}
			acct, err := loadWxpayAccount(cfg.WxpayKeys, cfg.WxpayAppID)
			if err != nil {
				openErr = fmt.Errorf("WeChat Pay account in %s: %w (set TANDEM_WXPAY_KEYS)", cfg.WxpayKeys, err)
				return
			}
			pay, openErr = wxpay.New(ctx, acct, wxpay.WithBaseURL(cfg.WxpayBaseURL), wxpay.WithLogger(log))
		})
		return pay, openErr
	}
	ledger := func(db *pgxpool.Pool) billingledger.Adapter {
		p, _ := client(context.Background()) // nil without an account: the ledger streams without it
		deps := domain.Deps{DB: db, Log: log}
		// A repair applies a payment, at the commission rate of the merchant's contracts.
		terms := merchantTerms{merchant.New(deps, merchant.Ports{}, merchant.Config{})}
		return billingledger.Adapter{Billing: billing.New(deps, billing.Ports{Pay: p, Merchants: terms}, billing.Config{})}
	}
	return reconciliation.Command(
		reconciliation.WithLogger(log),
		reconciliation.WithWxpay(client),
		reconciliation.WithLedger(func(db *pgxpool.Pool) reconciliation.LedgerSource { return ledger(db) }),
		reconciliation.WithRepairer(func(db *pgxpool.Pool) reconciliation.Repairer {
			if _, err := client(context.Background()); err != nil {
				return noRepairs{err}
			}
			return ledger(db)
		}),
	)
}

// noRepairs stands in for billing when no WeChat Pay account is configured: a line
// missing on our side is reported, with the reason it could not be repaired.
type noRepairs struct{ err error }

func (n noRepairs) Repair(context.Context, reconciliation.RepairRequest) (bool, error) {
	return false, fmt.Errorf("cannot query WeChat Pay: %w", n.err)
}
