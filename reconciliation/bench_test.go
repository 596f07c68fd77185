package reconciliation_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// TestBenchFiles: the benchmark's files carry exactly their four differences.
func TestBenchFiles(t *testing.T) {
	bf, err := reconciliation.WriteBenchFiles(t.TempDir(), "2025-03-14", 2000, true)
	if err != nil {
		t.Fatal(err)
	}
	r := runBench(t, newBenchService(t), bf)
	wantClasses(t, r.Run, map[reconciliation.Class]int64{reconciliation.ClassMatched: 1998, reconciliation.ClassMissingOurs: 1,
		reconciliation.ClassMissingWeChat: 1, reconciliation.ClassAmountMismatch: 1, reconciliation.ClassDuplicate: 1})
	checkSums(t, r.Run)
}

func newBenchService(tb testing.TB) *reconciliation.Service {
	return reconciliation.New(domain.Deps{DB: pgtest.New(tb, reconciliation.Migrations)}, reconciliation.Ports{}, reconciliation.Config{})
}

func runBench(tb testing.TB, svc *reconciliation.Service, bf reconciliation.BenchFiles) *reconciliation.Report {
	tb.Helper()
	f, err := os.Open(bf.Bill)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r, err := svc.RunFile(context.Background(), bf.MchID, bf.Date, f, reconciliation.CSVLedgerFile(bf.Ledger))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// BenchmarkReconcile1M: read + parse + load ours + match + write, one run per
// iteration (TANDEM_RECON_BENCH_LINES overrides the million). The whole process's
// time and peak memory: reconciliation/bench.sh.
func BenchmarkReconcile1M(b *testing.B) {
	lines := 1_000_000
	if s := os.Getenv("TANDEM_RECON_BENCH_LINES"); s != "" {
		lines, _ = strconv.Atoi(s)
	}
	bf, err := reconciliation.WriteBenchFiles(b.TempDir(), "2025-03-14", lines, false)
	if err != nil {
		b.Fatal(err)
	}
	svc := newBenchService(b)
	for b.Loop() {
		if r := runBench(b, svc, bf); r.Run.Classes[reconciliation.ClassMatched].Items != int64(lines-2) {
			b.Fatalf("matched %d", r.Run.Classes[reconciliation.ClassMatched].Items)
		}
	}
	b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
