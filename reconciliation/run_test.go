package reconciliation_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// The day under test and its bill: every class, both match paths, a malformed
// line, and both ways a payment crosses midnight.
var day1Bill = billText(
	billLine{at: "2025-03-14 09:00:00", txn: "4200000001", outTradeNo: "TD1", amount: 10000, feeMilli: 60000}, // matched
	billLine{at: "2025-03-14 09:10:00", txn: "4200000002", outTradeNo: "TD2", amount: 2599, feeMilli: 16000},  // missing_ours
	billLine{at: "2025-03-14 09:20:00", txn: "4200000004", outTradeNo: "TD4", amount: 5000, feeMilli: 30000},  // amount_mismatch
	billLine{at: "2025-03-14 09:30:00", txn: "4200000005", outTradeNo: "TD5", refundID: "5030000005", // status_mismatch
		outRefNo: "RF5", amount: 300, feeMilli: -2000},
	billLine{at: "2025-03-14 09:40:00", txn: "4200000006", outTradeNo: "TD6", amount: 777, feeMilli: 5000},   // matched
	billLine{at: "2025-03-14 09:41:00", txn: "4200000006", outTradeNo: "TD6", amount: 777, feeMilli: 5000},   // duplicate (bill)
	billLine{raw: "2025-03-14 09:42:00,`wxd678efh567hg6787,`1900000109,`broken"},                             // malformed: line 8
	billLine{at: "2025-03-14 09:50:00", txn: "4200000007", outTradeNo: "TD7", amount: 1234, feeMilli: 7000},  // matched (ours twice)
	billLine{at: "2025-03-14 10:00:00", txn: "4200000008", outTradeNo: "TD8", amount: 4321, feeMilli: 26000}, // matched by out_trade_no
	billLine{at: "2025-03-14 10:10:00", txn: "4200000009", outTradeNo: "TD9", refundID: "5030000009", // matched by refund_id
		outRefNo: "RF9", amount: 500, feeMilli: -3000},
	billLine{at: "2025-03-14 10:20:00", txn: "4200000010", outTradeNo: "TD10", refundID: "5030000010", // matched by out_refund_no
		outRefNo: "RF10", amount: 600, feeMilli: -4000},
	billLine{at: "2025-03-14 23:58:00", txn: "4200000012", outTradeNo: "TD12", amount: 999, feeMilli: 6000},  // outside_window: we book it after midnight
	billLine{at: "2025-03-13 12:00:00", txn: "4200000013", outTradeNo: "TD13", amount: 1500, feeMilli: 9000}, // outside_window: yesterday's, unknown to us
)

var day1Ledger = ledgerCSV(
	"PAY,TD1,4200000001,,,10000,60,2025-03-14T09:00:00+08:00,SUCCESS",
	"PAY,TD3,4200000003,,,8800,53,2025-03-14T09:15:00+08:00,SUCCESS", // missing_wechat
	"PAY,TD4,4200000004,,,4999,30,2025-03-14T09:20:00+08:00,SUCCESS",
	"REFUND,TD5,4200000005,RF5,5030000005,300,-2,2025-03-14T09:30:00+08:00,PROCESSING",
	"PAY,TD6,4200000006,,,777,5,2025-03-14T09:40:00+08:00,SUCCESS",
	"PAY,TD7,4200000007,,,1234,7,2025-03-14T09:50:00+08:00,SUCCESS",
	"PAY,TD7,4200000007,,,1234,7,2025-03-14T09:50:00+08:00,SUCCESS", // duplicate (ours)
	"PAY,TD8,,,,4321,26,2025-03-14T10:00:00+08:00,SUCCESS",
	"REFUND,TD9,4200000009,RF9,5030000009,500,-3,2025-03-14T10:10:00+08:00,SUCCESS",
	"REFUND,TD10,4200000010,RF10,,600,-4,2025-03-14T10:20:00+08:00,SUCCESS",
	"PAY,TD11,4200000011,,,2000,12,2025-03-14T23:59:59+08:00,SUCCESS", // outside_window: its line is in tomorrow's bill
	"PAY,TD99,4200000099,,,100,1,2025-03-15T08:00:00+08:00,SUCCESS",   // another day: not streamed
)

var day2Bill = billText(
	billLine{at: "2025-03-14 23:59:59", txn: "4200000011", outTradeNo: "TD11", amount: 2000, feeMilli: 12000}, // carried ours: matched
	billLine{at: "2025-03-15 08:00:00", txn: "4200000099", outTradeNo: "TD99", amount: 100, feeMilli: 1000},   // matched
)

var day2Ledger = ledgerCSV(
	"PAY,TD12,4200000012,,,999,6,2025-03-15T00:00:30+08:00,SUCCESS", // matches the bill line carried from yesterday
	"PAY,TD99,4200000099,,,100,1,2025-03-15T08:00:00+08:00,SUCCESS",
)

func wantClasses(t *testing.T, run reconciliation.Run, want map[reconciliation.Class]int64) {
	t.Helper()
	for c := range reconciliation.NumClasses {
		if got := run.Classes[c].Items; got != want[c] {
			t.Errorf("%s: %d items, want %d", c, got, want[c])
		}
	}
}

func TestRunEveryClass(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, reconciliation.Migrations)
	rep := &fakeRepairer{}
	svc := reconciliation.New(domain.Deps{DB: db}, reconciliation.Ports{Repairer: rep}, reconciliation.Config{})

	r1, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1Bill), reconciliation.CSVLedgerReader(strings.NewReader(day1Ledger)))
	if err != nil {
		t.Fatal(err)
	}
	run := r1.Run
	wantClasses(t, run, map[reconciliation.Class]int64{
		reconciliation.ClassMatched: 6, reconciliation.ClassMissingOurs: 1, reconciliation.ClassMissingWeChat: 1,
		reconciliation.ClassAmountMismatch: 1, reconciliation.ClassStatusMismatch: 1, reconciliation.ClassDuplicate: 2,
		reconciliation.ClassOutsideWindow: 3,
	})
	checkSums(t, run)
	if run.Totals.Count != 12 || run.LedgerRecords != 11 || run.State != reconciliation.StateIncomplete || run.Attempt != 1 {
		t.Fatalf("run: %+v", run)
	}
	// Exact sums of one class: the matched bill lines are 100.00 + 7.77 + 12.34 + 43.21 in
	// payments and 5.00 + 6.00 in refunds.
	if m := run.Classes[reconciliation.ClassMatched]; m.OrderFen != 10000+777+1234+4321 || m.RefundFen != 1100 ||
		m.FeeMilliFen != 60000+5000+7000+26000-3000-4000 || m.OurAmountFen != 10000+777+1234+4321+1100 || m.OurRecords != 6 {
		t.Fatalf("matched: %+v", m)
	}
	if run.ProblemCount != 1 || run.Problems[0].Line != 8 || !strings.Contains(run.Problems[0].Reason, "fields") {
		t.Fatalf("problems: %+v", run.Problems)
	}

	excs, err := svc.Exceptions(ctx, testMch, "2025-03-14")
	if err != nil {
		t.Fatal(err)
	}
	got := byKey(excs)
	for _, k := range []string{"missing_ours TD2", "missing_wechat TD3", "amount_mismatch TD4", "status_mismatch RF5",
		"duplicate TD6", "duplicate TD7", "outside_window TD11", "outside_window TD12", "outside_window TD13"} {
		if _, ok := got[k]; !ok {
			t.Errorf("no exception %q in %v", k, slices.Collect(func(yield func(string) bool) {
				for k := range got {
					yield(k)
				}
			}))
		}
	}
	if e := got["amount_mismatch TD4"]; e.Bill.AmountFen != 5000 || e.Ours.AmountFen != 4999 || e.Bill.LineNo != 4 {
		t.Errorf("amount mismatch: %+v %+v %+v", e, e.Bill, e.Ours)
	}
	if e := got["duplicate TD6"]; e.Bill == nil || e.Bill.LineNo != 7 || e.Ours != nil {
		t.Errorf("bill duplicate: %+v", e)
	}
	if e := got["duplicate TD7"]; e.Bill != nil || e.Ours == nil {
		t.Errorf("ledger duplicate: %+v", e)
	}
	if e := got["status_mismatch RF5"]; e.Bill.State != "SUCCESS" || e.Ours.Status != "PROCESSING" {
		t.Errorf("status mismatch: %+v", e)
	}
	// The repair: called once, for TD2, and recorded.
	calls := rep.Calls()
	if len(calls) != 1 || calls[0].OutTradeNo != "TD2" || calls[0].TransactionID != "4200000002" || calls[0].AmountFen != 2599 {
		t.Fatalf("repair calls: %+v", calls)
	}
	if e := got["missing_ours TD2"]; e.RepairedAt == nil || run.Repaired != 1 {
		t.Fatalf("repair not recorded: %+v, run %d", e, run.Repaired)
	}

	t.Run("rerun is idempotent", func(t *testing.T) {
		r2, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1Bill), reconciliation.CSVLedgerReader(strings.NewReader(day1Ledger)))
		if err != nil {
			t.Fatal(err)
		}
		again := r2.Run
		if again.Attempt != 2 || again.ID == run.ID || again.Classes != run.Classes || again.Totals != run.Totals ||
			again.Repaired != 1 || again.ProblemCount != 1 {
			t.Fatalf("re-run differs:\n%+v\n%+v", again, run)
		}
		if n := len(rep.Calls()); n != 1 {
			t.Fatalf("the re-run repaired again: %d calls", n)
		}
		excs2, err := svc.Exceptions(ctx, testMch, "2025-03-14")
		if err != nil {
			t.Fatal(err)
		}
		if len(excs2) != len(excs) {
			t.Fatalf("%d exceptions, then %d", len(excs), len(excs2))
		}
		for k, e := range byKey(excs2) {
			if got[k].Class != e.Class || got[k].Note != e.Note && k != "missing_ours TD2" {
				t.Errorf("%s differs: %+v / %+v", k, got[k], e)
			}
		}
		var rows, runs int
		if err := db.QueryRow(ctx, "SELECT (SELECT count(*) FROM recon.exceptions), (SELECT count(*) FROM recon.runs)").Scan(&rows, &runs); err != nil {
			t.Fatal(err)
		}
		if rows != len(excs) || runs != 1 {
			t.Fatalf("after a re-run: %d exception rows, %d runs", rows, runs)
		}
	})

	t.Run("next day takes over what was carried", func(t *testing.T) {
		r, err := svc.RunFile(ctx, testMch, "2025-03-15", strings.NewReader(day2Bill), reconciliation.CSVLedgerReader(strings.NewReader(day2Ledger)))
		if err != nil {
			t.Fatal(err)
		}
		wantClasses(t, r.Run, map[reconciliation.Class]int64{
			reconciliation.ClassMatched:     3, // TD11 (ours carried), TD12 (line carried), TD99
			reconciliation.ClassMissingOurs: 1, // TD13: carried, still unknown to us
		})
		checkSums(t, r.Run)
		if r.Run.CarriedIn != 3 || r.Run.Classes[reconciliation.ClassMatched].BillLines != 2 {
			t.Fatalf("run: %+v", r.Run)
		}
		if len(r.Top) != 1 || r.Top[0].OutTradeNo != "TD13" || r.Top[0].CarriedFrom != "2025-03-14" || r.Top[0].RepairedAt == nil {
			t.Fatalf("exceptions: %+v", r.Top)
		}
		if calls := rep.Calls(); len(calls) != 2 || calls[1].OutTradeNo != "TD13" {
			t.Fatalf("repair calls: %+v", calls)
		}
	})
}

func TestRunRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, reconciliation.Migrations)
	svc := reconciliation.New(domain.Deps{DB: db}, reconciliation.Ports{}, reconciliation.Config{})
	ledger := func() reconciliation.LedgerSource {
		return reconciliation.CSVLedgerReader(strings.NewReader(day1Ledger))
	}

	if _, err := svc.RunFile(ctx, testMch, "14/03/2025", strings.NewReader(day1Bill), ledger()); errs.CodeOf(err) != reconciliation.CodeInvalidDate {
		t.Fatalf("bad date: %v", err)
	}
	if _, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader("not,a,bill\n"), ledger()); errs.CodeOf(err) != reconciliation.CodeBillUnreadable {
		t.Fatalf("not a bill: %v", err)
	}
	bad := ledgerCSV("PAY,TD1,4200000001,,,ten,60,2025-03-14T09:00:00+08:00,SUCCESS")
	_, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1Bill), reconciliation.CSVLedgerReader(strings.NewReader(bad)))
	if errs.CodeOf(err) != reconciliation.CodeLedgerUnreadable || !strings.Contains(err.Error(), "ledger line 2") {
		t.Fatalf("bad ledger: %v", err)
	}
	// A run that fails writes nothing.
	var n int
	if err := db.QueryRow(ctx, "SELECT count(*) FROM recon.runs").Scan(&n); err != nil || n != 0 {
		t.Fatalf("failed runs wrote %d runs (%v)", n, err)
	}
}

func TestReportTable(t *testing.T) {
	ctx := context.Background()
	db := pgtest.New(t, reconciliation.Migrations)
	svc := reconciliation.New(domain.Deps{DB: db}, reconciliation.Ports{}, reconciliation.Config{})
	if _, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1Bill), reconciliation.CSVLedgerReader(strings.NewReader(day1Ledger))); err != nil {
		t.Fatal(err)
	}
	rep, err := svc.Report(ctx, testMch, "2025-03-14", 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Top) != 5 || rep.Top[0].Class != reconciliation.ClassMissingOurs || rep.Top[1].Class != reconciliation.ClassMissingWeChat {
		t.Fatalf("top: %+v", rep.Top)
	}
	checkSums(t, rep.Run)
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"incomplete", "amount_mismatch", "line 8:", "net ", "TD2", "WeChat 50.00, ours 49.99 (difference 0.01)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	if _, err := svc.Report(ctx, testMch, "2025-01-01", 5); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("no run: %v", err)
	}
}
