package billing

import (
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/web"
)

// The orders and refunds pages: search, an order's page with its refunds, ledger
// postings, notifications and webhook calls, and the refund form.

func orderMerchant(o Order) uuid.UUID      { return o.MerchantID }
func refundMerchant(r RefundRow) uuid.UUID { return r.MerchantID }

func orderColumns(v *web.View, names merchantNames) []web.Column[Order] {
	return []web.Column[Order]{
		{Header: "billing.order_no", Cell: func(o Order) string { return o.OrderNo }, Link: func(o Order) string { return "/billing/orders/" + o.ID.String() }},
		{Header: "billing.state", Cell: func(o Order) string { return v.T("billing.state_" + string(o.State)) }},
		{Header: "billing.amount", Cell: func(o Order) string { return web.Yuan(o.Amount.Fen()) }},
		{Header: "billing.refunded", Cell: func(o Order) string { return web.Yuan(o.Refunded.Fen()) }},
		merchantColumn(names, orderMerchant),
		{Header: "billing.description", Cell: func(o Order) string { return o.Description }},
		{Header: "billing.created_at", Cell: func(o Order) string { return v.Time(o.CreatedAt) }},
		{Header: "billing.paid_at", Cell: func(o Order) string { return v.Time(o.PaidAt) }},
	}
}

type listPage struct{ List web.List }

func (pg consolePages) orders(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	f := OrderFilter{OrderNo: strings.TrimSpace(c.Query("order_no")), State: State(c.Query("state")), Limit: 50}
	if m := strings.TrimSpace(c.Query("merchant")); m != "" {
		id, err := uuid.Parse(m)
		if err != nil {
			return errs.E(errs.KindInvalid, CodeInvalidFilter, "the merchant is its id").WithField("merchant")
		}
		f.Merchant = id
	}
	f.Before, _ = uuid.Parse(c.Query("cursor"))
	names := merchantNames{}
	cols := orderColumns(v, names)
	if c.Query("format") == "csv" {
		cols = append(cols, merchantIDColumn(orderMerchant))
		f.Before, f.Limit = uuid.Nil, 1
		if _, err := pg.svc.SearchOrders(ctx, v.Me, f); err != nil {
			return err // refused before the download starts, as a page
		}
		f.Limit = 1000
		return pg.w.CSV(c, "orders.csv", func() error {
			return web.WriteCSV(c.Writer, cols, func(k string) string { return v.T(k) }, func(fn func(Order) error) error {
				for {
					page, err := pg.svc.SearchOrders(ctx, v.Me, f)
					if err != nil {
						return err
					}
					names.add(ctx, pg.svc, ids(page, orderMerchant)...)
					for _, o := range page {
						if err := fn(o); err != nil {
							return err
						}
					}
					if len(page) < f.Limit {
						return nil
					}
					f.Before = page[len(page)-1].ID
				}
			})
		})
	}
	page, err := pg.svc.SearchOrders(ctx, v.Me, f)
	if err != nil {
		return err
	}
	names.add(ctx, pg.svc, ids(page, orderMerchant)...)
	next := ""
	if len(page) == f.Limit {
		next = page[len(page)-1].ID.String()
	}
	var states []web.Option
	for _, s := range States {
		states = append(states, web.Option{Value: string(s), Label: v.T("billing.state_" + string(s)), Selected: s == f.State})
	}
	filters := []web.Filter{
		{Name: "order_no", Label: "billing.order_no", Type: "text", Value: f.OrderNo},
		{Name: "state", Label: "billing.state", Type: "select", Value: string(f.State), Options: states},
	}
	if seesAll(v, identity.PermOrderRead) {
		filters = append(filters, web.Filter{Name: "merchant", Label: "billing.merchant", Type: "text", Value: c.Query("merchant")})
	}
	list := web.NewList("billing-orders", cols, page, filters, c.Request.URL, next, true)
	return pg.w.Show(c, v, "billing/orders", "billing.orders_title", listPage{List: list})
}

type orderPage struct {
	Order         Order
	Refunds       []Refund
	Postings      []OrderPosting
	Notifications []NotificationRecord
	Deliveries    []Delivery
	CanRefund     bool
	Left          string // what is left to refund, yuan
	// Key is the refund form's idempotency key: a double submit is one refund.
	Key          string
	MerchantName string // "" when the merchant domain does not name it
}

func (pg consolePages) order(c *gin.Context, v *web.View) error {
	ctx := c.Request.Context()
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(objOrder)
	}
	o, err := pg.svc.GetOrder(ctx, v.Me, id)
	if err != nil {
		return err
	}
	names := merchantNames{}
	names.add(ctx, pg.svc, o.MerchantID)
	p := orderPage{Order: o, Key: uuid.NewString(), MerchantName: names[o.MerchantID]}
	if p.Refunds, err = pg.svc.ListRefunds(ctx, v.Me, id); err != nil {
		return err
	}
	if p.Postings, err = pg.svc.orderLedger(ctx, id); err != nil {
		return err
	}
	if p.Notifications, err = pg.svc.OrderNotifications(ctx, v.Me, id); err != nil {
		return err
	}
	if p.Deliveries, err = pg.svc.deliveries(ctx, id); err != nil {
		return err
	}
	left := o.Amount.Fen()
	for _, r := range p.Refunds {
		if r.State != RefundRejected && r.State != RefundClosed {
			left -= r.Amount.Fen()
		}
	}
	p.Left = web.Yuan(left)
	p.CanRefund = v.Can("billing.refund.create") && (o.State == StatePaid || o.State == StatePartiallyRefunded) && left > 0
	return pg.w.Show(c, v, "billing/order", "billing.order_title", p)
}

// refundOrder is the order page's refund form. The form's hidden key makes a double
// submit one refund.
func (pg consolePages) refundOrder(c *gin.Context, v *web.View) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return errs.NotFound(objOrder)
	}
	in, err := refundForm(c)
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.order)
	}
	r, err := pg.svc.CreateRefund(c.Request.Context(), v.Me, id, in)
	if err != nil {
		return pg.w.Rerender(c, v, err, pg.order)
	}
	flash := "billing.refund_sent_flash"
	if r.State == RefundPendingApproval {
		flash = "billing.refund_approval_flash"
	}
	return pg.w.Redirect(c, "/billing/orders/"+id.String(), flash)
}

func refundColumns(v *web.View, names merchantNames) []web.Column[RefundRow] {
	return []web.Column[RefundRow]{
		{Header: "billing.out_refund_no", Cell: func(r RefundRow) string { return r.OutRefundNo }},
		{Header: "billing.order_no", Cell: func(r RefundRow) string { return r.OrderNo }, Link: func(r RefundRow) string { return "/billing/orders/" + r.OrderID.String() }},
		{Header: "billing.refund_state", Cell: func(r RefundRow) string { return v.T("billing.refund_" + r.State) }},
		{Header: "billing.amount", Cell: func(r RefundRow) string { return web.Yuan(r.Amount.Fen()) }},
		{Header: "billing.reason", Cell: func(r RefundRow) string { return r.Reason }},
		merchantColumn(names, refundMerchant),
		{Header: "billing.created_at", Cell: func(r RefundRow) string { return v.Time(r.CreatedAt) }},
		{Header: "billing.succeeded_at", Cell: func(r RefundRow) string { return v.Time(r.SucceededAt) }},
		{Header: "billing.last_error", Cell: func(r RefundRow) string { return r.LastError }},
	}
}

func (pg consolePages) refunds(c *gin.Context, v *web.View) error {
	state := c.Query("state")
	before, _ := uuid.Parse(c.Query("cursor"))
	const limit = 50
	rows, err := pg.svc.SearchRefunds(c.Request.Context(), v.Me, state, before, limit)
	if err != nil {
		return err
	}
	next := ""
	if len(rows) == limit {
		next = rows[len(rows)-1].ID.String()
	}
	var states []web.Option
	for _, s := range RefundStates {
		states = append(states, web.Option{Value: s, Label: v.T("billing.refund_" + s), Selected: s == state})
	}
	filters := []web.Filter{{Name: "state", Label: "billing.refund_state", Type: "select", Value: state, Options: states}}
	names := merchantNames{}
	names.add(c.Request.Context(), pg.svc, ids(rows, refundMerchant)...)
	list := web.NewList("billing-refunds", refundColumns(v, names), rows, filters, c.Request.URL, next, false)
	return pg.w.Show(c, v, "billing/refunds", "billing.refunds_title", listPage{List: list})
}

// refundForm reads the refund form: the lines ticked ("line"), each with its amount
// in yuan ("line_amount_N", empty for the whole line), and the total ("amount",
// optional once lines are ticked).
func refundForm(c *gin.Context) (RefundRequest, error) {
	in := RefundRequest{Reason: c.PostForm("reason"), Key: c.PostForm("key")}
	for _, v := range c.PostFormArray("line") {
		no, err := strconv.Atoi(v)
		if err != nil {
			return in, errs.Invalidf("line", "a line number")
		}
		l := RefundLineRequest{LineNo: no}
		field := "line_amount_" + strconv.Itoa(no)
		if s := strings.TrimSpace(c.PostForm(field)); s != "" {
			if l.Amount, err = money.ParseYuan(s); err != nil || l.Amount.Sign() <= 0 {
				return in, errs.Invalidf(field, "an amount in yuan, like 12.50")
			}
		}
		in.Lines = append(in.Lines, l)
	}
	if s := strings.TrimSpace(c.PostForm("amount")); s != "" || len(in.Lines) == 0 {
		amount, err := money.ParseYuan(s)
		if err != nil {
			return in, errs.Invalidf("amount", "an amount in yuan, like 12.50")
		}
		in.Amount = amount
	}
	return in, nil
}
