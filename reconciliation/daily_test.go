package reconciliation_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

// TestDailyReconciliation: the daily task waits while WeChat makes the bill, then
// reconciles it; a day without trades at WeChat (NO_STATEMENT_EXIST) is reconciled
// from our side, and the payment only we have is reported; a day with its run of
// record is left alone.
func TestDailyReconciliation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := wxsimtest.New(t, wxsimtest.ModePublicKey, wxsim.Config{})
	c := env.Client()
	env.Sim.Clock().Set(shanghai("2025-03-14 08:00:00"), true)
	if _, err := c.PrepayNative(ctx, wxpay.Order{Description: "Tandem", OutTradeNo: "TD202503140001",
		NotifyURL: "https://tandem.example/notify", Total: 1_234}); err != nil {
		t.Fatal(err)
	}
	env.Control("POST", "/sim/pay", map[string]any{"out_trade_no": "TD202503140001", "at": shanghai("2025-03-14 09:00:00")}, nil)
	tx, err := c.QueryOrder(ctx, "TD202503140001")
	if err != nil {
		t.Fatal(err)
	}
	ours := reconciliation.Records{
		{Kind: reconciliation.KindPay, OutTradeNo: tx.OutTradeNo, TransactionID: tx.TransactionID, AmountFen: tx.Total,
			Status: tx.TradeState, At: tx.SuccessTime},
		// A payment on the 13th only we have: WeChat has no bill for that day at all.
		{Kind: reconciliation.KindPay, OutTradeNo: "TD202503130009", TransactionID: "4200000000000000000000000009",
			AmountFen: 500, Status: "SUCCESS", At: shanghai("2025-03-13 12:00:00")},
	}
	now := clock.NewSettable()
	now.Freeze(shanghai("2025-03-15 09:30:00"))
	env.Sim.Clock().Set(shanghai("2025-03-15 09:30:00"), true)
	svc := reconciliation.New(domain.Deps{DB: pgtest.New(t, reconciliation.Migrations), Clock: now},
		reconciliation.Ports{Ledger: ours, Accounts: []*wxpay.Client{c}}, reconciliation.Config{})

	done := func() map[string]string {
		t.Helper()
		out, err := svc.Daily(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, o := range out {
			m[o.Date] = fmt.Sprintf("%s %s", o.Done, o.State)
		}
		return m
	}
	got := done()
	want := map[string]string{"2025-03-12": "no_bill balanced", "2025-03-13": "no_bill unbalanced", "2025-03-14": "not_ready "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("before 10:00: %v, want %v", got, want)
	}
	rep, err := svc.Report(ctx, c.MchID(), "2025-03-13", 10)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Run.Source != reconciliation.SourceNoBill || len(rep.Top) != 1 || rep.Top[0].Class != reconciliation.ClassMissingWeChat ||
		rep.Top[0].OutTradeNo != "TD202503130009" {
		t.Fatalf("no-bill day: %+v %+v", rep.Run, rep.Top)
	}

	now.Freeze(shanghai("2025-03-15 10:05:00"))
	env.Sim.Clock().Set(shanghai("2025-03-15 10:05:00"), true)
	got = done()
	want = map[string]string{"2025-03-12": "had_run ", "2025-03-13": "had_run ", "2025-03-14": "reconciled balanced"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after 10:00: %v, want %v", got, want)
	}
}
