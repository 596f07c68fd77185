package wxpay_test

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// FuzzTradeBillReader: any input either is refused up front or parses without
// panicking, every returned line is counted, every problem names a real line.
func FuzzTradeBillReader(f *testing.F) {
	f.Add([]byte(sampleAll))
	f.Add([]byte(allHeader + "\n`2024-01-16 10:49:30,`x\n"))
	var synthetic bytes.Buffer
	if _, err := wxsim.WriteSyntheticBill(&synthetic, wxsim.SynthOptions{Date: "2025-03-14", Lines: 12}); err != nil {
		f.Fatal(err)
	}
	f.Add(synthetic.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := wxpay.NewTradeBillReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		n, last := 0, 1
		for r.Next() {
			n++
			if l := r.Line(); l.LineNo <= last {
				t.Fatalf("line numbers not increasing: %d after %d", l.LineNo, last)
			} else {
				last = l.LineNo
			}
		}
		if r.Totals().Count != int64(n) {
			t.Fatalf("%d lines returned, totals count %d", n, r.Totals().Count)
		}
		for _, p := range r.Problems() {
			if p.Line < 2 || p.Reason == "" {
				t.Fatalf("problem %+v", p)
			}
		}
	})
}

// FuzzFundFlowBillReader is FuzzTradeBillReader for fund-flow bills.
func FuzzFundFlowBillReader(f *testing.F) {
	f.Add([]byte("记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\n" +
		"`2020-10-06 10:00:00,`4200000001,`5000001,`交易,`交易,`收入,`6.00,`106.00,`system,`,`T1\n" +
		"资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\n`1,`1,`6.00,`0,`0.00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := wxpay.NewFundFlowBillReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		n := 0
		for r.Next() {
			n++
		}
		if r.Totals().Count != int64(n) {
			t.Fatalf("%d lines returned, totals count %d", n, r.Totals().Count)
		}
	})
}

// BenchmarkTradeBillReader parses a typical ALL bill (every tenth line a
// refund) and reports lines/s and allocations per line. Run on one core:
//
//	go test -run '^$' -bench TradeBillReader -benchtime 10x -cpu 1 ./shared/wxpay/
func BenchmarkTradeBillReader(b *testing.B) {
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			const lines = 200_000
			var bill bytes.Buffer
			if _, err := wxsim.WriteSyntheticBill(&bill, wxsim.SynthOptions{Date: "2025-03-14", Lines: lines, Gzip: gz}); err != nil {
				b.Fatal(err)
			}
			data := bill.Bytes()
			b.SetBytes(int64(len(data)))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				r, err := wxpay.NewTradeBillReader(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for r.Next() {
					n++
				}
				if n != lines || r.ProblemCount() != 0 {
					b.Fatalf("%d lines, problems %v", n, r.Problems())
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			total := float64(lines) * float64(b.N)
			b.ReportMetric(total/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/total, "allocs/line")
		})
	}
}
