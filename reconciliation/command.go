package reconciliation

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sort"

	"github.com/tandemcrm/tandem/shared/profiling"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/tandemcrm/tandem/shared/config"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// CommandOption supplies what `tandem reconcile` cannot build itself: billing's
// ledger and repairer, and the WeChat Pay client, once they exist.
type CommandOption func(*commandDeps)

type commandDeps struct {
	log      *slog.Logger
	ledger   func(*pgxpool.Pool) LedgerSource
	repairer func(*pgxpool.Pool) Repairer
	wxpay    func(context.Context) (*wxpay.Client, error)
}

// WithLedger gives the command billing's ledger, used when --ledger is not given.
func WithLedger(f func(*pgxpool.Pool) LedgerSource) CommandOption {
	return func(d *commandDeps) { d.ledger = f }
}

// WithRepairer gives the command billing's repairer for missing_ours lines.
func WithRepairer(f func(*pgxpool.Pool) Repairer) CommandOption {
	return func(d *commandDeps) { d.repairer = f }
}

// WithWxpay gives the command a WeChat Pay client to download bills with.
func WithWxpay(f func(context.Context) (*wxpay.Client, error)) CommandOption {
	return func(d *commandDeps) { d.wxpay = f }
}

// WithLogger sets the logger [text on standard error].
func WithLogger(l *slog.Logger) CommandOption {
	return func(d *commandDeps) { d.log = l }
}

// Command is `tandem reconcile`: reconcile a bill file, or download one, and print
// the run report; `tandem reconcile bench` measures the engine end to end.
func Command(opts ...CommandOption) *cobra.Command {
	var deps commandDeps
	for _, o := range opts {
		o(&deps)
	}
	var (
		file, ledgerPath, date, mchid, dbURL, cpuProfile string
		migrate, fundFlow                                bool
	)
	cmd := &cobra.Command{
		Use:   "reconcile --file bill.csv[.gz] --ledger ledger.csv [--date YYYY-MM-DD] | --date YYYY-MM-DD",
		Short: "Reconcile a WeChat Pay trade bill against our ledger and print the run report",
		Long: `Match every line of a WeChat Pay trade bill against our payments and refunds and
record the run in schema recon, then print counts and sums per class, fees, net,
problems and the first exceptions. Runs are kept per merchant, date and bill type:
a re-run replaces the run of the same type; the ALL run is the day's run of
record, and a SUCCESS or REFUND run sits beside it without replacing it. A line
that matches nothing of the day is looked up in the billing ledger on every day:
one we have on an earlier day reappears on this later bill, a duplicate.

--file reconciles a bill file (plain or gzip, as downloaded from the merchant
platform); --ledger is our side as CSV (the format 'tandem wxsim bill --ledger'
writes), or, without --ledger, the billing ledger. The merchant number and date are
read from the bill unless given: each line is dated by its bill type's own date
column (a REFUND bill by 退款申请时间, the others by 交易时间).

--date without --file downloads the day's ALL bill from WeChat Pay (TANDEM_WXPAY_*)
and matches it against the billing ledger (or --ledger); payments WeChat has and
billing lacks are repaired by querying WeChat.

--fund-flow reconciles the fund-flow bill (资金账单) instead: each payment's income
(settlement), the fee taken from it and each refund paid out, matched against the
billing ledger by WeChat's ids whatever day we have them on (a refund's amount, the
fee booked from the trade bill, the fee it gave back); withdrawals are not matched;
every line's balance must follow from the one before. With --file it needs --mchid
and --date; --ledger cannot be used (a CSV cannot be searched by id).

Memory: the index of our records is about 53 bytes a record (10,000,000 in about 530
MB), outside the Go heap, on transparent huge pages where the kernel allows them;
this command lets the heap (the bill streaming through) grow to 256 MiB before it
collects (unless GOGC or GOMEMLIMIT is set), so a 10,000,000-line run peaks under 1 GiB.

Exit status: 0 the run is balanced; 2 unbalanced (exceptions to work); 3 incomplete
(malformed lines or a summary that does not add up); 1 the run could not be made.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			gcForOneRun()
			if cpuProfile != "" {
				stop, err := profiling.StartCPU(cpuProfile)
				if err != nil {
					return err
				}
				defer stop()
			}
			log := deps.log
			if log == nil {
				log = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			}
			if file == "" && date == "" {
				return errs.Invalidf("file", "give --file (a bill file) or --date (download that day's bill)")
			}
			var client *wxpay.Client
			if file == "" { // a download: say everything that is missing before connecting anywhere
				if ledgerPath == "" && deps.ledger == nil {
					return errs.E(errs.KindUnprocessable, CodeLedgerUnavailable,
						"--date without --file reconciles against the billing ledger, which does not exist yet "+
							"(billing does not implement reconciliation.LedgerSource); "+
							"reconcile a file instead: --file bill.csv --ledger ledger.csv, or give our side with --ledger")
				}
				if deps.wxpay == nil {
					return errs.E(errs.KindUnprocessable, CodeWxpayUnavailable,
						"--date without --file downloads the bill, but no WeChat Pay merchant account is configured "+
							"for this command (cmd/tandem passes one with reconciliation.WithWxpay); use --file")
				}
				var err error
				if client, err = deps.wxpay(ctx); err != nil {
					return fmt.Errorf("WeChat Pay client: %w", err)
				}
			} else if ledgerPath == "" && deps.ledger == nil {
				return errs.Invalidf("ledger", "--file needs --ledger ledger.csv: the billing ledger does not exist yet")
			} else if fundFlow && (mchid == "" || date == "" || ledgerPath != "") {
				return errs.Invalidf("mchid", "--fund-flow --file needs --mchid and --date, and the billing ledger (no --ledger)")
			} else if !fundFlow && (mchid == "" || date == "") {
				peekM, peekD, err := peekBill(file)
				if err != nil {
					return err
				}
				mchid, date = firstNonEmpty(mchid, peekM), firstNonEmpty(date, peekD)
			}

			db, err := connect(ctx, cmd, dbURL, migrate)
			if err != nil {
				return err
			}
			defer db.Close()
			var ledger LedgerSource
			if ledgerPath != "" {
				ledger = CSVLedgerFile(ledgerPath)
			} else {
				ledger = deps.ledger(db)
			}
			var ports Ports
			// Repairs apply lost payments to billing: only when our side is billing's ledger,
			// never when it is a CSV file (a line missing from a file is the file's business).
			if deps.repairer != nil && ledgerPath == "" {
				ports.Repairer = deps.repairer(db)
			}
			svc := New(domain.Deps{DB: db, Log: log}, ports, Config{})
			var report *Report
			switch {
			case client != nil && fundFlow:
				report, err = svc.RunFundFlowDownload(ctx, client, date, ledger)
			case client != nil:
				report, err = svc.RunDownload(ctx, client, date, ledger)
			default:
				var f *os.File
				if f, err = os.Open(file); err != nil {
					return errs.Wrap(err, errs.KindInvalid, CodeBillUnreadable, "cannot open the bill file")
				}
				defer f.Close()
				if fundFlow {
					report, err = svc.RunFundFlowFile(ctx, mchid, date, f, ledger)
				} else {
					report, err = svc.RunFile(ctx, mchid, date, f, ledger)
				}
			}
			if err != nil {
				return err
			}
			if err := printReport(cmd.OutOrStdout(), report); err != nil {
				return err
			}
			return exitFor(&report.Run)
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "the trade bill file (plain or gzip)")
	f.StringVar(&ledgerPath, "ledger", "", "our side as CSV: kind,out_trade_no,transaction_id,out_refund_no,refund_id,amount_fen,fee_fen,occurred_at[,status]")
	f.StringVar(&date, "date", "", "bill date, YYYY-MM-DD (Asia/Shanghai); with --file, default: the bill's")
	f.StringVar(&mchid, "mchid", "", "merchant number; with --file, default: the bill's")
	f.StringVar(&dbURL, "db", "", "PostgreSQL URL [TANDEM_DATABASE_URL, --database-url, or the local stack]")
	f.BoolVar(&migrate, "migrate", false, "apply schema recon's migrations first")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof)")
	f.BoolVar(&fundFlow, "fund-flow", false, "reconcile the fund-flow bill (资金账单) instead of the trade bill")
	cmd.AddCommand(benchCommand())
	return cmd
}

func printReport(w io.Writer, r *Report) error {
	if err := r.WriteTable(w); err != nil {
		return err
	}
	if len(r.Phases) > 0 {
		fmt.Fprint(w, "\ntook:")
		for _, p := range r.Phases {
			fmt.Fprintf(w, " %s %.3fs,", p.Name, p.Took.Seconds())
		}
		fmt.Fprintln(w)
	}
	return nil
}

// connect opens the database: --db, else the configured TANDEM_DATABASE_URL.
func connect(ctx context.Context, cmd *cobra.Command, dbURL string, migrate bool) (*pgxpool.Pool, error) {
	if dbURL == "" {
		cfg, err := config.Load(cmd.Flags())
		if err != nil {
			return nil, err
		}
		dbURL = cfg.DatabaseURL
	}
	db, err := pg.Connect(ctx, dbURL, pg.PoolConfig{MaxConns: 4, AppName: "tandem-reconcile"})
	if err != nil {
		return nil, fmt.Errorf("cannot reach PostgreSQL: %w (start the local stack with 'make stack' or set --db)", err)
	}
	if migrate {
		if err := pg.Migrate(ctx, db, Migrations); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// billDay is the business day a line belongs to in a bill of its type: a REFUND
// bill's 交易时间 is the original payment's time, its day is the refund's (退款申请时间,
// shared/wxpay/WECHATPAY.md e, disagreement 4); the other bills date a line by 交易时间.
func billDay(typ wxpay.TradeBillType, l *wxpay.TradeLine) string {
	at := l.TradeTime
	if typ == wxpay.TradeBillRefund && !l.RefundApplyTime.IsZero() {
		at = l.RefundApplyTime
	}
	return at.In(wxpay.Shanghai).Format(wxpay.BillDateLayout)
}

// peekBill reads the merchant number and the business day from the first lines of
// a bill: the merchant of the first line and the most frequent day of the lines,
// each dated by its bill type's own date column (billDay).
func peekBill(path string) (mchid, date string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return "", "", errs.Wrap(err, errs.KindInvalid, CodeBillUnreadable, "cannot open the bill file")
	}
	defer f.Close()
	rd, err := wxpay.NewTradeBillReader(f)
	if err != nil {
		return "", "", errs.Wrap(err, errs.KindInvalid, CodeBillUnreadable, "the file is not a WeChat Pay trade bill")
	}
	days := map[string]int{}
	for n := 0; n < 1000 && rd.Next(); n++ {
		l := rd.Line()
		if mchid == "" {
			mchid = l.MchID
		}
		days[billDay(rd.Type(), l)]++
	}
	keys := make([]string, 0, len(days))
	for d := range days {
		keys = append(keys, d)
	}
	sort.Slice(keys, func(i, j int) bool {
		return days[keys[i]] > days[keys[j]] || days[keys[i]] == days[keys[j]] && keys[i] < keys[j]
	})
	if len(keys) == 0 || mchid == "" {
		return "", "", errs.E(errs.KindInvalid, CodeBillUnreadable, "the bill has no lines to take the merchant and date from: give --mchid and --date")
	}
	return mchid, keys[0], nil
}

// ExitError ends a command with a status other than 1 after its output is written:
// cmd/tandem exits with Code and prints the message.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// ExitCode is the process's exit status.
func (e *ExitError) ExitCode() int { return e.Code }

// Exit statuses of tandem reconcile (1 is any failure to make the run).
const (
	ExitUnbalanced = 2
	ExitIncomplete = 3
)

// exitFor is nil for a balanced run, else the run's exit status, for scripts.
func exitFor(r *Run) error {
	switch r.State {
	case StateUnbalanced:
		return &ExitError{ExitUnbalanced, fmt.Sprintf("the run of %s is unbalanced: %d exceptions", r.Date, r.Exceptions())}
	case StateIncomplete:
		return &ExitError{ExitIncomplete, fmt.Sprintf("the run of %s is incomplete: %d problems", r.Date, r.ProblemCount)}
	}
	return nil
}

// gcForOneRun tunes the garbage collector for a process that makes one run: the
// index of our records lives outside the Go heap (offHeap), so the heap holds only
// the bill streaming through as short-lived chunks and a small live set. Collecting
// by growth (GOGC) would collect after every few megabytes of a small heap; instead
// the heap is let grow to runHeapLimit and collected there, a few times a run, each
// marking almost nothing. An operator's GOGC or GOMEMLIMIT wins.
func gcForOneRun() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(-1)
		debug.SetMemoryLimit(runHeapLimit)
	}
}

// runHeapLimit is the Go heap of `tandem reconcile`, beside its index of about 53
// bytes a record (10,000,000 records: about 530 MB; 1 GiB all told).
const runHeapLimit = 256 << 20
