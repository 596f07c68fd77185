package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
)

// benchSettleCmd is `tandem bench settle`: a month's settlement of every merchant
// (tandem settle's one pass) over a synthetic month of paid orders, fees and refunds.
func benchSettleCmd() *cobra.Command {
	var merchants, orders int
	var full bool
	cmd := &cobra.Command{
		Use:   "settle [--merchants N] [--orders N] [--full]",
		Short: "Settlement: a month's statements of every merchant from the ledger (target: 10,000 merchants, 10,000,000 orders in 60 s)",
		Long: `Writes a synthetic month (March 2025) into a scratch database (tandem_bench_settle): orders
spread over the month and over the merchants, each paid (payment entry: clearing, payable,
commission at 6.5 %) with WeChat's fee booked (fee entry), one in fifty refunded whole (refund
entry giving the commission back) the next hour. Then it makes every merchant's monthly
statement once, as 'tandem settle --period 2025-03' does, and checks the totals against
what was written. Prints a Markdown row. --full is the target's scale (10,000 merchants,
10,000,000 orders: about 70 million rows to write first).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if full {
				merchants, orders = 10_000, 10_000_000
			}
			if merchants < 1 || orders < merchants {
				return fmt.Errorf("--orders must be at least --merchants (>= 1)")
			}
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, err := freshBenchDB(ctx, cfg.DatabaseURL, "tandem_bench_settle")
			if err != nil {
				return err
			}
			defer db.Close()
			return benchSettle(ctx, cmd.OutOrStdout(), db, merchants, orders)
		},
	}
	cmd.Flags().IntVar(&merchants, "merchants", 100, "merchants")
	cmd.Flags().IntVar(&orders, "orders", 100_000, "paid orders in the month")
	cmd.Flags().BoolVar(&full, "full", false, "the target's scale: 10,000 merchants, 10,000,000 orders")
	return cmd
}

// settleBenchChunk is how many orders one generating statement writes.
const settleBenchChunk = 500_000

func benchSettle(ctx context.Context, w io.Writer, db *pgxpool.Pool, merchants, orders int) error {
	gen := time.Now()
	// A scratch database: the ledger's per-row checks (balanced entries, append-only)
	// are off while it is written in bulk; every entry below balances by construction.
	for _, t := range []string{"orders", "payments", "refunds", "journal_entries", "postings"} {
		if _, err := db.Exec(ctx, "ALTER TABLE billing."+t+" DISABLE TRIGGER USER"); err != nil {
			return err
		}
	}
	// Order i: amount 10.00 × (1 + i % 50), commission 6.5 % and fee 0.6 % exact to the
	// fen; paid at i/orders of the month; every 50th refunded whole an hour later.
	const month = `timestamptz '2025-03-01 00:00:00+08' + (i::float8 / p.n * 31 * 86400) * interval '1 second'`
	steps := []string{
		`INSERT INTO billing.orders (id, order_no, consumer_id, merchant_id, description, amount_fen, currency, commission_rate, state, mchid, appid, created_at, paid_at)
		 SELECT md5('o' || i)::uuid, 'B' || i, md5('c' || (i % 100000))::uuid, md5('m' || (i % p.m))::uuid, 'bench',
		        1000 * (1 + i % 50), 'CNY', 0.065, CASE WHEN i % 50 = 0 THEN 'refunded' ELSE 'paid' END, '1900000109', 'wx', ` + month + `, ` + month + `
		 FROM p, generate_series(p.lo, p.hi) i`,
		`INSERT INTO billing.payments (id, order_id, transaction_id, mchid, amount_fen, payer_total_fen, trade_type, payer_openid, success_time, source, recorded_at)
		 SELECT md5('p' || i)::uuid, md5('o' || i)::uuid, '42' || i, '1900000109', 1000 * (1 + i % 50), 1000 * (1 + i % 50), 'JSAPI', 'o', ` + month + `, 'notification', ` + month + `
		 FROM p, generate_series(p.lo, p.hi) i`,
		`INSERT INTO billing.journal_entries (id, order_id, merchant_id, kind, source_key, memo, created_at)
		 SELECT md5(k || i)::uuid, md5('o' || i)::uuid, md5('m' || (i % p.m))::uuid, kind, kind || ':' || md5('o' || i)::uuid::text, '', ` + month + `
		 FROM p, generate_series(p.lo, p.hi) i, (VALUES ('e', 'payment'), ('f', 'fee')) AS x(k, kind)`,
		`INSERT INTO billing.postings (id, entry_id, account, merchant_id, amount_fen, currency)
		 SELECT md5(a || i)::uuid, md5(k || i)::uuid, account, md5('m' || (i % p.m))::uuid, sign * unit * (1 + i % 50), 'CNY'
		 FROM p, generate_series(p.lo, p.hi) i,
		      (VALUES ('a', 'e', 'wxpay_clearing', 1, 1000), ('b', 'e', 'merchant_payable', -1, 935), ('c', 'e', 'platform_commission', -1, 65),
		              ('d', 'f', 'merchant_payable', 1, 6), ('g', 'f', 'wxpay_clearing', -1, 6)) AS x(a, k, account, sign, unit)`,
		`INSERT INTO billing.refunds (id, order_id, out_refund_no, request_key, refund_id, amount_fen, reason, state, created_at, wx_created_at, succeeded_at)
		 SELECT md5('r' || i)::uuid, md5('o' || i)::uuid, 'RB' || i, 'RB' || i, '50' || i, 1000 * (1 + i % 50), 'bench', 'succeeded',
		        ` + month + ` + interval '1 hour', ` + month + ` + interval '1 hour', ` + month + ` + interval '1 hour'
		 FROM p, generate_series(p.lo, p.hi) i WHERE i % 50 = 0`,
		`INSERT INTO billing.journal_entries (id, order_id, merchant_id, kind, source_key, memo, created_at)
		 SELECT md5('x' || i)::uuid, md5('o' || i)::uuid, md5('m' || (i % p.m))::uuid, 'refund', 'refund:' || md5('r' || i)::uuid::text, '', ` + month + ` + interval '1 hour'
		 FROM p, generate_series(p.lo, p.hi) i WHERE i % 50 = 0`,
		`INSERT INTO billing.postings (id, entry_id, account, merchant_id, amount_fen, currency)
		 SELECT md5(a || i)::uuid, md5('x' || i)::uuid, account, md5('m' || (i % p.m))::uuid, sign * unit * (1 + i % 50), 'CNY'
		 FROM p, generate_series(p.lo, p.hi) i,
		      (VALUES ('h', 'wxpay_clearing', -1, 1000), ('j', 'merchant_payable', 1, 935), ('l', 'platform_commission', 1, 65)) AS x(a, account, sign, unit)
		 WHERE i % 50 = 0`,
	}
	for lo := 0; lo < orders; lo += settleBenchChunk {
		hi := min(lo+settleBenchChunk, orders) - 1
		for _, q := range steps {
			q = "WITH p AS (SELECT $1::bigint AS lo, $2::float8 AS n, $3::bigint AS m, $4::bigint AS hi) " + q
			if _, err := db.Exec(ctx, q, lo, orders, merchants, hi); err != nil {
				return fmt.Errorf("bench settle: generate: %w", err)
			}
		}
	}
	if _, err := db.Exec(ctx, "ANALYZE"); err != nil {
		return err
	}
	genTook := time.Since(gen)

	svc := billing.New(domain.Deps{DB: db, Clock: clock.NewSettable()}, billing.Ports{}, billing.Config{})
	start := time.Now()
	sts, err := svc.Settle(ctx, billing.CycleMonthly, "2025-03", time.Time{})
	if err != nil {
		return err
	}
	took := time.Since(start)
	// What was written: gross Σ amount, commission 6.5 % and fee 0.6 % of the orders not refunded.
	var gross, refunds, payments int64
	for i := range int64(orders) {
		a := 1000 * (1 + i%50)
		gross += a
		payments++
		if i%50 == 0 && float64(i)/float64(orders)*31*86400+3600 < 31*86400 { // an hour later, still in March
			refunds += a
		}
	}
	var g, r, n int64
	for _, s := range sts {
		g, r, n = g+s.GrossFen, r+s.RefundsFen, n+int64(s.Payments)
	}
	ok := "yes"
	if len(sts) != merchants || g != gross || r != refunds || n != payments {
		ok = fmt.Sprintf("NO: %d statements, gross %d (want %d), refunds %d (want %d), payments %d", len(sts), g, gross, r, refunds, n)
	}
	fmt.Fprintf(w, "| a month's settlement, %d merchants, %d orders (+%d refunds, a fee per payment) | %.2f s (%.0f orders/s) | written in %.0f s; totals check: %s |\n",
		merchants, orders, orders/50, took.Seconds(), float64(orders)/took.Seconds(), genTook.Seconds(), ok)
	return nil
}
