package reconciliation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// TestFundFlowExceptionsInTheQueue: a fund-flow run's exceptions are queue items of
// their own (bill FUNDFLOW, one per line's business), beside the same day's
// trade-bill items; a fund-flow re-run clears only the fund-flow items it no longer
// finds, and leaves the trade bill's alone.
func TestFundFlowExceptionsInTheQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := reconciliation.New(domain.Deps{DB: pgtest.New(t, audit.Migrations, reconciliation.Migrations)}, reconciliation.Ports{}, reconciliation.Config{})
	if _, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1Bill), reconciliation.CSVLedgerReader(strings.NewReader(day1Ledger))); err != nil {
		t.Fatal(err)
	}
	ours := reconciliation.Records{
		{Kind: reconciliation.KindPay, OutTradeNo: "TD1", TransactionID: "4201", AmountFen: 10_000, FeeFen: 60,
			Status: reconciliation.StatusSuccess, At: shanghai("2025-03-14 09:00:00")},
		{Kind: reconciliation.KindPay, OutTradeNo: "TD2", TransactionID: "4202", AmountFen: 5_000, FeeFen: 30,
			Status: reconciliation.StatusSuccess, At: shanghai("2025-03-14 09:10:00")},
	}
	lines := []flowLine{
		{"2025-03-14 09:00:00", "4201", "F1", "交易", wxpay.FlowIncome, 10_000, "", "TD1"},
		{"2025-03-14 09:00:00", "4201", "F2", "扣除交易手续费", wxpay.FlowExpense, 61, "", "TD1"}, // a fen more than we booked
		{"2025-03-14 09:10:00", "4202", "F3", "交易", wxpay.FlowIncome, 5_001, "", "TD2"},    // a fen more than ours
		{"2025-03-14 11:00:00", "4299", "F8", "交易", wxpay.FlowIncome, 700, "", "TD9"},      // not ours
	}
	if _, err := svc.RunFundFlowFile(ctx, testMch, "2025-03-14", strings.NewReader(flowText(0, lines...)), ours); err != nil {
		t.Fatal(err)
	}
	byBill := func() map[string]reconciliation.Item {
		items, err := svc.Queue(ctx, identity.System(), reconciliation.QueueFilter{Source: reconciliation.ItemFromReconciliation, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]reconciliation.Item{}
		for _, it := range items {
			out[it.BillType+" "+it.Kind+" "+it.OutTradeNo+it.OutRefundNo+" "+strings.Fields(it.Detail + " -")[0]] = it
		}
		return out
	}
	items := byBill()
	for _, k := range []string{"FUNDFLOW amount_mismatch TD1 扣除交易手续费", "FUNDFLOW amount_mismatch TD2 交易", "FUNDFLOW missing_ours TD9 交易"} {
		if it, ok := items[k]; !ok || it.State != reconciliation.ItemOpen || it.Date != "2025-03-14" {
			t.Fatalf("no open item %q in %v", k, items)
		}
	}
	if len(items) != 6+3 {
		t.Fatalf("%d items: %v", len(items), items)
	}
	// The books agree now: the fund-flow items are cleared, the trade bill's stay open.
	lines[1].amount, lines[2].amount = 60, 5_000
	if _, err := svc.RunFundFlowFile(ctx, testMch, "2025-03-14", strings.NewReader(flowText(0, lines[:3]...)), ours); err != nil {
		t.Fatal(err)
	}
	for k, it := range byBill() {
		fundFlow := strings.HasPrefix(k, "FUNDFLOW ")
		if fundFlow == (it.State == reconciliation.ItemOpen) || (fundFlow && it.ResolvedBy != nil) {
			t.Errorf("%s: %s %v", k, it.State, it.ResolvedBy)
		}
	}
}
