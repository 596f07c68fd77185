package reconciliation

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tandemcrm/tandem/shared/wxpay"
)

// WriteTable prints the report for a terminal: the run, counts and sums per
// class, fees and net, problems, and the first exceptions. Amounts are yuan,
// exact (fees with the bill's five decimals).
func (r *Report) WriteTable(w io.Writer) error {
	run := &r.Run
	fen, milli := wxpay.FormatFen, wxpay.FormatMilliFen
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format, args...) }

	fmt.Fprintf(w, "Reconciliation of merchant %s, %s (attempt %d, %s %s bill): %s\n", run.MchID, run.Date, run.Attempt,
		run.Source, run.BillType, run.State)
	fmt.Fprintf(w, "bill lines %d, our records %d, carried in from the previous date %d, repaired %d, problems %d\n\n",
		run.Totals.Count, run.LedgerRecords, run.CarriedIn, run.Repaired, run.ProblemCount)

	p("class\titems\tbill lines\torder\tsettlement\trefund\tfee\tour records\tour amount\t\n")
	var total ClassStats
	for c, s := range run.Classes {
		p("%s\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t\n", Class(c), s.Items, s.BillLines, fen(s.OrderFen), fen(s.SettlementFen),
			fen(s.RefundFen), milli(s.FeeMilliFen), s.OurRecords, fen(s.OurAmountFen))
		total.Items += s.Items
		total.BillLines += s.BillLines
		total.OrderFen += s.OrderFen
		total.SettlementFen += s.SettlementFen
		total.RefundFen += s.RefundFen
		total.FeeMilliFen += s.FeeMilliFen
		total.OurRecords += s.OurRecords
		total.OurAmountFen += s.OurAmountFen
	}
	p("total\t%d\t%d\t%s\t%s\t%s\t%s\t%d\t%s\t\n", total.Items, total.BillLines, fen(total.OrderFen), fen(total.SettlementFen),
		fen(total.RefundFen), milli(total.FeeMilliFen), total.OurRecords, fen(total.OurAmountFen))
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nsettlement %s - refunds %s - fees %s = net %s\n", fen(run.Totals.SettlementTotal),
		fen(run.Totals.RefundAmount), milli(run.Totals.FeeMilliFen), milli(run.NetMilliFen))

	if run.ProblemCount > 0 {
		fmt.Fprintf(w, "\nproblems (%d):\n", run.ProblemCount)
		for i, pr := range run.Problems {
			if i == TopExceptions {
				fmt.Fprintf(w, "  ... %d more\n", run.ProblemCount-int64(i))
				break
			}
			fmt.Fprintf(w, "  line %d: %s\n", pr.Line, pr.Reason)
		}
	}
	if len(r.Top) == 0 {
		fmt.Fprintln(w, "\nno exceptions")
		return nil
	}
	n := run.Exceptions() + run.Classes[ClassOutsideWindow].Items
	fmt.Fprintf(w, "\nexceptions (%d of %d):\n", len(r.Top), n)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p("  class\tkind\tout_trade_no\tout_refund_no\tline\tWeChat\tours\trepaired\tnote\n")
	for _, e := range r.Top {
		wx, ours, line, repaired := "-", "-", "-", "-"
		if e.Bill != nil {
			wx, line = fmt.Sprintf("%s %s %s", e.Bill.State, fen(e.Bill.AmountFen), e.Bill.At.Format(time.DateTime)), fmt.Sprint(e.Bill.LineNo)
		}
		if e.Ours != nil {
			ours = fmt.Sprintf("%s %s %s", e.Ours.Status, fen(e.Ours.AmountFen), e.Ours.At.In(wxpay.Shanghai).Format(time.DateTime))
		}
		if e.RepairedAt != nil {
			repaired = e.RepairedAt.In(wxpay.Shanghai).Format(time.DateTime)
		}
		p("  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Class, e.Kind, e.OutTradeNo, orDash(e.OutRefundNo), line, wx, ours, repaired, e.Note)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
