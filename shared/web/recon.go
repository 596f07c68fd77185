package web

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/identity"
)

// Reconciliation pages (对账): the runs of each merchant's bill day and their
// exceptions, for those holding recon.run.read. The console does not know the
// reconciliation domain (shared depends on no domain): it reads through ReconSource,
// which cmd/tandem implements over reconciliation.Service.

// ReconSource is what the reconciliation pages read.
type ReconSource interface {
	// ListRuns lists runs, newest business day first; next is "" at the end.
	ListRuns(ctx context.Context, f ReconFilter) (runs []ReconRun, next string, err error)
	// Run reads one run with its classes and problems.
	Run(ctx context.Context, id string) (ReconRun, error)
	// Exceptions reads a page of a run's exceptions of class ("" for all) after the
	// cursor ("" for the first page); next is "" at the end.
	Exceptions(ctx context.Context, id, class, cursor string, limit int) (excs []ReconException, next string, err error)
}

// ReconFilter selects runs.
type ReconFilter struct {
	MchID, State, Since, Until, Cursor string
}

// ReconRun is a run as the pages show it. Amounts are in fen, fees in 1/1000 fen.
type ReconRun struct {
	ID, Date, MchID, State, Source string
	Attempt                        int
	FinishedAt                     time.Time
	BillLines, LedgerRecords       int64
	OrderFen, SettlementFen        int64
	RefundFen                      int64
	FeeMilliFen, NetMilliFen       int64
	Exceptions, Repaired           int64
	CarriedIn, ProblemCount        int64
	Classes                        []ReconClass // every class, matched first
	Problems                       []ReconProblem
}

// ReconClass is the figures of one class of a run.
type ReconClass struct {
	Class                              string // matched, missing_ours, ...
	Items, BillLines, OurRecords       int64
	OrderFen, SettlementFen, RefundFen int64
	FeeMilliFen, OurAmountFen          int64
}

// ReconProblem is a bill line that could not be reconciled.
type ReconProblem struct {
	Line   int
	Reason string
}

// ReconException is one unmatched item.
type ReconException struct {
	Class, Kind               string
	OutTradeNo, TransactionID string
	OutRefundNo, RefundID     string
	InBill                    bool
	BillLine                  int
	WeChatStatus              string
	WeChatFen                 int64
	InOurs                    bool
	OurStatus                 string
	OurFen                    int64
	RepairedAt                *time.Time
	CarriedFrom, Note         string
}

// reconClasses are the exception classes, most pressing first.
var reconClasses = []string{"missing_ours", "missing_wechat", "amount_mismatch", "status_mismatch", "duplicate", "outside_window"}

// reconLabel is the catalogue key of a class, state or kind: recon.class_matched.
func reconLabel(group, value string) string { return "recon." + group + "_" + value }

// WithRecon adds the reconciliation pages over src; call it before Mount.
func (w *Console) WithRecon(src ReconSource) *Console {
	w.recon = src
	return w
}

func (w *Console) mountRecon(g gin.IRouter) {
	g.GET("/recon", w.handle(w.reconRuns))
	g.GET("/recon/:id", w.handle(w.reconRun))
}

// yuan writes fen as yuan with 2 decimals; milliYuan writes 1/1000 fen with 5.
func yuan(fen int64) string { return decimal(fen, 2) }

func milliYuan(milliFen int64) string { return decimal(milliFen, 5) }

func decimal(n int64, places int) string {
	neg := n < 0
	u := uint64(n)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= places {
		s = strings.Repeat("0", places-len(s)+1) + s
	}
	s = s[:len(s)-places] + "." + s[len(s)-places:]
	if neg {
		s = "-" + s
	}
	return s
}

type reconRunsPage struct{ List List }

func reconRunColumns(v *view) []Column[ReconRun] {
	return []Column[ReconRun]{
		{Header: "recon.date", Cell: func(r ReconRun) string { return r.Date }, Link: func(r ReconRun) string { return "/recon/" + r.ID }},
		{Header: "recon.mchid", Cell: func(r ReconRun) string { return r.MchID }},
		{Header: "recon.state", Cell: func(r ReconRun) string { return v.T(reconLabel("state", r.State)) }},
		{Header: "recon.matched", Cell: func(r ReconRun) string { return classItems(r, "matched") }},
		{Header: "recon.exceptions", Cell: func(r ReconRun) string { return strconv.FormatInt(r.Exceptions, 10) }},
		{Header: "recon.by_class", Cell: func(r ReconRun) string {
			var parts []string
			for _, c := range r.Classes {
				if c.Class != "matched" && c.Items > 0 {
					parts = append(parts, v.T(reconLabel("class", c.Class))+" "+strconv.FormatInt(c.Items, 10))
				}
			}
			return strings.Join(parts, " · ")
		}},
		{Header: "recon.repaired", Cell: func(r ReconRun) string { return strconv.FormatInt(r.Repaired, 10) }},
		{Header: "recon.order_amount", Cell: func(r ReconRun) string { return yuan(r.OrderFen) }},
		{Header: "recon.refund_amount", Cell: func(r ReconRun) string { return yuan(r.RefundFen) }},
		{Header: "recon.net_amount", Cell: func(r ReconRun) string { return milliYuan(r.NetMilliFen) }},
		{Header: "recon.attempt", Cell: func(r ReconRun) string { return strconv.Itoa(r.Attempt) }},
		{Header: "recon.finished_at", Cell: func(r ReconRun) string { return v.Time(r.FinishedAt) }},
	}
}

func classItems(r ReconRun, class string) string {
	for _, c := range r.Classes {
		if c.Class == class {
			return strconv.FormatInt(c.Items, 10)
		}
	}
	return "0"
}

func (w *Console) reconRuns(c *gin.Context, v *view) error {
	if _, err := v.Me.Require(identity.PermReconRead); err != nil {
		return err
	}
	ctx := c.Request.Context()
	f := ReconFilter{MchID: strings.TrimSpace(c.Query("mchid")), State: c.Query("state"), Since: c.Query("since"),
		Until: c.Query("until"), Cursor: c.Query("cursor")}
	cols := reconRunColumns(v)
	if c.Query("format") == "csv" {
		return w.csv(c, "reconciliation-runs.csv", func() error {
			return WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func(ReconRun) error) error {
				f.Cursor = ""
				for {
					runs, next, err := w.recon.ListRuns(ctx, f)
					if err != nil {
						return err
					}
					for _, r := range runs {
						if err := fn(r); err != nil {
							return err
						}
					}
					if next == "" {
						return nil
					}
					f.Cursor = next
				}
			})
		})
	}
	runs, next, err := w.recon.ListRuns(ctx, f)
	if err != nil {
		return err
	}
	var states []Option
	for _, s := range []string{"balanced", "unbalanced", "incomplete"} {
		states = append(states, Option{Value: s, Label: v.T(reconLabel("state", s)), Selected: s == f.State})
	}
	filters := []Filter{
		{Name: "mchid", Label: "recon.mchid", Type: "text", Value: f.MchID},
		{Name: "state", Label: "recon.state", Type: "select", Value: f.State, Options: states},
		{Name: "since", Label: "recon.since", Type: "date", Value: f.Since},
		{Name: "until", Label: "recon.until", Type: "date", Value: f.Until},
	}
	list := NewList("recon-list", cols, runs, filters, c.Request.URL, next, true)
	return w.show(c, v, "recon", "recon.title", reconRunsPage{List: list})
}

type reconRunPage struct {
	Run     ReconRun
	Classes []reconClassRow
	List    List
}

type reconClassRow struct {
	ReconClass
	Label                                     string
	Order, Settlement, Refund, Fee, OurAmount string
}

func reconExceptionColumns(v *view) []Column[ReconException] {
	side := func(in bool, s string) string {
		if !in {
			return "—"
		}
		return s
	}
	return []Column[ReconException]{
		{Header: "recon.class", Cell: func(e ReconException) string { return v.T(reconLabel("class", e.Class)) }},
		{Header: "recon.kind", Cell: func(e ReconException) string { return v.T(reconLabel("kind", strings.ToLower(e.Kind))) }},
		{Header: "recon.out_trade_no", Cell: func(e ReconException) string { return e.OutTradeNo }},
		{Header: "recon.transaction_id", Cell: func(e ReconException) string { return e.TransactionID }},
		{Header: "recon.out_refund_no", Cell: func(e ReconException) string { return e.OutRefundNo }},
		{Header: "recon.bill_line", Cell: func(e ReconException) string {
			if !e.InBill || e.BillLine == 0 {
				return "—"
			}
			return strconv.Itoa(e.BillLine)
		}},
		{Header: "recon.wechat_amount", Cell: func(e ReconException) string { return side(e.InBill, yuan(e.WeChatFen)) }},
		{Header: "recon.wechat_status", Cell: func(e ReconException) string { return side(e.InBill, e.WeChatStatus) }},
		{Header: "recon.our_amount", Cell: func(e ReconException) string { return side(e.InOurs, yuan(e.OurFen)) }},
		{Header: "recon.our_status", Cell: func(e ReconException) string { return side(e.InOurs, e.OurStatus) }},
		{Header: "recon.repaired_at", Cell: func(e ReconException) string { return v.Time(e.RepairedAt) }},
		{Header: "recon.note", Cell: func(e ReconException) string {
			if e.CarriedFrom != "" {
				return strings.TrimSpace(v.T("recon.carried_from", "Date", e.CarriedFrom) + " " + e.Note)
			}
			return e.Note
		}},
	}
}

// reconPage is how many exceptions a page of the run's page shows.
const reconPage = 100

func (w *Console) reconRun(c *gin.Context, v *view) error {
	if _, err := v.Me.Require(identity.PermReconRead); err != nil {
		return err
	}
	ctx := c.Request.Context()
	id, class := c.Param("id"), c.Query("class")
	cols := reconExceptionColumns(v)
	if c.Query("format") == "csv" {
		// Check the run exists before the download starts, so a bad id is a page.
		if _, err := w.recon.Run(ctx, id); err != nil {
			return err
		}
		return w.csv(c, "reconciliation-exceptions.csv", func() error {
			return WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func(ReconException) error) error {
				cursor := ""
				for {
					excs, next, err := w.recon.Exceptions(ctx, id, class, cursor, 1000)
					if err != nil {
						return err
					}
					for _, e := range excs {
						if err := fn(e); err != nil {
							return err
						}
					}
					if next == "" {
						return nil
					}
					cursor = next
				}
			})
		})
	}
	run, err := w.recon.Run(ctx, id)
	if err != nil {
		return err
	}
	excs, next, err := w.recon.Exceptions(ctx, id, class, c.Query("cursor"), reconPage)
	if err != nil {
		return err
	}
	p := reconRunPage{Run: run}
	for _, rc := range run.Classes {
		p.Classes = append(p.Classes, reconClassRow{ReconClass: rc, Label: v.T(reconLabel("class", rc.Class)),
			Order: yuan(rc.OrderFen), Settlement: yuan(rc.SettlementFen), Refund: yuan(rc.RefundFen),
			Fee: milliYuan(rc.FeeMilliFen), OurAmount: yuan(rc.OurAmountFen)})
	}
	var opts []Option
	for _, k := range reconClasses {
		opts = append(opts, Option{Value: k, Label: v.T(reconLabel("class", k)), Selected: k == class})
	}
	filters := []Filter{{Name: "class", Label: "recon.class", Type: "select", Value: class, Options: opts}}
	p.List = NewList("recon-exceptions", cols, excs, filters, c.Request.URL, next, true)
	return w.show(c, v, "recon_run", "recon.run_title", p)
}
