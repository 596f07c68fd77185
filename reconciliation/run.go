package reconciliation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/reconciliation/internal/recondb"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// Ports are what reconciliation reads of other domains; cmd/tandem adapts billing to
// them. Either may be nil: no repairs, and runs only from a ledger file.
type Ports struct {
	// Repairer repairs missing_ours lines; nil leaves them to finance.
	Repairer Repairer
	// Ledger is our side of a date's run (billing's payments and refunds).
	Ledger LedgerSource
	// Fees books WeChat's fee of every matched payment and refund in billing's
	// ledger; nil: fees stay in the run's figures only.
	Fees FeeBooker
	// Refunder gives back second payments from the exceptions queue; nil: finance
	// resolves them by hand.
	Refunder SecondPaymentRefunder
	// Assignees checks who queue items are assigned to; nil: only the caller.
	Assignees Assignees
	// Merchants names the merchant of the queue's items about our orders; nil: the
	// queue shows no merchant.
	Merchants Merchants
	// Accounts are the WeChat Pay merchant accounts whose bills the daily task
	// downloads and reconciles; none: no daily reconciliation.
	Accounts []*wxpay.Client
}

// Config tunes a Service. The zero value works: defaults below.
type Config struct {
	// CarryMargin: an unmatched item this close to the end of the day (or outside
	// it) is outside_window and carried to the next date's run instead of being
	// reported missing: a payment at 23:59:59 may be in the next day's bill, or
	// booked by us after midnight [10m].
	CarryMargin time.Duration
	// RepairLimit bounds the repairs of one run: a run with more missing lines than
	// this has a wrong ledger, not lost notifications [1000].
	RepairLimit int
}

// Service runs reconciliations and reads their results. Each public method owns
// its transaction.
type Service struct {
	db    *pgxpool.Pool
	log   *slog.Logger
	clock clock.Clock
	ports Ports
	cfg   Config
}

// New returns the service (the one constructor shape of shared/domain).
func New(deps domain.Deps, ports Ports, cfg Config) *Service {
	deps = deps.WithDefaults()
	if cfg.CarryMargin <= 0 {
		cfg.CarryMargin = 10 * time.Minute
	}
	if cfg.RepairLimit <= 0 {
		cfg.RepairLimit = 1000
	}
	return &Service{db: deps.DB, log: deps.Log, clock: deps.Clock, ports: ports, cfg: cfg}
}

func (s *Service) now() time.Time { return s.clock.Now() }

// Phase is how long one step of a run took.
type Phase struct {
	Name string
	Took time.Duration
}

// Report is a run and its first exceptions, most pressing first.
type Report struct {
	Run    Run
	Top    []Exception
	Phases []Phase // of the run just made; empty when read back
}

// TopExceptions is how many exceptions a report lists.
const TopExceptions = 20

// RunFile reconciles merchant mchid's trade bill of date (yyyy-MM-dd) read from
// bill (plain or gzip) against ledger, and replaces the date's previous run.
func (s *Service) RunFile(ctx context.Context, mchid, date string, bill io.Reader, ledger LedgerSource) (*Report, error) {
	return s.reconcile(ctx, mchid, date, SourceFile, ledger, func() (io.Reader, error) { return bill, nil })
}

// RunDownload downloads the trade bill (ALL) of date for the client's merchant and
// reconciles it as RunFile does. The file streams through a pipe into the parser as
// it arrives (gzip on the wire); its SHA1 is checked at the end, and a mismatch or a
// broken download fails the run before anything is written. The download starts
// only once our records are loaded, since WeChat's download URL lives 30 s.
func (s *Service) RunDownload(ctx context.Context, client *wxpay.Client, date string, ledger LedgerSource) (*Report, error) {
	var wait func() error
	open := func() (io.Reader, error) {
		pr, pw := io.Pipe()
		done := make(chan error, 1)
		go func() {
			_, err := client.DownloadTradeBill(ctx, wxpay.TradeBillRequest{Date: date, Type: wxpay.TradeBillAll, Gzip: true}, pw)
			pw.CloseWithError(err) // nil: EOF for the parser
			done <- err
		}()
		wait = func() error {
			pr.CloseWithError(errors.New("reconciliation stopped reading")) // unblocks the writer
			return <-done
		}
		return pr, nil
	}
	report, err := s.reconcile(ctx, client.MchID(), date, SourceDownloaded, ledger, open)
	if wait != nil {
		if dlErr := wait(); dlErr != nil && err != nil {
			// The download's own error says more (no bill that day, not ready yet, hash).
			return nil, fmt.Errorf("reconciliation %s: download the trade bill: %w", date, dlErr)
		}
	}
	return report, err
}

func (s *Service) reconcile(ctx context.Context, mchid, date string, source Source, ledger LedgerSource,
	openBill func() (io.Reader, error),
) (*Report, error) {
	from, to, err := dayWindow(date)
	if err != nil {
		return nil, errs.E(errs.KindInvalid, CodeInvalidDate, fmt.Sprintf("bill date %q is not yyyy-MM-dd", date)).WithField("date")
	}
	if mchid == "" {
		return nil, errs.Invalidf("mchid", "the merchant number is required")
	}
	run := &Run{ID: uuid.Must(uuid.NewV7()), MchID: mchid, Date: date, Source: source, StartedAt: s.now()}
	var phases []Phase
	mark := time.Now()
	phase := func(name string) {
		phases = append(phases, Phase{name, time.Since(mark)})
		mark = time.Now()
	}

	m := newMatcher(run, from, to, s.cfg.CarryMargin)
	defer m.release()
	m.collectFees = s.ports.Fees != nil
	m.finder, _ = ledger.(LedgerFinder)
	carried, err := s.exceptionsOf(ctx, recondb.ListExceptionsOfClassParams{Mchid: mchid, BillDate: dbDate(from.AddDate(0, 0, -1)),
		Class: ClassOutsideWindow.String()})
	if err != nil {
		return nil, err
	}
	prior, err := s.priorRepairs(ctx, mchid, from)
	if err != nil {
		return nil, err
	}
	// A file is parsed while our ledger loads, as far ahead as memory allows; a
	// download starts once our records are loaded (WeChat's URL lives 30 s).
	ctx, stop := context.WithCancel(ctx) // ends the parser on an early return
	defer stop()
	var feed *billFeed
	startBill := func(ahead int) error {
		r, err := openBill()
		if err != nil {
			return err
		}
		rd, err := wxpay.NewTradeBillReader(r)
		if err != nil {
			return errs.Wrap(err, errs.KindInvalid, CodeBillUnreadable, "the file is not a WeChat Pay trade bill")
		}
		feed = parseBill(ctx, rd, ahead)
		return nil
	}
	if source == SourceFile {
		if err := startBill(lookahead(ctx, ledger, LedgerQuery{MchID: mchid, From: from, To: to})); err != nil {
			return nil, err
		}
	}
	if err := m.loadOurs(ctx, ledger); err != nil {
		return nil, fmt.Errorf("reconciliation %s: our ledger: %w", date, err)
	}
	if err := m.carryIn(carried); err != nil {
		return nil, fmt.Errorf("reconciliation %s: items carried from %s: %w", date, m.prev, err)
	}
	phase("load ours")

	if feed == nil {
		if err := startBill(0); err != nil {
			return nil, err
		}
	}
	rd := feed.rd
	if err := m.matchBill(ctx, feed); err != nil {
		return nil, fmt.Errorf("reconciliation %s: %w", date, err)
	}
	if err := m.settleUnknown(ctx); err != nil {
		return nil, fmt.Errorf("reconciliation %s: lines on other days: %w", date, err)
	}
	if err := m.sweep(ctx, rd.Type()); err != nil {
		return nil, fmt.Errorf("reconciliation %s: %w", date, err)
	}
	run.BillType, run.Totals = rd.Type(), rd.Totals()
	// The net counts each transaction once: a line the bill has twice (duplicate) is
	// in the parser's totals, which must equal the bill's own summary, but not in
	// what the day is worth. Malformed lines are in neither.
	// A revoked trade (REVOKED) moved no money: it is not in the net either.
	dup := run.Classes[ClassDuplicate]
	run.NetMilliFen = (run.Totals.SettlementTotal-run.Totals.RefundAmount-dup.SettlementFen+dup.RefundFen-m.revokedSettleFen)*1000 -
		(run.Totals.FeeMilliFen - dup.FeeMilliFen - m.revokedFeeMilli)
	engineProblems := run.Problems
	run.Problems = nil
	for _, p := range rd.Problems() {
		run.Problems = append(run.Problems, Problem{Line: p.Line, Reason: p.Reason})
	}
	run.Problems = append(run.Problems, engineProblems...)
	if len(run.Problems) > 1000 {
		run.Problems = run.Problems[:1000]
	}
	run.ProblemCount += int64(rd.ProblemCount())
	phase("parse and match")

	s.repair(ctx, run, m.exceptions, prior)
	phase("repair")

	switch {
	case run.ProblemCount > 0:
		run.State = StateIncomplete
	case run.Exceptions() > 0:
		run.State = StateUnbalanced
	default:
		run.State = StateBalanced
	}
	run.FinishedAt = s.now()
	if err := s.save(ctx, run, m.exceptions); err != nil {
		return nil, fmt.Errorf("reconciliation %s: save: %w", date, err)
	}
	phase("write results")
	if len(m.fees) > 0 {
		n, err := s.ports.Fees.BookFees(ctx, m.fees)
		if err != nil { // the run stands; a re-run books what is missing
			return nil, fmt.Errorf("reconciliation %s: book fees: %w", date, err)
		}
		s.log.InfoContext(ctx, "reconciliation: fees booked", "mchid", mchid, "date", date, "entries", n)
		phase("book fees")
	}
	s.log.InfoContext(ctx, "reconciliation run", "mchid", mchid, "date", date, "attempt", run.Attempt, "state", run.State,
		"lines", run.Totals.Count, "ours", run.LedgerRecords, "matched", run.Classes[ClassMatched].Items,
		"exceptions", run.Exceptions(), "carried_in", run.CarriedIn, "repaired", run.Repaired, "problems", run.ProblemCount)
	return &Report{Run: *run, Top: topExceptions(m.exceptions, TopExceptions), Phases: phases}, nil
}

// topExceptions picks the n most pressing: by class, then in the order found.
func topExceptions(excs []Exception, n int) []Exception {
	var top []Exception
	for c := ClassMissingOurs; c < NumClasses && len(top) < n; c++ {
		for i := range excs {
			if excs[i].Class == c {
				top = append(top, excs[i])
				if len(top) == n {
					break
				}
			}
		}
	}
	return top
}

// dbDate is a business day as the date column wants it.
func dbDate(day time.Time) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
}

// save replaces the date's run with run and its exceptions, atomically. Runs of
// one (mchid, date) are serialised by an advisory lock; the previous run's rows
// are deleted (they are derived results, not financial records) and its attempt
// number carried on.
func (s *Service) save(ctx context.Context, run *Run, excs []Exception) error {
	problems, err := json.Marshal(run.Problems)
	if err != nil {
		return err
	}
	if run.Problems == nil {
		problems = []byte("[]")
	}
	from, _, _ := dayWindow(run.Date)
	day := dbDate(from)
	return pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := recondb.New(tx)
		if err := q.LockRunDate(ctx, recondb.LockRunDateParams{Mchid: run.MchID, BillDate: run.Date}); err != nil {
			return err
		}
		prev, err := q.DeleteRun(ctx, recondb.DeleteRunParams{Mchid: run.MchID, BillDate: day, BillType: string(run.BillType)})
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		run.Attempt = int(prev) + 1
		t := run.Totals
		if err := q.InsertRun(ctx, recondb.InsertRunParams{ID: run.ID, Mchid: run.MchID, BillDate: day,
			Attempt: int32(run.Attempt), Source: string(run.Source), State: string(run.State), BillType: string(run.BillType),
			StartedAt: run.StartedAt, FinishedAt: run.FinishedAt, BillLines: t.Count, OrderFen: t.OrderAmount,
			SettlementFen: t.SettlementTotal, RefundFen: t.RefundAmount, RequestedRefundFen: t.RequestedRefund,
			FeeMilliFen: t.FeeMilliFen, NetMilliFen: run.NetMilliFen, LedgerRecords: run.LedgerRecords,
			CarriedIn: run.CarriedIn, Repaired: run.Repaired, ProblemCount: run.ProblemCount, Problems: problems,
		}); err != nil {
			return err
		}
		classes := make([]recondb.CopyRunClassesParams, 0, NumClasses)
		for c, st := range run.Classes {
			classes = append(classes, recondb.CopyRunClassesParams{RunID: run.ID, Class: Class(c).String(),
				Items: st.Items, BillLines: st.BillLines, OrderFen: st.OrderFen, SettlementFen: st.SettlementFen,
				RefundFen: st.RefundFen, RequestedRefundFen: st.RequestedRefundFen, FeeMilliFen: st.FeeMilliFen,
				OurRecords: st.OurRecords, OurAmountFen: st.OurAmountFen})
		}
		if _, err := q.CopyRunClasses(ctx, classes); err != nil {
			return err
		}
		rows := make([]recondb.CopyExceptionsParams, len(excs))
		for i := range excs {
			e := &excs[i]
			if e.ID == uuid.Nil {
				e.ID = uuid.Must(uuid.NewV7())
			}
			rows[i] = exceptionRow(run.ID, e)
		}
		if _, err = q.CopyExceptions(ctx, rows); err != nil {
			return err
		}
		return queueRun(ctx, q, run, excs, run.FinishedAt)
	})
}

func exceptionRow(runID uuid.UUID, e *Exception) recondb.CopyExceptionsParams {
	p := recondb.CopyExceptionsParams{ID: e.ID, RunID: runID, Seq: int32(e.Seq), Class: e.Class.String(), Kind: e.Kind.String(),
		OutTradeNo: e.OutTradeNo, TransactionID: e.TransactionID, OutRefundNo: e.OutRefundNo, RefundID: e.RefundID,
		RepairedAt: e.RepairedAt, Note: e.Note}
	if b := e.Bill; b != nil {
		p.LineNo, p.BillState, p.BillTime = int32(b.LineNo), b.State, &b.At
		p.BillAmountFen, p.BillFeeMilliFen = &b.AmountFen, &b.FeeMilliFen
	}
	if o := e.Ours; o != nil {
		p.OurStatus, p.OurTime, p.OurAmountFen, p.OurFeeFen = o.Status, &o.At, &o.AmountFen, &o.FeeFen
	}
	if e.CarriedFrom != "" {
		if day, _, err := dayWindow(e.CarriedFrom); err == nil {
			d := dbDate(day)
			p.CarriedFrom = &d
		}
	}
	return p
}

func exceptionFrom(r recondb.ReconException) Exception {
	kind, _ := ParseKind(r.Kind)
	class, _ := ParseClass(r.Class)
	e := Exception{ID: r.ID, Seq: int(r.Seq), Class: class, Kind: kind, OutTradeNo: r.OutTradeNo,
		TransactionID: r.TransactionID, OutRefundNo: r.OutRefundNo, RefundID: r.RefundID, RepairedAt: r.RepairedAt, Note: r.Note}
	if r.BillTime != nil {
		e.Bill = &BillSide{LineNo: int(r.LineNo), State: r.BillState, At: r.BillTime.In(wxpay.Shanghai),
			AmountFen: deref(r.BillAmountFen), FeeMilliFen: deref(r.BillFeeMilliFen)}
	}
	if r.OurTime != nil {
		e.Ours = &OurSide{Status: r.OurStatus, At: r.OurTime.In(wxpay.Shanghai), AmountFen: deref(r.OurAmountFen), FeeFen: deref(r.OurFeeFen)}
	}
	if r.CarriedFrom != nil {
		e.CarriedFrom = r.CarriedFrom.Format(wxpay.BillDateLayout)
	}
	return e
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func (s *Service) exceptionsOf(ctx context.Context, p recondb.ListExceptionsOfClassParams) ([]Exception, error) {
	rows, err := recondb.New(s.db).ListExceptionsOfClass(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("reconciliation: read carried items: %w", pg.Classify(err))
	}
	out := make([]Exception, len(rows))
	for i, r := range rows {
		out[i] = exceptionFrom(r)
	}
	return out, nil
}

func (s *Service) priorRepairs(ctx context.Context, mchid string, day time.Time) (map[string]time.Time, error) {
	rows, err := recondb.New(s.db).ListRepaired(ctx, recondb.ListRepairedParams{Mchid: mchid, BillDate: dbDate(day)})
	if err != nil {
		return nil, fmt.Errorf("reconciliation: read earlier repairs: %w", pg.Classify(err))
	}
	prior := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		e := exceptionFrom(r)
		prior[e.key()] = *r.RepairedAt
	}
	return prior, nil
}

// currentRun reads the run of a merchant's date (a re-run replaces it).
func currentRun(ctx context.Context, q *recondb.Queries, mchid, date string) (recondb.ReconRun, error) {
	from, _, err := dayWindow(date)
	if err != nil {
		return recondb.ReconRun{}, errs.E(errs.KindInvalid, CodeInvalidDate, fmt.Sprintf("bill date %q is not yyyy-MM-dd", date)).WithField("date")
	}
	row, err := q.GetRun(ctx, recondb.GetRunParams{Mchid: mchid, BillDate: dbDate(from)})
	if errors.Is(err, pgx.ErrNoRows) {
		return row, errs.NotFound(CodeRunNotFound)
	}
	return row, pg.Classify(err)
}

// Report reads the current run of a date with its first top exceptions.
func (s *Service) Report(ctx context.Context, mchid, date string, top int) (*Report, error) {
	q := recondb.New(s.db)
	row, err := currentRun(ctx, q, mchid, date)
	if err != nil {
		return nil, err
	}
	return s.report(ctx, q, row, top)
}

// Exceptions lists every exception of the current run of a date, in the order found.
func (s *Service) Exceptions(ctx context.Context, mchid, date string) ([]Exception, error) {
	q := recondb.New(s.db)
	row, err := currentRun(ctx, q, mchid, date)
	if err != nil {
		return nil, err
	}
	rows, err := q.ListExceptions(ctx, row.ID)
	if err != nil {
		return nil, pg.Classify(err)
	}
	out := make([]Exception, len(rows))
	for i, r := range rows {
		out[i] = exceptionFrom(r)
	}
	return out, nil
}
