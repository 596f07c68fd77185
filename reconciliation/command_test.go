package reconciliation_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
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
			Status: "SUCCESS", At: shanghai("2025-03-14 00:00:00"), Pos: 2},
		{Kind: reconciliation.KindRefund, OutTradeNo: "TD1", TransactionID: "4200000001", OutRefundNo: "RF1", RefundID: "5030001",
			AmountFen: 100, FeeFen: -1, Status: "SUCCESS", At: time.Date(2025, 3, 14, 15, 4, 5, 0, time.UTC), Pos: 3},
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

// TestCSVLedgerRestreams: the records no bill line claimed are read again by their
// line numbers, from a plain file (only the blocks that hold them), from memory and
// from gzip (the whole file again), with the same values as the first read.
func TestCSVLedgerRestreams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var b strings.Builder
	b.WriteString("\uFEFFkind,out_trade_no,transaction_id,out_refund_no,refund_id,amount_fen,fee_fen,occurred_at\r\n")
	const rows = 10_000 // three blocks of offsets
	for i := range rows {
		fmt.Fprintf(&b, "PAY,TD%d,42%08d,,,%d,1,2025-03-14T10:00:00+08:00\r\n", i, i, i+1)
	}
	dir := t.TempDir()
	plain, gz := filepath.Join(dir, "l.csv"), filepath.Join(dir, "l.csv.gz")
	if err := os.WriteFile(plain, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var zb bytes.Buffer
	zw := gzip.NewWriter(&zb)
	zw.Write([]byte(b.String()))
	zw.Close()
	if err := os.WriteFile(gz, zb.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	q := reconciliation.LedgerQuery{MchID: testMch, From: shanghai("2025-03-14 00:00:00"), To: shanghai("2025-03-15 00:00:00")}
	for name, src := range map[string]*reconciliation.CSVLedger{"plain": reconciliation.CSVLedgerFile(plain),
		"gzip": reconciliation.CSVLedgerFile(gz), "memory": reconciliation.CSVLedgerReader(strings.NewReader(b.String()))} {
		first := map[int64]reconciliation.Record{}
		if err := src.StreamLedger(ctx, q, func(r *reconciliation.Record) error { first[r.Pos] = kept(r); return nil }); err != nil {
			t.Fatal(name, err)
		}
		if len(first) != rows || first[2].OutTradeNo != "TD0" || first[rows+1].OutTradeNo != fmt.Sprintf("TD%d", rows-1) {
			t.Fatalf("%s: %d records, first %+v", name, len(first), first[2])
		}
		positions := []int64{rows + 1, 2, 4097, 4096, 4098, 9000}
		got := map[int64]reconciliation.Record{}
		err := src.RestreamLedger(ctx, q, positions, func(r *reconciliation.Record) error { got[r.Pos] = kept(r); return nil })
		if err != nil {
			t.Fatal(name, err)
		}
		if len(got) != len(positions) {
			t.Fatalf("%s: %d records again, want %d: %v", name, len(got), len(positions), got)
		}
		for _, p := range positions {
			if got[p] != first[p] {
				t.Fatalf("%s: line %d again %+v, first %+v", name, p, got[p], first[p])
			}
		}
	}
}

// kept copies a record out of its callback (its strings are the parser's buffer).
func kept(r *reconciliation.Record) reconciliation.Record {
	c := *r
	c.OutTradeNo, c.TransactionID, c.OutRefundNo = strings.Clone(r.OutTradeNo), strings.Clone(r.TransactionID), strings.Clone(r.OutRefundNo)
	c.RefundID, c.Status = strings.Clone(r.RefundID), strings.Clone(r.Status)
	return c
}
