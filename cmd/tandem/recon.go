package main

import (
	"context"
	"strconv"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/web"
)

// reconPages gives the console's reconciliation pages (web.ReconSource) the runs
// and exceptions of reconciliation. The console checks recon.run.read; runs are
// platform-wide data, so there is no further scoping.
type reconPages struct{ s *reconciliation.Service }

func (p reconPages) ListRuns(ctx context.Context, f web.ReconFilter) ([]web.ReconRun, string, error) {
	page, err := p.s.ListRuns(ctx, reconciliation.RunFilter{MchID: f.MchID, State: reconciliation.RunState(f.State),
		Since: f.Since, Until: f.Until, After: f.Cursor})
	if err != nil {
		return nil, "", err
	}
	out := make([]web.ReconRun, len(page.Runs))
	for i := range page.Runs {
		out[i] = webRun(&page.Runs[i])
	}
	return out, page.NextCursor, nil
}

func (p reconPages) Run(ctx context.Context, id string) (web.ReconRun, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return web.ReconRun{}, errs.NotFound(reconciliation.CodeRunNotFound)
	}
	rep, err := p.s.ReportByID(ctx, uid, 0)
	if err != nil {
		return web.ReconRun{}, err
	}
	return webRun(&rep.Run), nil
}

func (p reconPages) Exceptions(ctx context.Context, id, class, cursor string, limit int) ([]web.ReconException, string, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return nil, "", errs.NotFound(reconciliation.CodeRunNotFound)
	}
	after := 0
	if cursor != "" {
		if after, err = strconv.Atoi(cursor); err != nil || after < 0 {
			return nil, "", errs.E(errs.KindInvalid, reconciliation.CodeInvalidFilter, "the cursor is the next_cursor of a previous page").WithField("cursor")
		}
	}
	excs, err := p.s.ExceptionPage(ctx, uid, class, after, limit)
	if err != nil {
		return nil, "", err
	}
	out := make([]web.ReconException, len(excs))
	for i, e := range excs {
		x := web.ReconException{Class: e.Class.String(), Kind: e.Kind.String(), OutTradeNo: e.OutTradeNo,
			TransactionID: e.TransactionID, OutRefundNo: e.OutRefundNo, RefundID: e.RefundID,
			RepairedAt: e.RepairedAt, CarriedFrom: e.CarriedFrom, Note: e.Note}
		if b := e.Bill; b != nil {
			x.InBill, x.BillLine, x.WeChatStatus, x.WeChatFen = true, b.LineNo, b.State, b.AmountFen
		}
		if o := e.Ours; o != nil {
			x.InOurs, x.OurStatus, x.OurFen = true, o.Status, o.AmountFen
		}
		out[i] = x
	}
	next := ""
	if len(excs) == limit {
		next = strconv.Itoa(excs[len(excs)-1].Seq)
	}
	return out, next, nil
}

func webRun(r *reconciliation.Run) web.ReconRun {
	t := r.Totals
	out := web.ReconRun{ID: r.ID.String(), Date: r.Date, MchID: r.MchID, State: string(r.State), Source: string(r.Source),
		Attempt: r.Attempt, FinishedAt: r.FinishedAt, BillLines: t.Count, LedgerRecords: r.LedgerRecords,
		OrderFen: t.OrderAmount, SettlementFen: t.SettlementTotal, RefundFen: t.RefundAmount, FeeMilliFen: t.FeeMilliFen,
		NetMilliFen: r.NetMilliFen, Exceptions: r.Exceptions(), Repaired: r.Repaired, CarriedIn: r.CarriedIn,
		ProblemCount: r.ProblemCount}
	for c, st := range r.Classes {
		out.Classes = append(out.Classes, web.ReconClass{Class: reconciliation.Class(c).String(), Items: st.Items,
			BillLines: st.BillLines, OurRecords: st.OurRecords, OrderFen: st.OrderFen, SettlementFen: st.SettlementFen,
			RefundFen: st.RefundFen, FeeMilliFen: st.FeeMilliFen, OurAmountFen: st.OurAmountFen})
	}
	for _, pr := range r.Problems {
		out.Problems = append(out.Problems, web.ReconProblem{Line: pr.Line, Reason: pr.Reason})
	}
	return out
}
