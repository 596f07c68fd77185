package reconciliation

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// api is reconciliation's read API; the service checks recon.run.read.
type api struct{ svc *Service }

// mountAPI adds GET /reconciliation/runs and GET /reconciliation/runs/:id.
func (s *Service) mountAPI(rt domain.Routers) {
	h := api{svc: s}
	r := rt.Staff.Group("/reconciliation")
	r.GET("/runs", identity.Handle(h.listRuns))
	r.GET("/runs/:id", identity.Handle(h.getRun))
	// The exceptions queue: recon.run.read reads it, recon.exception.resolve works it.
	r.GET("/queue", identity.Handle(h.listQueue))
	r.GET("/queue/:id", identity.Handle(h.getItem))
	r.POST("/queue/:id/assign", identity.Require(identity.PermReconResolve), identity.Handle(h.assignItem))
	r.POST("/queue/:id/notes", identity.Require(identity.PermReconResolve), identity.Handle(h.noteItem))
	r.POST("/queue/:id/resolve", identity.Require(identity.PermReconResolve), identity.Handle(h.resolveItem))
	r.POST("/queue/:id/refund", identity.Require(identity.PermReconResolve), rt.Idempotent, identity.Handle(h.refundItem))
}

func (h api) listQueue(c *gin.Context, p *identity.Principal) error {
	before, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	f := QueueFilter{State: c.Query("state"), Source: c.Query("source"), Before: before, Limit: limit}
	if a := c.Query("assignee"); a != "" {
		id, err := uuid.Parse(a)
		if err != nil {
			return errs.E(errs.KindInvalid, CodeInvalidFilter, "assignee is a user id").WithField("assignee")
		}
		f.Assignee = &id
	}
	items, err := h.svc.Queue(c.Request.Context(), p, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(items, httpx.NextAfter(items, limit, func(it Item) uuid.UUID { return it.ID })))
	return nil
}

func (h api) getItem(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objItem)
	if err != nil {
		return err
	}
	it, err := h.svc.QueueItem(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, it)
	return nil
}

type assignBody struct {
	Assignee *uuid.UUID `json:"assignee"` // null: unassign
}

type noteBody struct {
	Note string `json:"note"`
}

func (b noteBody) Validate() error {
	if strings.TrimSpace(b.Note) == "" {
		return errs.Invalidf("note", "write the note")
	}
	return nil
}

type resolveBody struct {
	Resolution string `json:"resolution"`
}

func (b resolveBody) Validate() error {
	if strings.TrimSpace(b.Resolution) == "" {
		return errs.Invalidf("resolution", "say how it was resolved")
	}
	return nil
}

// work binds body, turns it into an action and applies it to the item of the path.
func work[B any](c *gin.Context, h api, p *identity.Principal, action func(B) ItemAction) error {
	id, err := httpx.PathID(c, objItem)
	if err != nil {
		return err
	}
	var in B
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	it, err := h.svc.Work(c.Request.Context(), p, id, action(in))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, it)
	return nil
}

func (h api) assignItem(c *gin.Context, p *identity.Principal) error {
	return work(c, h, p, func(b assignBody) ItemAction { return ItemAction{Assign: true, Assignee: b.Assignee} })
}

func (h api) noteItem(c *gin.Context, p *identity.Principal) error {
	return work(c, h, p, func(b noteBody) ItemAction { return ItemAction{Note: b.Note} })
}

func (h api) resolveItem(c *gin.Context, p *identity.Principal) error {
	return work(c, h, p, func(b resolveBody) ItemAction { return ItemAction{Resolution: b.Resolution} })
}

func (h api) refundItem(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objItem)
	if err != nil {
		return err
	}
	it, err := h.svc.RefundItem(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, it)
	return nil
}

// RunJSON is a run as the API shows it. Amounts are in fen, fees in 1/1000 fen
// (WeChat's bills print fees with 5 decimals).
type RunJSON struct {
	ID                 uuid.UUID            `json:"id"`
	MchID              string               `json:"mchid"`
	Date               string               `json:"date"`
	State              RunState             `json:"state"`
	Attempt            int                  `json:"attempt"`
	Source             Source               `json:"source"`
	BillType           string               `json:"bill_type"`
	StartedAt          time.Time            `json:"started_at"`
	FinishedAt         time.Time            `json:"finished_at"`
	BillLines          int64                `json:"bill_lines"`
	OrderFen           int64                `json:"order_fen"`
	SettlementFen      int64                `json:"settlement_fen"`
	RefundFen          int64                `json:"refund_fen"`
	RequestedRefundFen int64                `json:"requested_refund_fen"`
	FeeMilliFen        int64                `json:"fee_milli_fen"`
	NetMilliFen        int64                `json:"net_milli_fen"`
	LedgerRecords      int64                `json:"ledger_records"`
	CarriedIn          int64                `json:"carried_in"`
	Repaired           int64                `json:"repaired"`
	Exceptions         int64                `json:"exceptions"`
	ProblemCount       int64                `json:"problem_count"`
	Classes            map[string]ClassJSON `json:"classes"`
}

// ClassJSON is the figures of one class.
type ClassJSON struct {
	Items              int64 `json:"items"`
	BillLines          int64 `json:"bill_lines"`
	OrderFen           int64 `json:"order_fen"`
	SettlementFen      int64 `json:"settlement_fen"`
	RefundFen          int64 `json:"refund_fen"`
	RequestedRefundFen int64 `json:"requested_refund_fen"`
	FeeMilliFen        int64 `json:"fee_milli_fen"`
	OurRecords         int64 `json:"our_records"`
	OurAmountFen       int64 `json:"our_amount_fen"`
}

// ExceptionJSON is one exception; the bill's and our side are null when absent.
type ExceptionJSON struct {
	ID            uuid.UUID  `json:"id"`
	Seq           int        `json:"seq"`
	Class         string     `json:"class"`
	Kind          string     `json:"kind"`
	OutTradeNo    string     `json:"out_trade_no"`
	TransactionID string     `json:"transaction_id"`
	OutRefundNo   string     `json:"out_refund_no"`
	RefundID      string     `json:"refund_id"`
	Bill          *BillJSON  `json:"bill"`
	Ours          *OursJSON  `json:"ours"`
	CarriedFrom   string     `json:"carried_from,omitempty"`
	RepairedAt    *time.Time `json:"repaired_at"`
	Note          string     `json:"note"`
}

// BillJSON is the bill line of an exception.
type BillJSON struct {
	Line        int       `json:"line"`
	State       string    `json:"state"`
	At          time.Time `json:"at"`
	AmountFen   int64     `json:"amount_fen"`
	FeeMilliFen int64     `json:"fee_milli_fen"`
}

// OursJSON is our record of an exception.
type OursJSON struct {
	Status    string    `json:"status"`
	At        time.Time `json:"at"`
	AmountFen int64     `json:"amount_fen"`
	FeeFen    int64     `json:"fee_fen"`
}

// RunDetailJSON is a run with its problems and a page of its exceptions.
type RunDetailJSON struct {
	RunJSON
	Problems []Problem `json:"problems"`
	// ExceptionList is a page of the exceptions (?class=, ?cursor=, ?limit= 1 to 1000 [200]).
	ExceptionList []ExceptionJSON `json:"exception_list"`
	NextCursor    string          `json:"next_cursor,omitempty"`
}

// RunToJSON is r as the API shows it.
func RunToJSON(r *Run) RunJSON {
	t := r.Totals
	out := RunJSON{ID: r.ID, MchID: r.MchID, Date: r.Date, State: r.State, Attempt: r.Attempt, Source: r.Source,
		BillType: string(r.BillType), StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, BillLines: t.Count,
		OrderFen: t.OrderAmount, SettlementFen: t.SettlementTotal, RefundFen: t.RefundAmount, RequestedRefundFen: t.RequestedRefund,
		FeeMilliFen: t.FeeMilliFen, NetMilliFen: r.NetMilliFen, LedgerRecords: r.LedgerRecords, CarriedIn: r.CarriedIn,
		Repaired: r.Repaired, Exceptions: r.Exceptions(), ProblemCount: r.ProblemCount, Classes: make(map[string]ClassJSON, NumClasses)}
	for c, st := range r.Classes {
		out.Classes[Class(c).String()] = ClassJSON(st)
	}
	return out
}

// ExceptionToJSON is e as the API shows it.
func ExceptionToJSON(e *Exception) ExceptionJSON {
	out := ExceptionJSON{ID: e.ID, Seq: e.Seq, Class: e.Class.String(), Kind: e.Kind.String(), OutTradeNo: e.OutTradeNo,
		TransactionID: e.TransactionID, OutRefundNo: e.OutRefundNo, RefundID: e.RefundID, CarriedFrom: e.CarriedFrom,
		RepairedAt: e.RepairedAt, Note: e.Note}
	if b := e.Bill; b != nil {
		out.Bill = &BillJSON{Line: b.LineNo, State: b.State, At: b.At, AmountFen: b.AmountFen, FeeMilliFen: b.FeeMilliFen}
	}
	if o := e.Ours; o != nil {
		out.Ours = &OursJSON{Status: o.Status, At: o.At, AmountFen: o.AmountFen, FeeFen: o.FeeFen}
	}
	return out
}

type runPageJSON struct {
	Items      []RunJSON `json:"items"`
	NextCursor string    `json:"next_cursor,omitempty"`
}

func (h api) listRuns(c *gin.Context, p *identity.Principal) error {
	f := RunFilter{MchID: c.Query("mchid"), State: RunState(c.Query("state")), Since: c.Query("since"),
		Until: c.Query("until"), After: c.Query("cursor")}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return errs.E(errs.KindInvalid, CodeInvalidFilter, "limit is 1 to 200").WithField("limit")
		}
		f.Limit = n
	}
	page, err := h.svc.ListRuns(c.Request.Context(), p, f)
	if err != nil {
		return err
	}
	out := runPageJSON{Items: make([]RunJSON, len(page.Runs)), NextCursor: page.NextCursor}
	for i := range page.Runs {
		out.Items[i] = RunToJSON(&page.Runs[i])
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (h api) getRun(c *gin.Context, p *identity.Principal) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(CodeRunNotFound)
	}
	after, limit := 0, 200
	if s := c.Query("cursor"); s != "" {
		if after, err = strconv.Atoi(s); err != nil || after < 0 {
			return errs.E(errs.KindInvalid, CodeInvalidFilter, "the cursor is the next_cursor of a previous page").WithField("cursor")
		}
	}
	if s := c.Query("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil {
			return errs.E(errs.KindInvalid, CodeInvalidFilter, "limit is 1 to 1000").WithField("limit")
		}
	}
	ctx := c.Request.Context()
	rep, err := h.svc.ReportByID(ctx, p, id, 0)
	if err != nil {
		return err
	}
	excs, err := h.svc.ExceptionPage(ctx, p, id, c.Query("class"), after, limit)
	if err != nil {
		return err
	}
	out := RunDetailJSON{RunJSON: RunToJSON(&rep.Run), Problems: rep.Run.Problems, ExceptionList: make([]ExceptionJSON, len(excs))}
	if out.Problems == nil {
		out.Problems = []Problem{}
	}
	for i := range excs {
		out.ExceptionList[i] = ExceptionToJSON(&excs[i])
	}
	if len(excs) == limit {
		out.NextCursor = strconv.Itoa(excs[len(excs)-1].Seq)
	}
	c.JSON(http.StatusOK, out)
	return nil
}
