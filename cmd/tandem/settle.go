package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/web"
)

// settleCmd is `tandem settle`: every merchant's statement of a period, from billing's
// ledger, printed as a Markdown table.
func settleCmd() *cobra.Command {
	var per, cycle, asOf string
	cmd := &cobra.Command{
		Use:   "settle --period YYYY-MM-DD|YYYY-MM [--cycle T+1|T+7|monthly] [--as-of RFC3339]",
		Short: "Print every merchant's settlement statement of a period from the billing ledger",
		Long: `Compute, from billing's ledger, each merchant's statement of one period: gross,
refunds, commission, WeChat's fees, adjustments and net payable (gross − refunds −
commission − fees + adjustments), with the numbers of payments and refunds, one row
per merchant that had an entry or an adjustment in the period, then the totals.

A period is a day (yyyy-MM-dd: T+1, or T+7 with --cycle T+7) or a calendar month
(yyyy-MM: monthly), in Asia/Shanghai. A payment counts on the day of WeChat's success
time, a refund on the day it succeeded, each fee with its payment or refund, an
adjustment when it was made: recorded times, so a past period comes out the same
every time. --as-of counts only what was booked by then (an issued statement is the
period as of its issue). Nothing is written: issuing is finance's, in the console or
POST /api/v1/billing/merchants/{id}/statements/{period}/issue.

Exit status: 0 printed; 1 the statements could not be made.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cycle == "" {
				cycle = billing.CycleT1
				if len(per) == len("2006-01") {
					cycle = billing.CycleMonthly
				}
			}
			var at time.Time
			if asOf != "" {
				var err error
				if at, err = time.Parse(time.RFC3339, asOf); err != nil {
					return errs.Invalidf("as-of", "a time like 2025-04-01T00:00:00+08:00")
				}
			}
			a, err := openFromCommand(cmd)
			if err != nil {
				return err
			}
			defer a.Close()
			start := time.Now()
			sts, err := billing.NewSettlement(a.db).Settle(cmd.Context(), cycle, per, at)
			if err != nil {
				return err
			}
			if err := writeSettlement(cmd.OutOrStdout(), sts); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d statements of %s (%s) in %s\n", len(sts), per, cycle, time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	cmd.Flags().StringVar(&per, "period", "", "the period: yyyy-MM-dd (T+1, T+7) or yyyy-MM (monthly)")
	cmd.Flags().StringVar(&cycle, "cycle", "", "T+1, T+7 or monthly (default: monthly for a month, T+1 for a day)")
	cmd.Flags().StringVar(&asOf, "as-of", "", "count only entries booked by this time (RFC 3339; default: all booked so far)")
	_ = cmd.MarkFlagRequired("period")
	return cmd
}

// writeSettlement prints statements as a Markdown table with a totals row (yuan).
func writeSettlement(w io.Writer, sts []billing.Statement) error {
	var b strings.Builder
	b.WriteString("| merchant | payable on | gross | refunds | commission | fees | adjustments | net | payments | refunds |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	var t billing.Statement
	row := func(name, payable string, s billing.Statement) {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n", name, payable, web.Yuan(s.GrossFen), web.Yuan(s.RefundsFen),
			web.Yuan(s.CommissionFen), web.Yuan(s.FeesFen), web.Yuan(s.AdjustmentFen), web.Yuan(s.NetFen), s.Payments, s.Refunds)
	}
	for _, s := range sts {
		row(s.MerchantID.String(), s.PayableOn, s)
		t.GrossFen, t.RefundsFen, t.CommissionFen, t.FeesFen = t.GrossFen+s.GrossFen, t.RefundsFen+s.RefundsFen, t.CommissionFen+s.CommissionFen, t.FeesFen+s.FeesFen
		t.AdjustmentFen, t.NetFen, t.Payments, t.Refunds = t.AdjustmentFen+s.AdjustmentFen, t.NetFen+s.NetFen, t.Payments+s.Payments, t.Refunds+s.Refunds
	}
	row(fmt.Sprintf("**total (%d)**", len(sts)), "", t)
	_, err := io.WriteString(w, b.String())
	return err
}
