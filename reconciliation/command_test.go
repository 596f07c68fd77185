package reconciliation_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

func runCommand(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := reconciliation.Command()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestCommandFile(t *testing.T) {
	url, _ := pgtest.NewDatabase(t)
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(day1Bill))
	zw.Close()
	bill, ledger := filepath.Join(dir, "bill.csv.gz"), filepath.Join(dir, "ledger.csv")
	if err := os.WriteFile(bill, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ledger, []byte(day1Ledger), 0o600); err != nil {
		t.Fatal(err)
	}
	// Merchant and date come from the bill.
	// The run is incomplete: the command says so with exit status 3, after its report.
	out, err := runCommand(t, "--file", bill, "--ledger", ledger, "--db", url, "--migrate")
	var exit *reconciliation.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != reconciliation.ExitIncomplete {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"merchant 1900000109, 2025-03-14 (attempt 1, file ALL bill): incomplete",
		"missing_ours", "line 8:", "took:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCommandDownloadNeedsTheBillingLedger(t *testing.T) {
	_, err := runCommand(t, "--date", "2025-03-14")
	if errs.CodeOf(err) != reconciliation.CodeLedgerUnavailable || !strings.Contains(err.Error(), "billing ledger") {
		t.Fatalf("--date alone: %v", err)
	}
	_, err = runCommand(t, "--date", "2025-03-14", "--ledger", "ours.csv")
	if errs.CodeOf(err) != reconciliation.CodeWxpayUnavailable {
		t.Fatalf("--date --ledger without a WeChat Pay account: %v", err)
	}
	if _, err := runCommand(t, "--file", "bill.csv"); errs.KindOf(err) != errs.KindInvalid {
		t.Fatalf("--file without a ledger: %v", err)
	}
}

func TestCSVLedger(t *testing.T) {
	ctx := context.Background()
	q := reconciliation.LedgerQuery{MchID: testMch, From: shanghai("2025-03-14 00:00:00"), To: shanghai("2025-03-15 00:00:00")}
	var got []reconciliation.Record
	collect := func(r *reconciliation.Record) error {
		got = append(got, *r)
		return nil
	}
	// The wxsim format (no status column), CRLF, a record outside the window.
	text := "kind,out_trade_no,transaction_id,out_refund_no,refund_id,amount_fen,fee_fen,occurred_at\r\n" +
		"PAY,TD1,4200000001,,,12345,74,2025-03-14T00:00:00+08:00\r\n" +
		"REFUND,TD1,4200000001,RF1,5030001,100,-1,2025-03-14T15:04:05Z\r\n" +
		"PAY,TD2,4200000002,,,1,0,2025-03-13T23:59:59+08:00\r\n"
	if err := reconciliation.CSVLedgerReader(strings.NewReader(text)).StreamLedger(ctx, q, collect); err != nil {
		t.Fatal(err)
	}
	want := []reconciliation.Record{
		{Kind: reconciliation.KindPay, OutTradeNo: "TD1", TransactionID: "4200000001", AmountFen: 12345, FeeFen: 74,
			Status: "SUCCESS", At: shanghai("2025-03-14 00:00:00")},
		{Kind: reconciliation.KindRefund, OutTradeNo: "TD1", TransactionID: "4200000001", OutRefundNo: "RF1", RefundID: "5030001",
			AmountFen: 100, FeeFen: -1, Status: "SUCCESS", At: time.Date(2025, 3, 14, 15, 4, 5, 0, time.UTC)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if !got[i].At.Equal(want[i].At) {
			t.Fatalf("%d: at %v, want %v", i, got[i].At, want[i].At)
		}
		got[i].At = want[i].At
		if got[i] != want[i] {
			t.Fatalf("%d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{
		"kind,out_trade_no\nPAY,TD1\n",
		"kind,out_trade_no,transaction_id,amount_fen,occurred_at\nPAY,TD1,42,1,2025-03-14T25:00:00+08:00\n",
		"kind,out_trade_no,transaction_id,amount_fen,occurred_at\nBUY,TD1,42,1,2025-03-14T10:00:00+08:00\n",
		"kind,out_trade_no,transaction_id,amount_fen,occurred_at\nPAY,TD1,42,1\n",
	} {
		err := reconciliation.CSVLedgerReader(strings.NewReader(bad)).StreamLedger(ctx, q, collect)
		if errs.CodeOf(err) != reconciliation.CodeLedgerUnreadable {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
