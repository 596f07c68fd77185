package billing

import (
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
)

// HTTPConfig is what the routes need from the platform.
type HTTPConfig struct {
	// RequireAPI admits staff and merchant callers (identity's RequireAPI). Required.
	RequireAPI gin.HandlerFunc
	// Idempotency guards the POSTs that move money. Required.
	Idempotency *httpx.Idempotency
}

// HTTP is billing's API.
type HTTP struct {
	svc *Service
	cfg HTTPConfig
}

// NewHTTP returns the routes over svc.
func NewHTTP(svc *Service, cfg HTTPConfig) *HTTP { return &HTTP{svc: svc, cfg: cfg} }

// Mount adds the routes under api (/api/v1). The notify endpoints take no
// authentication: WeChat's signature, verified by wxpay, is theirs.
func (h *HTTP) Mount(api gin.IRouter) {
	b := api.Group("/billing")
	b.POST("/wxpay/notify/payment", gin.WrapH(h.svc.pay.NotifyHandler(h.svc.HandlePaymentNotification)))
	b.POST("/wxpay/notify/refund", gin.WrapH(h.svc.pay.NotifyHandler(h.svc.HandleRefundNotification)))

	staff := b.Group("", h.cfg.RequireAPI)
	staff.GET("/orders", identity.Require(identity.PermOrderRead), httpx.Handler(h.listOrders))
	staff.GET("/orders/:id", identity.Require(identity.PermOrderRead), httpx.Handler(h.getOrder))
	staff.POST("/orders/:id/refunds", identity.Require(identity.PermRefundCreate), h.cfg.Idempotency.Middleware(),
		httpx.Handler(h.postRefund))

	// The signed-in consumer's own orders. No Idempotency-Key: placing an order moves
	// no money, and a prepay is idempotent on the order's out_trade_no.
	me := b.Group("/me", identity.RequireConsumer())
	me.POST("/orders", httpx.Handler(h.postOrder))
	me.GET("/orders", httpx.Handler(h.myOrders))
	me.GET("/orders/:id", httpx.Handler(h.myOrder))
	me.POST("/orders/:id/prepay", httpx.Handler(h.postPrepay))
	me.POST("/orders/:id/close", httpx.Handler(h.postClose))
}

func (h *HTTP) listOrders(c *gin.Context) error {
	before, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	os, err := h.svc.ListOrders(c.Request.Context(), before, limit)
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

func (h *HTTP) getOrder(c *gin.Context) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	ctx := c.Request.Context()
	o, err := h.svc.GetOrder(ctx, id)
	if err != nil {
		return err
	}
	d := OrderDetail{Order: o}
	if d.Refunds, err = h.svc.ListRefunds(ctx, id); err != nil {
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
	Amount string `json:"amount" money:"yuan" maxlen:"20"` // "12.50"; the binder parses and bounds it
	Reason string `json:"reason" maxlen:"80"`              // WeChat Pay's reason is at most 80 characters
}

func (h *HTTP) postRefund(c *gin.Context) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	var in refundBody
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	amount, _ := money.ParseYuan(in.Amount)
	r, err := h.svc.CreateRefund(c.Request.Context(), id, RefundRequest{Amount: amount, Reason: in.Reason,
		Key: c.GetHeader(httpx.IdempotencyHeader)})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, r)
	return nil
}

type orderBody struct {
	MerchantID  uuid.UUID `json:"merchant_id"`
	Description string    `json:"description" maxlen:"127"`        // WeChat Pay's description is at most 127 characters
	Amount      string    `json:"amount" money:"yuan" maxlen:"20"` // "12.50"; the binder parses and bounds it
}

func (h *HTTP) postOrder(c *gin.Context) error {
	var in orderBody
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	amount, _ := money.ParseYuan(in.Amount)
	o, err := h.svc.PlaceOrder(c.Request.Context(), identity.ConsumerOf(c), NewOrder{MerchantID: in.MerchantID,
		Description: in.Description, Amount: amount})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, o)
	return nil
}

func (h *HTTP) myOrders(c *gin.Context) error {
	before, limit, err := httpx.Cursor(c)
	if err != nil {
		return err
	}
	os, err := h.svc.MyOrders(c.Request.Context(), identity.ConsumerOf(c), before, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, httpx.PageOf(os, httpx.NextAfter(os, limit, func(o Order) uuid.UUID { return o.ID })))
	return nil
}

func (h *HTTP) myOrder(c *gin.Context) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	o, err := h.svc.MyOrder(c.Request.Context(), identity.ConsumerOf(c), id)
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

func (h *HTTP) postPrepay(c *gin.Context) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	var in prepayBody
	if err := httpx.BindJSON(c, &in); err != nil {
		return err
	}
	p, err := h.svc.Prepay(c.Request.Context(), identity.ConsumerOf(c), id, in.Kind)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

func (h *HTTP) postClose(c *gin.Context) error {
	id, err := httpx.PathID(c, objOrder)
	if err != nil {
		return err
	}
	o, err := h.svc.Close(c.Request.Context(), identity.ConsumerOf(c), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}
