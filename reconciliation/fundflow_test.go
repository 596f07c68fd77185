package reconciliation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

type flowLine struct {
	at, bizNo, flowNo, bizType, dir string
	amount                          int64
	remark, voucher                 string
}

// flowText is a whole fund-flow bill whose balances follow (from 1,000.00), unless
// breakAt names a line whose balance is off by a fen.
func flowText(breakAt int, lines ...flowLine) string {
	var b strings.Builder
	b.WriteString("\uFEFF记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\r\n")
	balance := int64(100_000)
	var in, out, nIn, nOut int64
	for i, l := range lines {
		if l.dir == wxpay.FlowIncome {
			balance, in, nIn = balance+l.amount, in+l.amount, nIn+1
		} else {
			balance, out, nOut = balance-l.amount, out+l.amount, nOut+1
		}
		shown := balance
		if i+1 == breakAt {
			shown++
		}
		b.WriteString("`" + strings.Join([]string{l.at, l.bizNo, l.flowNo, l.bizType, l.bizType, l.dir, wxpay.FormatFen(l.amount),
			wxpay.FormatFen(shown), "system", l.remark, l.voucher}, ",`") + "\r\n")
	}
	b.WriteString("资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\r\n")
	fmt.Fprintf(&b, "`%d,`%d,`%s,`%d,`%s\r\n", len(lines), nIn, wxpay.FormatFen(in), nOut, wxpay.FormatFen(out))
	return b.String()
}

// TestFundFlowBill: the fund-flow bill's payments (settlement), fees and refunds are
// matched against our books, whatever day we have them on: amounts, the fee booked
// from the trade bill, the fee a refund gives back; a line we do not have is
// missing_ours, a flow line twice is a duplicate, withdrawals are not matched, and a
// balance that does not follow makes the run incomplete.
func TestFundFlowBill(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := reconciliation.New(domain.Deps{DB: pgtest.New(t, reconciliation.Migrations)}, reconciliation.Ports{}, reconciliation.Config{})
	pay := func(no, txn string, fen, fee int64) reconciliation.Record {
		return reconciliation.Record{Kind: reconciliation.KindPay, OutTradeNo: no, TransactionID: txn, AmountFen: fen, FeeFen: fee,
			Status: reconciliation.StatusSuccess, At: shanghai("2025-03-13 23:00:00")}
	}
	ours := reconciliation.Records{
		pay("TD1", "4201", 10_000, 60),
		pay("TD2", "4202", 5_000, 30),
		pay("TD3", "4203", 2_000, 0), // its fee not booked
		{Kind: reconciliation.KindRefund, OutTradeNo: "TD1", TransactionID: "4201", OutRefundNo: "RF1", RefundID: "5001",
			AmountFen: 4_000, FeeFen: -24, Status: reconciliation.StatusSuccess, At: shanghai("2025-03-14 10:00:00")},
	}
	lines := []flowLine{
		{"2025-03-14 09:00:00", "4201", "F1", "交易", wxpay.FlowIncome, 10_000, "", "TD1"},
		{"2025-03-14 09:00:00", "4201", "F2", "扣除交易手续费", wxpay.FlowExpense, 60, "", "TD1"},
		{"2025-03-14 09:10:00", "4202", "F3", "交易", wxpay.FlowIncome, 5_001, "", "TD2"}, // a fen more than ours
		{"2025-03-14 09:10:00", "4202", "F4", "扣除交易手续费", wxpay.FlowExpense, 30, "", "TD2"},
		{"2025-03-14 09:20:00", "4203", "F5", "交易", wxpay.FlowIncome, 2_000, "", "TD3"},
		{"2025-03-14 09:20:00", "4203", "F6", "扣除交易手续费", wxpay.FlowExpense, 12, "", "TD3"}, // we booked none
		{"2025-03-14 10:00:00", "5001", "F7", "退款", wxpay.FlowExpense, 3_976, "退款总金额40.00元;含手续费0.24元", "RF1"},
		{"2025-03-14 11:00:00", "4299", "F8", "交易", wxpay.FlowIncome, 700, "", "TD9"}, // not ours
		{"2025-03-14 11:00:00", "4299", "F8", "交易", wxpay.FlowIncome, 700, "", "TD9"}, // the same flow twice
		{"2025-03-14 12:00:00", "W1", "F9", "提现", wxpay.FlowExpense, 1_000, "", "W1"}, // a withdrawal: not matched
	}
	rep, err := svc.RunFundFlowFile(ctx, testMch, "2025-03-14", strings.NewReader(flowText(0, lines...)), ours)
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Run
	if r.BillType != reconciliation.BillFundFlow || r.State != reconciliation.StateUnbalanced {
		t.Fatalf("run %+v", r)
	}
	got := byKey(rep.Top)
	for _, k := range []string{"amount_mismatch TD2", "amount_mismatch TD3", "missing_ours TD9", "duplicate TD9"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no %s in %+v", k, rep.Top)
		}
	}
	if n := r.Exceptions(); n != 4 || r.Classes[reconciliation.ClassMatched].Items != 5 || r.Totals.Count != 9 {
		t.Fatalf("%d exceptions, %d matched: %+v", n, r.Classes[reconciliation.ClassMatched].Items, rep.Top)
	}
	// Settlement 10,000 + 5,001 + 2,000 + 700 (the duplicate left out), refunds 40.00
	// gross, fees 60 + 30 + 12 − 24 given back.
	if r.Totals.SettlementTotal != 17_701 || r.Totals.RefundAmount != 4_000 || r.Totals.FeeMilliFen != (60+30+12-24)*1000 {
		t.Fatalf("totals %+v", r.Totals)
	}
	if r.NetMilliFen != (17_701-4_000)*1000-(60+30+12-24)*1000 {
		t.Fatalf("net %d", r.NetMilliFen)
	}

	// Balanced when the books agree; incomplete when a balance does not follow.
	clean := []flowLine{lines[0], lines[1], lines[6]}
	if rep, err := svc.RunFundFlowFile(ctx, testMch, "2025-03-15", strings.NewReader(flowText(0, clean...)), ours); err != nil ||
		rep.Run.State != reconciliation.StateBalanced {
		t.Fatalf("clean: %+v, %v", rep, err)
	}
	if rep, err := svc.RunFundFlowFile(ctx, testMch, "2025-03-16", strings.NewReader(flowText(2, clean...)), ours); err != nil ||
		rep.Run.State != reconciliation.StateIncomplete || rep.Run.ProblemCount == 0 {
		t.Fatalf("broken balance: %+v, %v", rep, err)
	}
	if _, err := svc.RunFundFlowFile(ctx, testMch, "2025-03-14", strings.NewReader(flowText(0, clean...)),
		reconciliation.CSVLedgerReader(strings.NewReader(ledgerCSV()))); !strings.Contains(fmt.Sprint(err), "finds records") {
		t.Fatalf("a ledger that cannot find by id: %v", err)
	}
}
