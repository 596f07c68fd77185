package wxsim_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/csv"
	"encoding/hex"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// TestSyntheticBillParsesBack: every type, gzip or not, parses without problems
// to the totals of its ledger, and the printed SHA1 is the uncompressed file's.
func TestSyntheticBillParsesBack(t *testing.T) {
	for _, typ := range []string{"ALL", "SUCCESS", "REFUND"} {
		for _, gz := range []bool{false, true} {
			var bill, ledger bytes.Buffer
			res, err := wxsim.WriteSyntheticBill(&bill, wxsim.SynthOptions{Date: "2025-03-14", Lines: 1000, Type: typ, Gzip: gz, Ledger: &ledger})
			if err != nil {
				t.Fatal(err)
			}
			r, err := wxpay.NewTradeBillReader(bytes.NewReader(bill.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			var plain bytes.Buffer
			for r.Next() {
				l := r.Line()
				if l.TradeTime.Format("2006-01-02") != "2025-03-14" && typ != "REFUND" {
					t.Fatalf("%s: line outside the day: %s", typ, l)
				}
			}
			if r.Err() != nil || r.ProblemCount() != 0 || string(r.Type()) != typ {
				t.Fatalf("%s gzip=%v: %v %v %s", typ, gz, r.Err(), r.Problems(), r.Type())
			}
			// The ledger says the same as the bill.
			rows, err := csv.NewReader(&ledger).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var got wxpay.TradeTotals
			for _, row := range rows[1:] {
				amount, _ := strconv.ParseInt(row[5], 10, 64)
				fee, _ := strconv.ParseInt(row[6], 10, 64)
				got.Count++
				got.FeeMilliFen += fee * 1000
				if row[0] == "PAY" {
					got.SettlementTotal += amount
				} else {
					got.RefundAmount += amount
				}
			}
			tot := r.Totals()
			if got.Count != 1000 || got.Count != tot.Count || got.SettlementTotal != tot.SettlementTotal ||
				got.RefundAmount != tot.RefundAmount || got.FeeMilliFen != tot.FeeMilliFen {
				t.Fatalf("%s: ledger %+v, bill %+v", typ, got, tot)
			}
			if !gz {
				plain.Write(bill.Bytes())
				sum := sha1.Sum(plain.Bytes())
				if hex.EncodeToString(sum[:]) != res.SHA1 {
					t.Fatalf("%s: sha1 %s, file %x", typ, res.SHA1, sum)
				}
			}
		}
	}
}

// TestCommandHelpAndBill: `tandem wxsim --help` documents the control API, and
// `tandem wxsim bill` writes a bill to standard output.
func TestCommandHelpAndBill(t *testing.T) {
	var out bytes.Buffer
	cmd := wxsim.Command(nil)
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/sim/pay", "/sim/faults", "signtest", "--control", "--keys", "--db", "--listen"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	out.Reset()
	var stderr bytes.Buffer
	cmd = wxsim.Command(nil)
	cmd.SetOut(&out)
	cmd.SetErr(&stderr)
	cmd.SetArgs([]string{"bill", "--date", "2025-03-14", "--lines", "25", "--type", "SUCCESS", "--lf", "--no-bom"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 25+3 || !strings.HasPrefix(out.String(), "交易时间,") {
		t.Fatalf("%d lines: %.200s", n, out.String())
	}
	if !strings.Contains(stderr.String(), "lines=25 sha1=") {
		t.Fatalf("stderr %q", stderr.String())
	}
}

// BenchmarkSyntheticBill measures `tandem wxsim bill` without the disk:
//
//	go test -run '^$' -bench SyntheticBill -benchtime 3x -cpu 1 ./shared/wxpay/wxsim/
func BenchmarkSyntheticBill(b *testing.B) {
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			const lines = 1_000_000
			for range b.N {
				if _, err := wxsim.WriteSyntheticBill(io.Discard, wxsim.SynthOptions{Date: "2025-03-14", Lines: lines, Gzip: gz}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(lines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// A bill long enough that i × 24 h in nanoseconds would overflow int64 (over 106,751
// lines) still keeps every line inside its day, spread from 00:00 to 24:00.
func TestSyntheticBillLongDayStaysInTheDay(t *testing.T) {
	var bill bytes.Buffer
	const lines = 120_000
	if _, err := wxsim.WriteSyntheticBill(&bill, wxsim.SynthOptions{Date: "2025-03-14", Lines: lines, Type: "SUCCESS"}); err != nil {
		t.Fatal(err)
	}
	r, err := wxpay.NewTradeBillReader(&bill)
	if err != nil {
		t.Fatal(err)
	}
	n, last := 0, ""
	for r.Next() {
		day := r.Line().TradeTime.Format("2006-01-02")
		if day != "2025-03-14" {
			t.Fatalf("line %d is on %s", n, day)
		}
		last = r.Line().TradeTime.Format("15:04")
		n++
	}
	if n != lines || last < "23:50" {
		t.Fatalf("%d lines, the last at %s: want %d spread to the end of the day", n, last, lines)
	}
}
