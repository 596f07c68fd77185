package billing

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/web"
)

// The settlement pages: issued statements, and one merchant's statement of a period
// (issued, or a preview from the ledger) with the entries it sums, exports, and
// finance's actions: issue, adjust, record the payout.

// statementURL is the page of a merchant's statement of a period.
func statementURL(merchant uuid.UUID, cycle, per string) string {
	return "/billing/statement?" + url.Values{"merchant": {merchant.String()}, "cycle": {cycle}, "period": {per}}.Encode()
}

// cycleLabel is a settlement cycle as the reader calls it (月结 for monthly).
func cycleLabel(v *web.View, cycle string) string { return v.T("billing.cycle_" + cycle) }

func statementMerchant(s Statement) uuid.UUID { return s.MerchantID }

func statementColumns(v *web.View, names merchantNames) []web.Column[Statement] {
	return []web.Column[Statement]{
		{Header: "billing.period", Cell: func(s Statement) string { return s.Period }, Link: func(s Statement) string { return statementURL(s.MerchantID, s.Cycle, s.Period) }},
		{Header: "billing.cycle", Cell: func(s Statement) string { return cycleLabel(v, s.Cycle) }},
		merchantColumn(names, statementMerchant),
		{Header: "billing.net", Cell: func(s Statement) string { return web.Yuan(s.NetFen) }},
		{Header: "billing.payable_on", Cell: func(s Statement) string { return s.PayableOn }},
		{Header: "billing.paid_state", Cell: func(s Statement) string {
			if s.PaidAt != nil {
				return v.T("billing.paid") + " · " + s.PayoutRef
			}
			return v.T("billing.unpaid")
		}},
	}
}

type statementsPage struct {
	List     web.List
	SeesAll  bool   // finance: a merchant to choose
	Merchant string // the owner's own merchant
	Cycles   []web.Option
}

func (pg consolePages) statements(c *gin.Context, v *web.View) error {
	f := StatementFilter{Paid: c.Query("paid"), Limit: 50}
	f.Before, _ = uuid.Parse(c.Query("cursor"))
	if m := strings.TrimSpace(c.Query("merchant")); m != "" {
		id, err := uuid.Parse(m)
		if err != nil {
			return errs.E(errs.KindInvalid, CodeInvalidFilter, "the merchant is its id").WithField("merchant")
		}
		f.Merchant = id
	}
	rows, err := pg.svc.ListStatements(c.Request.Context(), v.Me, f)
	if err != nil {
		return err
	}
	next := ""
	if len(rows) == f.Limit {
		next = rows[len(rows)-1].ID.String()
	}
	p := statementsPage{SeesAll: seesAll(v, identity.PermSettlementRead)}
	for _, cy := range []string{CycleT1, CycleT7, CycleMonthly} {
		p.Cycles = append(p.Cycles, web.Option{Value: cy, Label: cycleLabel(v, cy)})
	}
	var paid []web.Option
	for _, s := range []string{"paid", "unpaid"} {
		paid = append(paid, web.Option{Value: s, Label: v.T("billing." + s), Selected: s == f.Paid})
	}
	filters := []web.Filter{{Name: "paid", Label: "billing.paid_state", Type: "select", Value: f.Paid, Options: paid}}
	if p.SeesAll {
		filters = append(filters, web.Filter{Name: "merchant", Label: "billing.merchant", Type: "text", Value: c.Query("merchant")})
	} else if ids := v.Me.Scope(identity.PermSettlementRead).MerchantIDs(); len(ids) > 0 {
		p.Merchant = ids[0].String()
	}
	names := merchantNames{}
	names.add(c.Request.Context(), pg.svc, ids(rows, statementMerchant)...)
	p.List = web.NewList("billing-statements", statementColumns(v, names), rows, filters, c.Request.URL, next, false)
	return pg.w.Show(c, v, "billing/statements", "billing.statements_title", p)
}

type statementPage struct {
	Statement Statement
	Lines     []StatementLine
	Figures   []figureRow
	CanWork   bool // finance: issue, adjust, pay
	Open      bool // its period has not ended: it cannot be issued yet
	CSV, XLSX string
	// MerchantName is "" when the merchant domain does not name it.
	MerchantName string
}

type figureRow struct {
	ID, Label, Value string
}

// statementOfQuery reads the merchant (an owner's own when not given), cycle and period.
func (pg consolePages) statementOfQuery(c *gin.Context, v *web.View, get func(string) string) (Statement, error) {
	merchant := uuid.Nil
	if m := strings.TrimSpace(get("merchant")); m != "" {
		id, err := uuid.Parse(m)
		if err != nil {
			return Statement{}, errs.Invalidf("merchant", "the merchant is its id")
		}
		merchant = id
	} else if v.Me != nil {
		if ids := v.Me.Scope(identity.PermSettlementRead).MerchantIDs(); len(ids) > 0 {
			merchant = ids[0]
		}
	}
	if merchant == uuid.Nil {
		return Statement{}, errs.Invalidf("merchant", "name the merchant")
	}
	return pg.svc.MerchantStatement(c.Request.Context(), v.Me, merchant, get("cycle"), strings.TrimSpace(get("period")))
}

func (pg consolePages) statement(c *gin.Context, v *web.View) error {
	get := c.Query
	if c.Request.Method == "POST" {
		get = c.PostForm
	}
	st, err := pg.statementOfQuery(c, v, get)
	if errs.KindOf(err) == errs.KindInvalid && c.Request.Method == http.MethodGet {
		return pg.w.Rerender(c, v, err, pg.statements) // the form again, saying what to type
	}
	if err != nil {
		return err
	}
	lines, err := pg.svc.StatementLines(c.Request.Context(), v.Me, st)
	if err != nil {
		return err
	}
	names := merchantNames{}
	names.add(c.Request.Context(), pg.svc, st.MerchantID)
	switch c.Query("format") {
	case "csv":
		return pg.w.CSV(c, "statement-"+st.Period+".csv", func() error {
			return web.WriteCSV(c.Writer, lineColumns(v), func(k string) string { return v.T(k) }, func(fn func(StatementLine) error) error {
				for _, l := range lines {
					if err := fn(l); err != nil {
						return err
					}
				}
				return nil
			})
		})
	case "xlsx":
		return writeStatementXLSX(c, v, st, names[st.MerchantID], lines)
	}
	base := statementURL(st.MerchantID, st.Cycle, st.Period)
	_, to, _, _ := period(st.Cycle, st.Period)
	p := statementPage{Statement: st, Lines: lines, CanWork: seesAll(v, identity.PermSettlementRead),
		Open: pg.svc.now().Before(to), CSV: base + "&format=csv", XLSX: base + "&format=xlsx", MerchantName: names[st.MerchantID]}
	p.Figures = []figureRow{
		{"st-gross", "billing.gross", web.Yuan(st.GrossFen)},
		{"st-refunds", "billing.refunds", "−" + web.Yuan(st.RefundsFen)},
		{"st-commission", "billing.commission", "−" + web.Yuan(st.CommissionFen)},
		{"st-fees", "billing.fees", "−" + web.Yuan(st.FeesFen)},
		{"st-adjustments", "billing.adjustments", signed(st.AdjustmentFen)},
		{"st-net", "billing.net", web.Yuan(st.NetFen)},
	}
	return pg.w.Show(c, v, "billing/statement", "billing.statement_title", p)
}

// signed writes an amount with its sign, as the merchant sees an adjustment.
func signed(fen int64) string {
	if fen > 0 {
		return "+" + web.Yuan(fen)
	}
	return web.Yuan(fen)
}

// lineColumns are a statement's entries, for the page's table and the exports.
func lineColumns(v *web.View) []web.Column[StatementLine] {
	return []web.Column[StatementLine]{
		{Header: "billing.line_at", Cell: func(l StatementLine) string { return v.Time(l.At) }},
		{Header: "billing.line_kind", Cell: func(l StatementLine) string { return v.T("billing.kind_" + l.Kind) }},
		{Header: "billing.order_no", Cell: func(l StatementLine) string { return l.OrderNo }},
		{Header: "billing.gross", Cell: func(l StatementLine) string { return web.Yuan(l.GrossFen) }},
		{Header: "billing.commission", Cell: func(l StatementLine) string { return web.Yuan(l.CommissionFen) }},
		{Header: "billing.fees", Cell: func(l StatementLine) string { return web.Yuan(l.FeeFen) }},
		{Header: "billing.adjustments", Cell: func(l StatementLine) string { return signed(l.AdjustmentFen) }},
		{Header: "billing.net", Cell: func(l StatementLine) string { return web.Yuan(l.NetFen) }},
		{Header: "billing.reason", Cell: func(l StatementLine) string { return l.Reason }},
		{Header: "billing.entry", Cell: func(l StatementLine) string { return l.EntryID.String() }},
	}
}

// workStatement is every form of the statement's page: action names which.
func (pg consolePages) workStatement(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	st, err := pg.statementOfQuery(c, v, c.PostForm)
	if err != nil {
		return err
	}
	var flash string
	switch c.PostForm("action") {
	case "issue":
		flash = "billing.issued_flash"
		_, err = pg.svc.IssueStatement(ctx, v.Me, st.MerchantID, st.Cycle, st.Period)
	case "paid":
		flash = "billing.paid_flash"
		_, err = pg.svc.MarkStatementPaid(ctx, v.Me, st.ID, c.PostForm("reference"))
	case "adjust":
		flash = "billing.adjusted_flash"
		fen, perr := money.ParseYuan(strings.TrimPrefix(strings.TrimSpace(c.PostForm("amount")), "+"))
		if perr != nil {
			err = errs.Invalidf("amount", "a credit like 12.50 or a charge like -12.50")
			break
		}
		corrects, _ := uuid.Parse(c.PostForm("corrects"))
		_, err = pg.svc.Adjust(ctx, v.Me, st.MerchantID, NewAdjustment{AmountFen: fen.Fen(), Reason: c.PostForm("reason"), Corrects: corrects})
	default:
		err = errs.Invalidf("action", "issue, paid or adjust")
	}
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.statement)
	}
	return pg.w.Redirect(c, statementURL(st.MerchantID, st.Cycle, st.Period), flash)
}
