package billing

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
)

// api is billing's API.
type api struct{ svc *Service }

// mountAPI adds the routes under /api/v1/billing. The notify endpoints take no
// credentials: WeChat's signature, verified by wxpay, is theirs.
func (s *Service) mountAPI(rt domain.Routers) {
	h := api{svc: s}
	pub := rt.Public.Group("/billing")
	pub.POST("/wxpay/notify/payment", gin.WrapH(s.pay.NotifyHandler(s.HandlePaymentNotification)))
	pub.POST("/wxpay/notify/refund", gin.WrapH(s.pay.NotifyHandler(s.HandleRefundNotification)))

	staff := rt.Staff.Group("/billing")
	// The service checks every permission and scope; the guards in front only refuse
	// a caller without the permission before the body is read.
	staff.GET("/orders", identity.Require(identity.PermOrderRead), identity.Handle(h.listOrders))
	staff.GET("/orders/:id", identity.Require(identity.PermOrderRead), identity.Handle(h.getOrder))
	staff.POST("/orders/:id/refunds", identity.Require(identity.PermRefundCreate), rt.Idempotent, identity.Handle(h.postRefund))
	// Settlement: a merchant's statement of a period (finance all, an owner their own),
	// issued and paid by finance.
	staff.GET("/merchants/:id/statements/:period", identity.Require(identity.PermSettlementRead), identity.Handle(h.getStatement))
	staff.POST("/merchants/:id/statements/:period/issue", identity.Require(identity.PermSettlementRead), rt.Idempotent, identity.Handle(h.issueStatement))
	staff.POST("/statements/:id/paid", identity.Require(identity.PermSettlementRead), rt.Idempotent, identity.Handle(h.paidStatement))
	staff.POST("/exceptions/:id/refund", identity.Require(identity.PermRefundCreate), rt.Idempotent, identity.Handle(h.postExceptionRefund))
	h.mountFinance(rt)

	// The signed-in consumer's own orders. No Idempotency-Key: placing an order moves
	// no money, and a prepay is idempotent on the order's out_trade_no.
	me := rt.Consumer.Group("/billing/me")
	me.POST("/orders", identity.HandleConsumer(h.postOrder))
	me.GET("/orders", identity.HandleConsumer(h.myOrders))
	me.GET("/orders/:id", identity.HandleConsumer(h.myOrder))
	me.POST("/orders/:id/prepay", identity.HandleConsumer(h.postPrepay))
	me.POST("/orders/:id/close", identity.HandleConsumer(h.postClose))
	me.PUT("/orders/:id/coupons", identity.HandleConsumer(h.putCoupons))
}

func (h api) listOrders(c *gin.Context, p *identity.Principal) error {
	before, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	os, err := h.svc.ListOrders(c.Request.Context(), p, before, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(os, httpx.NextAfter(os, limit, func(o Order) uuid.UUID { return o.ID })))
	return nil
}

// OrderDetail is an order with its refunds, ledger postings and webhook deliveries.
type OrderDetail struct {
	Order
	Refunds    []Refund       `json:"refunds"`
	Postings   []OrderPosting `json:"postings"`
	Deliveries []Delivery     `json:"webhook_deliveries"`
}

func (h api) getOrder(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	o, err := h.svc.GetOrder(ctx, p, id)
	if err != nil {
		return err
	}
	d := OrderDetail{Order: o}
	if d.Refunds, err = h.svc.ListRefunds(ctx, p, id); err != nil {
		return err
	}
	if d.Postings, err = h.svc.orderLedger(ctx, id); err != nil {
		return err
	}
	if d.Deliveries, err = h.svc.deliveries(ctx, id); err != nil {
		return err
	}
	c.JSON(http.StatusOK, d)
	return nil
}

type refundBody struct {
	Amount      *string          `json:"amount" money:"yuan" maxlen:"20"` // "12.50"; the binder parses and bounds it; optional with lines
	Reason      string           `json:"reason" maxlen:"80"`              // WeChat Pay's reason is at most 80 characters
	OutRefundNo string           `json:"out_refund_no" maxlen:"64"`       // optional: the caller's number, its idempotency key (WeChat: 64)
	Lines       []refundLineBody `json:"lines"`                           // optional: the lines it gives back (refund_lines.go)
}

type refundLineBody struct {
	LineNo    int    `json:"line_no"`
	AmountFen *int64 `json:"amount_fen"` // left out: all that is left of the line
}

func (b refundBody) request(key string) RefundRequest {
	in := RefundRequest{Reason: b.Reason, Key: key, OutRefundNo: b.OutRefundNo}
	if b.Amount != nil {
		in.Amount, _ = money.ParseYuan(*b.Amount) // checked by the binder
	}
	for _, l := range b.Lines {
		line := RefundLineRequest{LineNo: l.LineNo}
		if l.AmountFen != nil {
			// 0 or less, or beyond a payment, is refused by Validate: keep it out of range.
			fen := min(max(*l.AmountFen, -1), money.MaxPaymentFen+1)
			if fen == 0 {
				fen = -1 // an explicit zero is not "the whole line"
			}
			line.Amount = money.MustNew(fen, money.CNY)
		}
		in.Lines = append(in.Lines, line)
	}
	return in
}

func (h api) postExceptionRefund(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objException)
	if err != nil {
		return err
	}
	r, err := h.svc.RefundSecondPayment(c.Request.Context(), p, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, r)
	return nil
}

func (h api) postRefund(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	var in refundBody
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	r, err := h.svc.CreateRefund(c.Request.Context(), p, id, in.request(c.GetHeader(httpx.IdempotencyHeader)))
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if r.State == RefundPendingApproval {
		status = http.StatusAccepted // waits for an approver
	}
	c.JSON(status, r)
	return nil
}

type orderBody struct {
	MerchantID  uuid.UUID  `json:"merchant_id"`
	Description string     `json:"description" maxlen:"127"`        // WeChat Pay's description is at most 127 characters
	Amount      *string    `json:"amount" money:"yuan" maxlen:"20"` // "12.50"; the binder parses and bounds it; optional with lines
	Lines       []lineBody `json:"lines"`                           // optional: what the order is made of
}

type lineBody struct {
	Description string `json:"description" maxlen:"127"`
	Category    string `json:"category" maxlen:"40"`
	Amount      string `json:"amount" money:"yuan" maxlen:"20"`
}

func (h api) postOrder(c *gin.Context, consumer uuid.UUID) error {
	var in orderBody
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	n := NewOrder{MerchantID: in.MerchantID, Description: in.Description}
	if in.Amount != nil {
		n.Amount, _ = money.ParseYuan(*in.Amount)
	} else if len(in.Lines) == 0 {
		return errs.Invalidf("amount", "give the amount, or the lines")
	}
	for _, l := range in.Lines {
		amount, _ := money.ParseYuan(l.Amount)
		n.Lines = append(n.Lines, NewLine{Description: l.Description, Category: l.Category, Amount: amount})
	}
	o, err := h.svc.PlaceOrder(c.Request.Context(), consumer, n)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, o)
	return nil
}

func (h api) myOrders(c *gin.Context, consumer uuid.UUID) error {
	before, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	os, err := h.svc.MyOrders(c.Request.Context(), consumer, before, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(os, httpx.NextAfter(os, limit, func(o Order) uuid.UUID { return o.ID })))
	return nil
}

func (h api) myOrder(c *gin.Context, consumer uuid.UUID) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	o, err := h.svc.MyOrder(c.Request.Context(), consumer, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}

type prepayBody struct {
	Kind PayKind `json:"kind" maxlen:"16"`
}

func (b prepayBody) Validate() error {
	if b.Kind != PayJSAPI && b.Kind != PayNative {
		return errs.Invalidf("kind", "jsapi or native")
	}
	return nil
}

func (h api) postPrepay(c *gin.Context, consumer uuid.UUID) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	var in prepayBody
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	p, err := h.svc.Prepay(c.Request.Context(), consumer, id, in.Kind)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

type couponsBody struct {
	CouponIDs []uuid.UUID `json:"coupon_ids"` // in the order they apply; [] takes them all off
}

// putCoupons applies coupons to the consumer's order before it is prepaid.
func (h api) putCoupons(c *gin.Context, consumer uuid.UUID) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	var in couponsBody
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	o, err := h.svc.ApplyCoupons(c.Request.Context(), consumer, id, in.CouponIDs)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}

func (h api) postClose(c *gin.Context, consumer uuid.UUID) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	o, err := h.svc.Close(c.Request.Context(), consumer, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}

func (h api) statement(c *gin.Context, p *identity.Principal, issue bool) error {
	id, err := httpx.PathID(c, objStatement)
	if err != nil {
		return err
	}
	do := h.svc.MerchantStatement
	if issue {
		do = h.svc.IssueStatement
	}
	st, err := do(c.Request.Context(), p, id, c.Query("cycle"), c.Param("period"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}

func (h api) getStatement(c *gin.Context, p *identity.Principal) error {
	return h.statement(c, p, false)
}
func (h api) issueStatement(c *gin.Context, p *identity.Principal) error {
	return h.statement(c, p, true)
}

type paidBody struct {
	Reference string `json:"reference"`
}

func (h api) paidStatement(c *gin.Context, p *identity.Principal) error {
	id, err := httpx.PathID(c, objStatement)
	if err != nil {
		return err
	}
	var in paidBody
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	st, err := h.svc.MarkStatementPaid(c.Request.Context(), p, id, in.Reference)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st)
	return nil
}
