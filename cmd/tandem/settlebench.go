package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/pg"
)

// benchSettleCmd is `tandem bench settle`: a month's settlement of every merchant
// (tandem settle's one pass) over a synthetic month of paid orders, fees and refunds.
func benchSettleCmd() *cobra.Command {
	var merchants, orders int
	var full bool
	cmd := &cobra.Command{
		Use:   "settle [--merchants N] [--orders N] [--full]",
		Short: "Settlement: a month's statements of every merchant from the ledger (target: 10,000 merchants, 10,000,000 orders in 60 s)",
		Long: `Writes a synthetic month (March 2025) into a scratch database (tandem_bench_settle) with
COPY: orders spread over the month and over the merchants, each paid (payment entry:
clearing, payable, commission at 6.5 %) with WeChat's fee booked (fee entry), one in fifty
refunded whole (refund entry giving the commission back) the next hour. Each entry carries
its business time and its postings' sums, as the ledger writes them; the postings are not
written (the settlement does not read them). Then it makes every merchant's monthly
statement once, as 'tandem settle --period 2025-03' does, and checks the totals against
what was written. Prints a Markdown row. --full is the target's scale (10,000 merchants,
10,000,000 orders: 10 million orders and 20.2 million entries to write first, about 8 GB).`,
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

// settleBench is the synthetic month: order i of n, for merchant i % m, amount
// 10.00 × (1 + i % 50) with commission 6.5 % and WeChat's fee 0.6 % (both exact to the
// fen), paid at i/n of March 2025 (Asia/Shanghai); every 50th refunded whole an hour
// later. Ids are time-ordered like the UUIDv7 ids Tandem makes, so the indexes grow
// at their right edge.
type settleBench struct{ n, m int64 }

var settleBenchMonth = time.Date(2025, 3, 1, 0, 0, 0, 0, clock.Shanghai)

// benchID is a time-ordered id: a tag, then the number (version 7, RFC 4122 variant).
func benchID(tag byte, i int64) uuid.UUID {
	var u uuid.UUID
	binary.BigEndian.PutUint64(u[8:], uint64(i))
	u[0], u[6], u[8] = tag, 0x70, 0x80|u[8]&0x3f
	return u
}

func (b settleBench) amount(i int64) int64 { return 1000 * (1 + i%50) }
func (b settleBench) paidAt(i int64) time.Time {
	return settleBenchMonth.Add(time.Duration(float64(i) / float64(b.n) * 31 * 24 * float64(time.Hour)))
}
func (b settleBench) merchant(i int64) uuid.UUID { return benchID('m', i%b.m) }

// row writes one line of COPY's text format: fields (none needs escaping) by tabs.
func row(w *bufio.Writer, fields ...string) {
	for k, f := range fields {
		if k > 0 {
			w.WriteByte('\t')
		}
		w.WriteString(f)
	}
	w.WriteByte('\n')
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }

func ts(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999-07") }

// orders writes billing.orders (settleBenchOrderCols).
func (b settleBench) orders(w *bufio.Writer) {
	for i := range b.n {
		at, state, refunded := ts(b.paidAt(i)), "paid", "0"
		if i%50 == 0 {
			state, refunded = "refunded", itoa(b.amount(i))
		}
		row(w, benchID('o', i).String(), "B"+itoa(i), benchID('c', i%100_000).String(), b.merchant(i).String(), "bench",
			itoa(b.amount(i)), "CNY", "0.065", state, "1900000109", "wx", refunded, at, at)
	}
}

var settleBenchOrderCols = "id, order_no, consumer_id, merchant_id, description, amount_fen, currency, commission_rate, state, mchid, appid, refunded_fen, created_at, paid_at"

// entries writes billing.journal_entries (settleBenchEntryCols): each order's
// payment and fee entries, and every 50th order's refund, with the sums of the
// postings they stand for (the settlement reads these; the postings themselves are
// not written).
func (b settleBench) entries(w *bufio.Writer) {
	for i := range b.n {
		a, at, o, m := b.amount(i), ts(b.paidAt(i)), benchID('o', i).String(), b.merchant(i).String()
		unit := 1 + i%50
		row(w, benchID('e', i).String(), o, m, "payment", "payment:"+o, "payment 42"+itoa(i), at, at, itoa(a), itoa(-(a - 65*unit)), itoa(-65*unit))
		row(w, benchID('f', i).String(), o, m, "fee", "fee:"+o, "WeChat fee of payment B"+itoa(i), at, at, itoa(-6*unit), itoa(6*unit), "0")
		if i%50 == 0 {
			at := ts(b.paidAt(i).Add(time.Hour))
			row(w, benchID('x', i).String(), o, m, "refund", "refund:"+benchID('r', i).String(), "refund RB"+itoa(i), at, at, itoa(-a), itoa(a-65*unit), itoa(65*unit))
		}
	}
}

var settleBenchEntryCols = "id, order_id, merchant_id, kind, source_key, memo, created_at, at, clearing_fen, payable_fen, commission_fen"

// copyText streams what write writes into COPY table (cols) FROM STDIN FREEZE.
func copyText(ctx context.Context, tx pgx.Tx, table, cols string, write func(*bufio.Writer)) error {
	r, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<20)
		write(w)
		pw.CloseWithError(w.Flush())
	}()
	_, err := tx.Conn().PgConn().CopyFrom(ctx, r, "COPY "+table+" ("+cols+") FROM STDIN (FREEZE)")
	r.CloseWithError(err) // stops the writer if COPY ended early
	return err
}

func benchSettle(ctx context.Context, w io.Writer, db *pgxpool.Pool, merchants, orders int) error {
	gen := time.Now()
	b := settleBench{n: int64(orders), m: int64(merchants)}
	// A scratch database loaded as a bulk load is: the secondary indexes dropped and
	// built once at the end, COPY into the tables emptied in the same transaction
	// (FREEZE: no hint bits or vacuum to pay for later), and without the per-row checks
	// (foreign keys, balanced entries, append-only: session_replication_role =
	// replica); every entry balances by construction.
	var indexes []string
	if err := pg.InTx(ctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT i.indexname, i.indexdef FROM pg_indexes i
			WHERE i.schemaname = 'billing' AND i.tablename IN ('orders', 'journal_entries')
			  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`)
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var name, def string
			if err := rows.Scan(&name, &def); err != nil {
				return err
			}
			names, indexes = append(names, name), append(indexes, def)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, n := range names {
			if _, err := tx.Exec(ctx, "DROP INDEX billing."+n); err != nil {
				return err
			}
		}
		for _, q := range []string{"SET LOCAL session_replication_role = replica", "TRUNCATE billing.orders, billing.journal_entries CASCADE"} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if err := copyText(ctx, tx, "billing.orders", settleBenchOrderCols, b.orders); err != nil {
			return err
		}
		return copyText(ctx, tx, "billing.journal_entries", settleBenchEntryCols, b.entries)
	}); err != nil {
		return fmt.Errorf("bench settle: write: %w", err)
	}
	// The indexes two at a time (two cores), then the planner's statistics.
	build, bctx := errgroup.WithContext(ctx)
	build.SetLimit(2)
	for _, def := range indexes {
		build.Go(func() error {
			return pg.InTx(bctx, db, pg.TxOptions{}, func(tx pgx.Tx) error {
				if _, err := tx.Exec(bctx, "SET LOCAL maintenance_work_mem = '512MB'"); err != nil {
					return err
				}
				_, err := tx.Exec(bctx, def)
				return err
			})
		})
	}
	if err := build.Wait(); err != nil {
		return fmt.Errorf("bench settle: index: %w", err)
	}
	if _, err := db.Exec(ctx, "ANALYZE billing.journal_entries, billing.orders"); err != nil {
		return err
	}
	genTook := time.Since(gen)

	start := time.Now()
	sts, err := billing.NewSettlement(db).Settle(ctx, billing.CycleMonthly, "2025-03", time.Time{})
	if err != nil {
		return err
	}
	took := time.Since(start)
	// What was written: gross Σ amount, commission 6.5 % and fee 0.6 % of the orders not refunded.
	var gross, refunds, commission, fees, payments int64
	for i := range int64(orders) {
		a, unit := 1000*(1+i%50), 1+i%50
		gross, commission, fees = gross+a, commission+65*unit, fees+6*unit
		payments++
		if i%50 == 0 && float64(i)/float64(orders)*31*86400+3600 < 31*86400 { // an hour later, still in March
			refunds, commission = refunds+a, commission-65*unit
		}
	}
	var g, r, c, f, n int64
	for _, s := range sts {
		g, r, c, f, n = g+s.GrossFen, r+s.RefundsFen, c+s.CommissionFen, f+s.FeesFen, n+int64(s.Payments)
	}
	ok := "yes"
	if len(sts) != merchants || g != gross || r != refunds || c != commission || f != fees || n != payments {
		ok = fmt.Sprintf("NO: %d statements, gross %d (want %d), refunds %d (want %d), commission %d (want %d), fees %d (want %d), payments %d",
			len(sts), g, gross, r, refunds, c, commission, f, fees, n)
	}
	fmt.Fprintf(w, "| a month's settlement, %d merchants, %d orders (+%d refunds, a fee per payment) | %.2f s (%.0f orders/s) | written in %.0f s; totals check: %s |\n",
		merchants, orders, orders/50, took.Seconds(), float64(orders)/took.Seconds(), genTook.Seconds(), ok)
	return nil
}
