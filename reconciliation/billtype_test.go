package reconciliation_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

const headerSuccess = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注"

const headerRefund = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包," +
	"手续费,费率,订单金额,申请退款金额,费率备注"

// successBill has TD1 of day1Bill, alone.
var successBill = headerSuccess + "\n" +
	"`2025-03-14 09:00:00,`wxd678efh567hg6787,`1900000109,`0,`,`4200000001,`TD1,`oUser,`JSAPI,`SUCCESS,`OTHERS,`CNY,`100.00,`0.00,`Tandem,`,`0.60000,`0.60%,`100.00,`\n" +
	"总交易单数,应结订单总金额,手续费总金额,订单总金额\n`1,`100.00,`0.60000,`100.00\n"

// refundBill has one refund asked for on the 15th of a payment of the 14th: its
// 交易时间 is the payment's (shared/wxpay/WECHATPAY.md e, disagreement 4).
var refundBill = headerRefund + "\n" +
	"`2025-03-14 09:00:00,`wxd678efh567hg6787,`1900000109,`0,`,`4200000001,`TD1,`oUser,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00," +
	"`2025-03-15 11:00:00,`2025-03-15 11:00:05,`5030000001,`RF1,`10.00,`0.00,`ORIGINAL,`SUCCESS,`Tandem,`,`-0.06000,`0.60%,`0.00,`10.00,`\n" +
	"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`0.00,`10.00,`0.00,`-0.06000,`0.00,`10.00\n"

// TestBillTypesKeepTheirOwnRuns: a SUCCESS run of a date sits beside its ALL run
// and never replaces it; the ALL run stays the run of record, and a re-run of the
// ALL bill replaces only the ALL run.
func TestBillTypesKeepTheirOwnRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := reconciliation.New(domain.Deps{DB: pgtest.New(t, reconciliation.Migrations)}, reconciliation.Ports{}, reconciliation.Config{})
	ledger := func() reconciliation.LedgerSource {
		return reconciliation.CSVLedgerReader(strings.NewReader(day1Ledger))
	}
	all, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1Bill), ledger())
	if err != nil {
		t.Fatal(err)
	}
	suc, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(successBill), ledger())
	if err != nil {
		t.Fatal(err)
	}
	if suc.Run.BillType != "SUCCESS" || suc.Run.Attempt != 1 {
		t.Fatalf("SUCCESS run %+v", suc.Run)
	}
	rep, err := svc.Report(ctx, testMch, "2025-03-14", 5)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Run.ID != all.Run.ID || rep.Run.BillType != "ALL" {
		t.Fatalf("the run of record is %s %s, want the ALL run", rep.Run.BillType, rep.Run.ID)
	}
	again, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1Bill), ledger())
	if err != nil {
		t.Fatal(err)
	}
	if again.Run.Attempt != 2 {
		t.Fatalf("the ALL re-run is attempt %d", again.Run.Attempt)
	}
	page, err := svc.ListRuns(ctx, identity.System(), reconciliation.RunFilter{Limit: 1})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].BillType != "SUCCESS" || page.NextCursor == "" {
		t.Fatalf("first page %+v, %v", page, err)
	}
	page, err = svc.ListRuns(ctx, identity.System(), reconciliation.RunFilter{Limit: 5, After: page.NextCursor})
	if err != nil || len(page.Runs) != 1 || page.Runs[0].BillType != "ALL" {
		t.Fatalf("second page %+v, %v", page, err)
	}
}

// TestRefundBillIsDatedByItsRefunds: a REFUND bill read from a file is the day its
// refunds were asked for, not the day of the payments they refund.
func TestRefundBillIsDatedByItsRefunds(t *testing.T) {
	t.Parallel()
	url, _ := pgtest.NewDatabase(t, reconciliation.Migrations)
	dir := t.TempDir()
	bill, ledger := filepath.Join(dir, "refund.csv"), filepath.Join(dir, "ledger.csv")
	if err := os.WriteFile(bill, []byte(refundBill), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ledger, []byte(ledgerCSV("REFUND,TD1,4200000001,RF1,5030000001,1000,-6,2025-03-15T11:00:00+08:00,SUCCESS")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCommand(t, "--file", bill, "--ledger", ledger, "--db", url)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "2025-03-15") || !strings.Contains(out, "REFUND bill): balanced") {
		t.Fatalf("the REFUND bill's run:\n%s", out)
	}
	// An unbalanced run exits 2.
	if err := os.WriteFile(ledger, []byte(ledgerCSV()), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCommand(t, "--file", bill, "--ledger", ledger, "--db", url)
	var exit *reconciliation.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != reconciliation.ExitUnbalanced {
		t.Fatalf("unbalanced: %v\n%s", err, out)
	}
}

// TestRevokedTradeIsNotInTheNet: a revoked trade moved no money; the day's net
// leaves it out (the bill's totals, which must equal its summary, keep it).
func TestRevokedTradeIsNotInTheNet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bill := billText(
		billLine{at: "2025-03-14 09:00:00", txn: "4200000001", outTradeNo: "TD1", amount: 10000, feeMilli: 60000},
		billLine{at: "2025-03-14 09:10:00", txn: "4200000077", outTradeNo: "TD77", amount: 2500, feeMilli: 15000},
	)
	bill = strings.Replace(bill, "`4200000077,`TD77,`oUser,`JSAPI,`SUCCESS", "`4200000077,`TD77,`oUser,`JSAPI,`REVOKED", 1)
	svc := reconciliation.New(domain.Deps{DB: pgtest.New(t, reconciliation.Migrations)}, reconciliation.Ports{}, reconciliation.Config{})
	rep, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(bill),
		reconciliation.CSVLedgerReader(strings.NewReader(ledgerCSV("PAY,TD1,4200000001,,,10000,60,2025-03-14T09:00:00+08:00,SUCCESS"))))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Run.Totals.SettlementTotal != 12500 || rep.Run.NetMilliFen != 10000*1000-60000 {
		t.Fatalf("totals %+v, net %d", rep.Run.Totals, rep.Run.NetMilliFen)
	}
}
