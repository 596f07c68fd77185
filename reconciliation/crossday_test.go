package reconciliation_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// TestTransactionOnALaterDaysBillIsDuplicate: a payment reconciled on the 14th that
// reappears on the 15th's bill is a duplicate there (not missing on our side), left
// out of the day's net; a line we have on no day stays missing_ours.
func TestTransactionOnALaterDaysBillIsDuplicate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc := reconciliation.New(domain.Deps{DB: pgtest.New(t, reconciliation.Migrations)}, reconciliation.Ports{}, reconciliation.Config{})
	ours := reconciliation.Records{
		{Kind: reconciliation.KindPay, OutTradeNo: "TD1", TransactionID: "4201", AmountFen: 1_000, Status: reconciliation.StatusSuccess, At: shanghai("2025-03-14 09:00:00")},
		{Kind: reconciliation.KindPay, OutTradeNo: "TD2", TransactionID: "4202", AmountFen: 2_000, Status: reconciliation.StatusSuccess, At: shanghai("2025-03-15 09:00:00")},
	}
	day1 := billText(billLine{at: "2025-03-14 09:00:00", txn: "4201", outTradeNo: "TD1", amount: 1_000, feeMilli: 6_000})
	r1, err := svc.RunFile(ctx, testMch, "2025-03-14", strings.NewReader(day1), ours)
	if err != nil || r1.Run.State != reconciliation.StateBalanced {
		t.Fatalf("day 1: %+v, %v", r1, err)
	}
	day2 := billText(
		billLine{at: "2025-03-15 09:00:00", txn: "4202", outTradeNo: "TD2", amount: 2_000, feeMilli: 12_000},
		billLine{at: "2025-03-15 09:30:00", txn: "4201", outTradeNo: "TD1", amount: 1_000, feeMilli: 6_000}, // the 14th's again
		billLine{at: "2025-03-15 10:00:00", txn: "4299", outTradeNo: "TD9", amount: 900, feeMilli: 5_000},   // ours on no day
	)
	r2, err := svc.RunFile(ctx, testMch, "2025-03-15", strings.NewReader(day2), ours)
	if err != nil {
		t.Fatal(err)
	}
	excs, err := svc.Exceptions(ctx, testMch, "2025-03-15")
	if err != nil {
		t.Fatal(err)
	}
	got := byKey(excs)
	if e, ok := got["duplicate TD1"]; !ok || !strings.Contains(e.Note, "2025-03-14") {
		t.Fatalf("the 14th's payment on the 15th's bill: %+v", excs)
	}
	if _, ok := got["missing_ours TD9"]; !ok || len(excs) != 2 {
		t.Fatalf("exceptions %+v", excs)
	}
	checkSums(t, r2.Run)
	if r2.Run.NetMilliFen != (2_000+900)*1000-(12_000+5_000) {
		t.Fatalf("net %d counts the duplicate", r2.Run.NetMilliFen)
	}
}
