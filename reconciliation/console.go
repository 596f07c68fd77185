package reconciliation

import (
	"embed"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/web"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// Console pages (对账): the runs of each merchant's bill day and their exceptions,
// for those holding recon.run.read.

//go:embed console
var consoleFiles embed.FS

func (s *Service) pages() web.Pages {
	files := web.EmbeddedDir(consoleFiles, "console")
	return web.Pages{
		Domain: "recon", Templates: files, Messages: files,
		Nav: []web.NavItem{{ID: "nav-recon", Label: "nav.recon", Href: "/recon", Perms: []identity.Permission{identity.PermReconRead}},
			{ID: "nav-recon-queue", Label: "nav.recon_queue", Href: "/recon/queue", Perms: []identity.Permission{identity.PermReconRead}}},
		Mount: func(r gin.IRouter, w *web.Console) {
			pg := consolePages{svc: s, w: w}
			r.GET("/recon", w.Handle(pg.runs))
			r.POST("/recon", w.Handle(pg.startRun))
			r.GET("/recon/queue", w.Handle(pg.queue))
			r.GET("/recon/queue/:id", w.Handle(pg.item))
			r.POST("/recon/queue/:id", w.Handle(pg.workItem))
			r.GET("/recon/:id", w.Handle(pg.run))
		},
	}
}

type consolePages struct {
	svc *Service
	w   *web.Console
}

// exceptionClasses are the exception classes, most pressing first.
var exceptionClasses = []Class{ClassMissingOurs, ClassMissingWeChat, ClassAmountMismatch, ClassStatusMismatch, ClassDuplicate, ClassOutsideWindow}

// label is the catalogue key of a class, state or kind: recon.class_matched.
func label(group, value string) string { return "recon." + group + "_" + value }

// milliYuan writes 1/1000 fen as yuan with 5 decimals (WeChat's fee precision).
func milliYuan(milliFen int64) string {
	s := web.Yuan(milliFen) // fen with 2 decimals = milli-fen with 5 when shifted by 3
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.ReplaceAll(s, ".", ""), "-")
	for len(s) < 6 {
		s = "0" + s
	}
	s = s[:len(s)-5] + "." + s[len(s)-5:]
	if neg {
		s = "-" + s
	}
	return s
}

func classItems(r *Run, c Class) string { return strconv.FormatInt(r.Classes[c].Items, 10) }

func runColumns(v *web.View) []web.Column[Run] {
	return []web.Column[Run]{
		{Header: "recon.date", Cell: func(r Run) string { return r.Date }, Link: func(r Run) string { return "/recon/" + r.ID.String() }},
		{Header: "recon.mchid", Cell: func(r Run) string { return r.MchID }},
		{Header: "recon.bill_type", Cell: func(r Run) string { return v.T("recon.bill_type_" + strings.ToLower(string(r.BillType))) }},
		{Header: "recon.state", Cell: func(r Run) string { return v.T(label("state", string(r.State))) }},
		{Header: "recon.matched", Cell: func(r Run) string { return classItems(&r, ClassMatched) }},
		{Header: "recon.exceptions", Cell: func(r Run) string { return strconv.FormatInt(r.Exceptions(), 10) }},
		{Header: "recon.by_class", Cell: func(r Run) string {
			var parts []string
			for _, c := range exceptionClasses {
				if n := r.Classes[c].Items; n > 0 {
					parts = append(parts, v.T(label("class", c.String()))+" "+strconv.FormatInt(n, 10))
				}
			}
			return strings.Join(parts, " · ")
		}},
		{Header: "recon.repaired", Cell: func(r Run) string { return strconv.FormatInt(r.Repaired, 10) }},
		{Header: "recon.order_amount", Cell: func(r Run) string { return web.Yuan(r.Totals.OrderAmount) }},
		{Header: "recon.refund_amount", Cell: func(r Run) string { return web.Yuan(r.Totals.RefundAmount) }},
		{Header: "recon.net_amount", Cell: func(r Run) string { return milliYuan(r.NetMilliFen) }},
		{Header: "recon.attempt", Cell: func(r Run) string { return strconv.Itoa(r.Attempt) }},
		{Header: "recon.finished_at", Cell: func(r Run) string { return v.Time(r.FinishedAt) }},
	}
}

type runsPage struct {
	List web.List
	// The form that starts a run (finance): the accounts and yesterday, its default day.
	CanStart  bool
	Accounts  []string
	Yesterday string
}

func (pg consolePages) runs(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	f := RunFilter{MchID: strings.TrimSpace(c.Query("mchid")), State: RunState(c.Query("state")), Since: c.Query("since"),
		Until: c.Query("until"), After: c.Query("cursor")}
	cols := runColumns(v)
	if c.Query("format") == "csv" {
		f.After = ""
		if _, err := pg.svc.ListRuns(ctx, v.Me, RunFilter{Limit: 1}); err != nil {
			return err // refused before the download starts, as a page
		}
		return pg.w.CSV(c, "reconciliation-runs.csv", func() error {
			return web.WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func(Run) error) error {
				for {
					page, err := pg.svc.ListRuns(ctx, v.Me, f)
					if err != nil {
						return err
					}
					for _, r := range page.Runs {
						if err := fn(r); err != nil {
							return err
						}
					}
					if page.NextCursor == "" {
						return nil
					}
					f.After = page.NextCursor
				}
			})
		})
	}
	page, err := pg.svc.ListRuns(ctx, v.Me, f)
	if err != nil {
		return err
	}
	var states []web.Option
	for _, s := range []RunState{StateBalanced, StateUnbalanced, StateIncomplete} {
		states = append(states, web.Option{Value: string(s), Label: v.T(label("state", string(s))), Selected: s == f.State})
	}
	filters := []web.Filter{
		{Name: "mchid", Label: "recon.mchid", Type: "text", Value: f.MchID},
		{Name: "state", Label: "recon.state", Type: "select", Value: string(f.State), Options: states},
		{Name: "since", Label: "recon.since", Type: "date", Value: f.Since},
		{Name: "until", Label: "recon.until", Type: "date", Value: f.Until},
	}
	list := web.NewList("recon-list", cols, page.Runs, filters, c.Request.URL, page.NextCursor, true)
	return pg.w.Show(c, v, "recon/runs", "recon.title", runsPage{List: list, CanStart: v.Can(string(identity.PermReconResolve)),
		Accounts: pg.svc.AccountIDs(), Yesterday: pg.svc.now().In(wxpay.Shanghai).AddDate(0, 0, -1).Format(wxpay.BillDateLayout)})
}

// startRun reconciles the account's day now and shows the run.
func (pg consolePages) startRun(c *gin.Context, v *web.View) error {
	rep, err := pg.svc.StartRun(c.Request.Context(), v.Me, c.PostForm("mchid"), strings.TrimSpace(c.PostForm("date")))
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.runs)
	}
	return pg.w.Redirect(c, "/recon/"+rep.Run.ID.String(), "recon.started_flash")
}

type runPage struct {
	Run     *Run
	Classes []classRow
	List    web.List
}

type classRow struct {
	ClassStats
	Label                                     string
	Order, Settlement, Refund, Fee, OurAmount string
}

func exceptionColumns(v *web.View) []web.Column[Exception] {
	dash := "—"
	return []web.Column[Exception]{
		{Header: "recon.class", Cell: func(e Exception) string { return v.T(label("class", e.Class.String())) }},
		{Header: "recon.kind", Cell: func(e Exception) string { return v.T(label("kind", strings.ToLower(e.Kind.String()))) }},
		{Header: "recon.out_trade_no", Cell: func(e Exception) string { return e.OutTradeNo }},
		{Header: "recon.transaction_id", Cell: func(e Exception) string { return e.TransactionID }},
		{Header: "recon.out_refund_no", Cell: func(e Exception) string { return e.OutRefundNo }},
		{Header: "recon.bill_line", Cell: func(e Exception) string {
			if e.Bill == nil || e.Bill.LineNo == 0 {
				return dash
			}
			return strconv.Itoa(e.Bill.LineNo)
		}},
		{Header: "recon.wechat_amount", Cell: func(e Exception) string {
			if e.Bill == nil {
				return dash
			}
			return web.Yuan(e.Bill.AmountFen)
		}},
		{Header: "recon.wechat_status", Cell: func(e Exception) string {
			if e.Bill == nil {
				return dash
			}
			return e.Bill.State
		}},
		{Header: "recon.our_amount", Cell: func(e Exception) string {
			if e.Ours == nil {
				return dash
			}
			return web.Yuan(e.Ours.AmountFen)
		}},
		{Header: "recon.our_status", Cell: func(e Exception) string {
			if e.Ours == nil {
				return dash
			}
			return e.Ours.Status
		}},
		{Header: "recon.repaired_at", Cell: func(e Exception) string { return v.Time(e.RepairedAt) }},
		{Header: "recon.note", Cell: func(e Exception) string {
			if e.CarriedFrom != "" {
				return strings.TrimSpace(v.T("recon.carried_from", "Date", e.CarriedFrom) + " " + e.Note)
			}
			return e.Note
		}},
	}
}

// exceptionsPerPage is how many exceptions a page of the run's page shows.
const exceptionsPerPage = 100

func (pg consolePages) run(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(CodeRunNotFound)
	}
	class := c.Query("class")
	after := 0
	if cur := c.Query("cursor"); cur != "" {
		if after, err = strconv.Atoi(cur); err != nil || after < 0 {
			return errs.E(errs.KindInvalid, CodeInvalidFilter, "the cursor is the next_cursor of a previous page").WithField("cursor")
		}
	}
	rep, err := pg.svc.ReportByID(ctx, v.Me, id, 0)
	if err != nil {
		return err
	}
	cols := exceptionColumns(v)
	if c.Query("format") == "csv" {
		return pg.w.CSV(c, "reconciliation-exceptions.csv", func() error {
			return web.WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func(Exception) error) error {
				seq := 0
				for {
					excs, err := pg.svc.ExceptionPage(ctx, v.Me, id, class, seq, 1000)
					if err != nil {
						return err
					}
					for _, e := range excs {
						if err := fn(e); err != nil {
							return err
						}
					}
					if len(excs) < 1000 {
						return nil
					}
					seq = excs[len(excs)-1].Seq
				}
			})
		})
	}
	excs, err := pg.svc.ExceptionPage(ctx, v.Me, id, class, after, exceptionsPerPage)
	if err != nil {
		return err
	}
	next := ""
	if len(excs) == exceptionsPerPage {
		next = strconv.Itoa(excs[len(excs)-1].Seq)
	}
	p := runPage{Run: &rep.Run}
	for i := range rep.Run.Classes {
		st := rep.Run.Classes[i]
		p.Classes = append(p.Classes, classRow{ClassStats: st, Label: v.T(label("class", Class(i).String())),
			Order: web.Yuan(st.OrderFen), Settlement: web.Yuan(st.SettlementFen), Refund: web.Yuan(st.RefundFen),
			Fee: milliYuan(st.FeeMilliFen), OurAmount: web.Yuan(st.OurAmountFen)})
	}
	var opts []web.Option
	for _, k := range exceptionClasses {
		opts = append(opts, web.Option{Value: k.String(), Label: v.T(label("class", k.String())), Selected: k.String() == class})
	}
	filters := []web.Filter{{Name: "class", Label: "recon.class", Type: "select", Value: class, Options: opts}}
	p.List = web.NewList("recon-exceptions", cols, excs, filters, c.Request.URL, next, true)
	return pg.w.Show(c, v, "recon/run", "recon.run_title", p)
}
