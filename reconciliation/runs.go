package reconciliation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/reconciliation/internal/recondb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// CodeInvalidFilter: a ListRuns filter field is malformed.
const CodeInvalidFilter = "recon.invalid_filter"

// RunFilter selects runs for ListRuns. The zero value lists every run, newest
// business day first (then by merchant number, descending).
type RunFilter struct {
	MchID string   // one merchant, or every one
	State RunState // one state, or every one
	Since string   // yyyy-MM-dd, inclusive, or ""
	Until string   // yyyy-MM-dd, inclusive, or ""
	// After is the cursor: the NextCursor of the previous page, or "".
	After string
	// Limit is the page size: 1 to 200 [50].
	Limit int
}

// RunPage is a page of runs; NextCursor is "" at the end.
type RunPage struct {
	Runs       []Run
	NextCursor string
}

// ListRuns lists the current runs (one per merchant and date) matching f, with
// their per-class figures (not their problems). Runs are platform data: whoever
// holds recon.run.read reads them all.
func (s *Service) ListRuns(ctx context.Context, caller *identity.Principal, f RunFilter) (RunPage, error) {
	if _, err := caller.Require(identity.PermReconRead); err != nil {
		return RunPage{}, err
	}
	p := recondb.ListRunsParams{Mchid: f.MchID, State: string(f.State), Lim: int32(f.Limit)}
	if f.Limit <= 0 {
		p.Lim = 50
	} else if f.Limit > 200 {
		return RunPage{}, errs.E(errs.KindInvalid, CodeInvalidFilter, "limit is 1 to 200").WithField("limit")
	}
	switch f.State {
	case "", StateBalanced, StateUnbalanced, StateIncomplete:
	default:
		return RunPage{}, errs.E(errs.KindInvalid, CodeInvalidFilter, fmt.Sprintf("state %q is not balanced, unbalanced or incomplete", f.State)).WithField("state")
	}
	var err error
	if p.Since, err = filterDate("since", f.Since); err != nil {
		return RunPage{}, err
	}
	if p.Until, err = filterDate("until", f.Until); err != nil {
		return RunPage{}, err
	}
	if f.After != "" {
		date, rest, ok := strings.Cut(f.After, "/")
		mchid, typ, _ := strings.Cut(rest, "/")
		if p.AfterDate, err = filterDate("cursor", date); err != nil || !ok || mchid == "" {
			return RunPage{}, errs.E(errs.KindInvalid, CodeInvalidFilter, "the cursor is the next_cursor of a previous page").WithField("cursor")
		}
		p.AfterMchid, p.AfterType = mchid, typ
	}
	q := recondb.New(s.db)
	rows, err := q.ListRuns(ctx, p)
	if err != nil {
		return RunPage{}, pg.Classify(err)
	}
	page := RunPage{Runs: make([]Run, 0, len(rows))}
	if len(rows) == 0 {
		return page, nil
	}
	ids := make([]uuid.UUID, len(rows))
	index := make(map[uuid.UUID]int, len(rows))
	for i, r := range rows {
		page.Runs = append(page.Runs, runFrom(r))
		ids[i], index[r.ID] = r.ID, i
	}
	classes, err := q.ListClassesOfRuns(ctx, ids)
	if err != nil {
		return RunPage{}, pg.Classify(err)
	}
	for _, c := range classes {
		if cl, ok := ParseClass(c.Class); ok {
			page.Runs[index[c.RunID]].Classes[cl] = classFrom(c)
		}
	}
	if len(rows) == int(p.Lim) {
		last := page.Runs[len(page.Runs)-1]
		page.NextCursor = last.Date + "/" + last.MchID + "/" + string(last.BillType)
	}
	return page, nil
}

func filterDate(field, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	day, _, err := dayWindow(s)
	if err != nil {
		return nil, errs.E(errs.KindInvalid, CodeInvalidDate, fmt.Sprintf("%s %q is not yyyy-MM-dd", field, s)).WithField(field)
	}
	d := dbDate(day)
	return &d, nil
}

// ReportByID reads a current run by its id with its first top exceptions.
func (s *Service) ReportByID(ctx context.Context, caller *identity.Principal, id uuid.UUID, top int) (*Report, error) {
	if _, err := caller.Require(identity.PermReconRead); err != nil {
		return nil, err
	}
	q := recondb.New(s.db)
	row, err := q.GetRunByID(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound(CodeRunNotFound)
	}
	if err != nil {
		return nil, pg.Classify(err)
	}
	return s.report(ctx, q, row, top)
}

// ExceptionPage is a page of a current run's exceptions in the order found: those
// after sequence number after (0 for the first page), of class (or of every class
// when class is ""), at most limit (1 to 1000). It fails with recon.run when the
// run does not exist (any more: a re-run replaces it).
func (s *Service) ExceptionPage(ctx context.Context, caller *identity.Principal, id uuid.UUID, class string, after, limit int) ([]Exception, error) {
	if _, err := caller.Require(identity.PermReconRead); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 1000 {
		return nil, errs.E(errs.KindInvalid, CodeInvalidFilter, "limit is 1 to 1000").WithField("limit")
	}
	if _, ok := ParseClass(class); class != "" && (!ok || class == ClassMatched.String()) {
		return nil, errs.E(errs.KindInvalid, CodeInvalidFilter, fmt.Sprintf("class %q is not an exception class", class)).WithField("class")
	}
	q := recondb.New(s.db)
	if _, err := q.GetRunByID(ctx, id); errors.Is(err, pgx.ErrNoRows) {
		return nil, errs.NotFound(CodeRunNotFound)
	} else if err != nil {
		return nil, pg.Classify(err)
	}
	rows, err := q.ListExceptionsPage(ctx, recondb.ListExceptionsPageParams{RunID: id, AfterSeq: int32(after), Class: class, Lim: int32(limit)})
	if err != nil {
		return nil, pg.Classify(err)
	}
	out := make([]Exception, len(rows))
	for i, r := range rows {
		out[i] = exceptionFrom(r)
	}
	return out, nil
}

// report completes a run row into a Report: its problems, class figures and first
// top exceptions.
func (s *Service) report(ctx context.Context, q *recondb.Queries, row recondb.ReconRun, top int) (*Report, error) {
	run := runFrom(row)
	if err := json.Unmarshal(row.Problems, &run.Problems); err != nil {
		return nil, fmt.Errorf("reconciliation: run %s problems: %w", row.ID, err)
	}
	classes, err := q.ListRunClasses(ctx, row.ID)
	if err != nil {
		return nil, pg.Classify(err)
	}
	for _, c := range classes {
		if cl, ok := ParseClass(c.Class); ok {
			run.Classes[cl] = classFrom(c)
		}
	}
	rep := &Report{Run: run}
	if top <= 0 {
		return rep, nil
	}
	rows, err := q.ListTopExceptions(ctx, recondb.ListTopExceptionsParams{RunID: row.ID, Limit: int32(top)})
	if err != nil {
		return nil, pg.Classify(err)
	}
	for _, r := range rows {
		rep.Top = append(rep.Top, exceptionFrom(r))
	}
	return rep, nil
}

// runFrom is a run row without its problems and classes.
func runFrom(row recondb.ReconRun) Run {
	return Run{ID: row.ID, MchID: row.Mchid, Date: row.BillDate.Format(wxpay.BillDateLayout), Attempt: int(row.Attempt),
		Source: Source(row.Source), State: RunState(row.State), BillType: wxpay.TradeBillType(row.BillType),
		StartedAt: row.StartedAt, FinishedAt: row.FinishedAt, NetMilliFen: row.NetMilliFen, LedgerRecords: row.LedgerRecords,
		CarriedIn: row.CarriedIn, Repaired: row.Repaired, ProblemCount: row.ProblemCount,
		Totals: wxpay.TradeTotals{Count: row.BillLines, SettlementTotal: row.SettlementFen, RefundAmount: row.RefundFen,
			FeeMilliFen: row.FeeMilliFen, OrderAmount: row.OrderFen, RequestedRefund: row.RequestedRefundFen}}
}

func classFrom(c recondb.ReconRunClass) ClassStats {
	return ClassStats{Items: c.Items, BillLines: c.BillLines, OrderFen: c.OrderFen,
		SettlementFen: c.SettlementFen, RefundFen: c.RefundFen, RequestedRefundFen: c.RequestedRefundFen,
		FeeMilliFen: c.FeeMilliFen, OurRecords: c.OurRecords, OurAmountFen: c.OurAmountFen}
}
