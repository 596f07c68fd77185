package reconciliation

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/shared/config"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// BenchFiles is a synthetic bill and our ledger for it, with deliberate
// differences: one payment dropped from the ledger (missing_ours), one amount off by
// a fen (amount_mismatch), one record twice (duplicate), and one record WeChat
// never saw (missing_wechat). Every other line matches.
type BenchFiles struct {
	Bill, Ledger string
	MchID, Date  string
	Lines        int
}

// WriteBenchFiles writes bill.csv[.gz] and ledger.csv of lines lines into dir.
//
// wxsim.WriteSyntheticBill computes line i's time as i*24h/lines in nanoseconds,
// which overflows int64 beyond 106,751 lines and sends the later lines to other
// days; both files are streamed through a filter that puts line i at
// i*86400/lines seconds into the day instead, which is what was meant (sums and ids
// are untouched, so the bill's summary stays right).
func WriteBenchFiles(dir, date string, lines int, gz bool) (BenchFiles, error) {
	if lines < 10 {
		return BenchFiles{}, errors.New("bench: at least 10 lines")
	}
	day, _, err := dayWindow(date)
	if err != nil {
		return BenchFiles{}, err
	}
	bf := BenchFiles{Bill: filepath.Join(dir, "bill.csv"), Ledger: filepath.Join(dir, "ledger.csv"),
		MchID: wxsim.DevMchID, Date: date, Lines: lines}
	if gz {
		bf.Bill += ".gz"
	}
	timeOf := func(k int) time.Time { return day.Add(time.Duration(int64(k)*86400/int64(lines)) * time.Second) }
	// Ledger data rows are numbered from 0 like the bill's lines; payments are the
	// rows not ending in 9. The differences fall on payments.
	drop, change, dup := lines/7*1, lines/7*2, lines/7*3
	for _, p := range []*int{&drop, &change, &dup} {
		if *p%10 == 9 {
			*p++
		}
	}
	var billLine, ledgerRow int
	billFilter := func(line []byte, out []byte) ([]byte, error) {
		if len(line) > 20 && line[0] == '`' && line[5] == '-' && line[11] == ' ' { // a detail line
			out = append(out, '`')
			out = timeOf(billLine).AppendFormat(out, time.DateTime)
			billLine++
			return append(out, line[20:]...), nil
		}
		return append(out, line...), nil
	}
	ledgerFilter := func(line []byte, out []byte) ([]byte, error) {
		row := ledgerRow
		ledgerRow++
		if row == 0 { // the header
			return append(out, line...), nil
		}
		row--
		f := strings.Split(strings.TrimSuffix(string(line), "\n"), ",")
		f[len(f)-1] = timeOf(row).Format(time.RFC3339)
		switch row {
		case drop:
			return out, nil
		case change: // amount_fen is the 6th column
			n, err := strconv.ParseInt(f[5], 10, 64)
			if err != nil {
				return nil, err
			}
			f[5] = strconv.FormatInt(n+1, 10)
		}
		rec := strings.Join(f, ",") + "\n"
		if row == dup {
			out = append(out, rec...)
		}
		return append(out, rec...), nil
	}
	err = writeFiles(func(bill, ledger *bufio.Writer) error {
		var bw io.Writer = bill
		var zw *gzip.Writer
		if gz {
			zw, _ = gzip.NewWriterLevel(bill, gzip.BestSpeed) // the level is valid
			bw = zw
		}
		bills, ledgers := &lineFilter{w: bw, fn: billFilter}, &lineFilter{w: ledger, fn: ledgerFilter}
		if _, err := wxsim.WriteSyntheticBill(bills, wxsim.SynthOptions{Date: date, Lines: lines, Seed: 1, Ledger: ledgers}); err != nil {
			return err
		}
		if err := errors.Join(bills.Close(), ledgers.Close()); err != nil {
			return err
		}
		fmt.Fprintf(ledger, "PAY,TDBENCHEXTRA0001,4200009999%s0000000001,,,4200,25,%s\n", day.Format("20060102"),
			day.Add(12*time.Hour).Format(time.RFC3339))
		if zw != nil {
			return zw.Close()
		}
		return nil
	}, bf.Bill, bf.Ledger)
	return bf, err
}

// lineFilter passes whole lines (with their LF) through fn on their way to w.
type lineFilter struct {
	w       io.Writer
	fn      func(line, out []byte) ([]byte, error)
	partial []byte
	out     []byte
}

func (f *lineFilter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.partial = append(f.partial, p...)
			break
		}
		line := p[:i+1]
		if len(f.partial) > 0 {
			f.partial = append(f.partial, line...)
			line = f.partial
		}
		var err error
		if f.out, err = f.fn(line, f.out[:0]); err != nil {
			return 0, err
		}
		if _, err := f.w.Write(f.out); err != nil {
			return 0, err
		}
		f.partial = f.partial[:0]
		p = p[i+1:]
	}
	return n, nil
}

// Close passes on a last line without a line end.
func (f *lineFilter) Close() error {
	if len(f.partial) == 0 {
		return nil
	}
	out, err := f.fn(f.partial, f.out[:0])
	if err == nil {
		_, err = f.w.Write(out)
	}
	return err
}

// writeFiles creates one or two buffered files for write and closes them.
func writeFiles(write func(a, b *bufio.Writer) error, pathA, pathB string) error {
	fa, err := os.Create(pathA)
	if err != nil {
		return err
	}
	defer fa.Close()
	wa := bufio.NewWriterSize(fa, 1<<20)
	var wb *bufio.Writer
	if pathB != "" {
		fb, err := os.Create(pathB)
		if err != nil {
			return err
		}
		defer fb.Close()
		wb = bufio.NewWriterSize(fb, 1<<20)
	}
	if err := write(wa, wb); err != nil {
		return err
	}
	if wb != nil {
		if err := wb.Flush(); err != nil {
			return err
		}
	}
	return wa.Flush()
}

func benchCommand() *cobra.Command {
	var (
		lines                  int
		dir, date, dbURL       string
		gzip, generateOnly, nd bool
	)
	cmd := &cobra.Command{
		Use:   "bench [--lines N] [--gzip] [--dir DIR] [--generate-only]",
		Short: "Benchmark: a synthetic bill of N lines with a few deliberate differences, reconciled end to end",
		Long: `Writes a synthetic ALL bill of N lines and the matching ledger CSV with four deliberate
differences (a payment dropped, an amount changed, a record twice, a record WeChat never
saw), reconciles them against a scratch database (tandem_recon_bench on the configured
server, dropped and re-created) and prints the report, the time of each phase, the
whole run's seconds and the peak RSS of the process.

--generate-only writes the files and prepares the scratch database, then prints
BILL=, LEDGER=, MCHID=, DATE= and DB= for a shell to eval, so that the run itself can
be measured as its own process: /usr/bin/time -v tandem reconcile --file "$BILL"
--ledger "$LEDGER" --db "$DB" (reconciliation/bench.sh does this).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if dir == "" {
				tmp, err := os.MkdirTemp("", "tandem-recon-bench-")
				if err != nil {
					return err
				}
				if !generateOnly {
					defer os.RemoveAll(tmp)
				}
				dir = tmp
			}
			gen := time.Now()
			bf, err := WriteBenchFiles(dir, date, lines, gzip)
			if err != nil {
				return err
			}
			genTook := time.Since(gen)
			db := ""
			if !nd {
				if db, err = benchDatabase(ctx, cmd, dbURL); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if generateOnly {
				fmt.Fprintf(out, "BILL=%q\nLEDGER=%q\nMCHID=%q\nDATE=%q\nDB=%q\n", bf.Bill, bf.Ledger, bf.MchID, bf.Date, db)
				return nil
			}
			pool, err := connect(ctx, cmd, db, false)
			if err != nil {
				return err
			}
			defer pool.Close()
			svc := New(domain.Deps{DB: pool}, Ports{}, Config{})
			start := time.Now()
			f, err := os.Open(bf.Bill)
			if err != nil {
				return err
			}
			defer f.Close()
			report, err := svc.RunFile(ctx, bf.MchID, bf.Date, f, CSVLedgerFile(bf.Ledger))
			if err != nil {
				return err
			}
			took := time.Since(start)
			if err := printReport(out, report); err != nil {
				return err
			}
			fmt.Fprintf(out, "\n| lines | generate | reconcile end to end | lines/s | peak RSS of the process |\n|---|---|---|---|---|\n")
			fmt.Fprintf(out, "| %d | %.2fs | %.2fs | %.0f | %d MiB |\n", lines, genTook.Seconds(), took.Seconds(),
				float64(lines)/took.Seconds(), maxRSS()>>20)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&lines, "lines", 1_000_000, "bill lines")
	f.StringVar(&dir, "dir", "", "where to write the files [a temporary directory, removed after]")
	f.StringVar(&date, "date", "2025-03-14", "bill date")
	f.BoolVar(&gzip, "gzip", false, "gzip the bill")
	f.BoolVar(&generateOnly, "generate-only", false, "write the files and the scratch database, print them as shell variables")
	f.BoolVar(&nd, "no-db", false, "with --generate-only: do not touch the database")
	f.StringVar(&dbURL, "db", "", "PostgreSQL server URL; the scratch database tandem_recon_bench is made on it")
	return cmd
}

// benchDatabase drops and re-creates tandem_recon_bench on the server and
// migrates schema recon into it; it returns its URL.
func benchDatabase(ctx context.Context, cmd *cobra.Command, dbURL string) (string, error) {
	if dbURL == "" {
		cfg, err := config.Load(cmd.Flags())
		if err != nil {
			return "", err
		}
		dbURL = cfg.DatabaseURL
	}
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return "", fmt.Errorf("cannot reach PostgreSQL: %w (run 'make stack' first)", err)
	}
	for _, q := range []string{"DROP DATABASE IF EXISTS tandem_recon_bench WITH (FORCE)", "CREATE DATABASE tandem_recon_bench"} {
		if _, err := admin.Exec(ctx, q); err != nil {
			admin.Close(ctx)
			return "", err
		}
	}
	admin.Close(ctx)
	u, err := url.Parse(dbURL)
	if err != nil {
		return "", err
	}
	u.Path = "/tandem_recon_bench"
	pool, err := connect(ctx, cmd, u.String(), true)
	if err != nil {
		return "", err
	}
	pool.Close()
	return u.String(), nil
}

// maxRSS is the peak resident set of this process, in bytes.
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10 // kilobytes on Linux
}
