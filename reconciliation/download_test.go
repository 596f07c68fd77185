package reconciliation_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

// TestRunDownload: orders paid on the simulator, one notification's effect missing
// from our ledger; the real client downloads the real bill (gzip, SHA1 checked) and
// the run finds exactly that one line missing on our side, and repairs it by
// querying WeChat through the same client.
func TestRunDownload(t *testing.T) {
	ctx := context.Background()
	env := wxsimtest.New(t, wxsimtest.ModePublicKey, wxsim.Config{})
	c := env.Client()
	env.Sim.Clock().Set(shanghai("2025-03-14 08:00:00"), true)
	totals := []int64{100, 2599, 4321, 88}
	for i, total := range totals {
		no := fmt.Sprintf("TD20250314%04d", i+1)
		if _, err := c.PrepayNative(ctx, wxpay.Order{Description: "Tandem", OutTradeNo: no,
			NotifyURL: "https://tandem.example/notify", Total: total}); err != nil {
			t.Fatal(err)
		}
		env.Control("POST", "/sim/pay", map[string]any{"out_trade_no": no,
			"at": shanghai(fmt.Sprintf("2025-03-14 %02d:00:00", 9+i))}, nil)
	}
	env.Sim.Clock().Set(shanghai("2025-03-15 11:00:00"), true)

	// Our ledger is what the notifications told billing; TD202503140002's was lost.
	var ours reconciliation.Records
	for i := range totals {
		tx, err := c.QueryOrder(ctx, fmt.Sprintf("TD20250314%04d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			continue
		}
		ours = append(ours, reconciliation.Record{Kind: reconciliation.KindPay, OutTradeNo: tx.OutTradeNo,
			TransactionID: tx.TransactionID, AmountFen: tx.Total, Status: tx.TradeState, At: tx.SuccessTime})
	}
	rep := &fakeRepairer{confirm: func(ctx context.Context, req reconciliation.RepairRequest) (bool, error) {
		tx, err := c.QueryOrder(ctx, req.OutTradeNo)
		if err != nil {
			return false, err
		}
		return tx.TradeState == wxpay.TradeStateSuccess && tx.TransactionID == req.TransactionID && tx.Total == req.AmountFen, nil
	}}
	svc := reconciliation.New(domain.Deps{DB: pgtest.New(t, reconciliation.Migrations)}, reconciliation.Ports{Repairer: rep}, reconciliation.Config{})

	r, err := svc.RunDownload(ctx, c, "2025-03-14", ours)
	if err != nil {
		t.Fatal(err)
	}
	wantClasses(t, r.Run, map[reconciliation.Class]int64{reconciliation.ClassMatched: 3, reconciliation.ClassMissingOurs: 1})
	checkSums(t, r.Run)
	if r.Run.Source != reconciliation.SourceDownloaded || r.Run.MchID != env.Merchant.MchID || r.Run.Repaired != 1 ||
		r.Run.Totals.SettlementTotal != 100+2599+4321+88 || r.Run.ProblemCount != 0 {
		t.Fatalf("run: %+v", r.Run)
	}
	if len(r.Top) != 1 || r.Top[0].OutTradeNo != "TD202503140002" || r.Top[0].RepairedAt == nil {
		t.Fatalf("exceptions: %+v", r.Top)
	}
	if calls := rep.Calls(); len(calls) != 1 || calls[0].OutTradeNo != "TD202503140002" || calls[0].AmountFen != 2599 {
		t.Fatalf("repair calls: %+v", calls)
	}

	// A day without trades: WeChat's own answer comes through, nothing is written.
	if _, err := svc.RunDownload(ctx, c, "2025-03-10", ours); errs.CodeOf(err) != wxpay.CodeNoStatementExist {
		t.Fatalf("no bill that day: %v", err)
	}
}
