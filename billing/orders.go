package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// Order is a consumer's order at a merchant.
type Order struct {
	ID             uuid.UUID   `json:"id"`
	OrderNo        string      `json:"order_no"` // the out_trade_no
	ConsumerID     uuid.UUID   `json:"consumer_id"`
	MerchantID     uuid.UUID   `json:"merchant_id"`
	Description    string      `json:"description"`
	Amount         money.Money `json:"amount"` // what the consumer pays: before discounts less Discount
	Discount       money.Money `json:"discount"`
	CouponIDs      []uuid.UUID `json:"coupon_ids"`
	Lines          []OrderLine `json:"lines,omitempty"`
	Refunded       money.Money `json:"refunded"`
	CommissionRate string      `json:"commission_rate"` // "6.5%"
	State          State       `json:"state"`
	MchID          string      `json:"mchid"`
	AppID          string      `json:"appid"`
	CreatedAt      time.Time   `json:"created_at"`
	PaidAt         *time.Time  `json:"paid_at,omitempty"`
	ClosedAt       *time.Time  `json:"closed_at,omitempty"`
	FulfilledAt    *time.Time  `json:"fulfilled_at,omitempty"`

	rate money.Rate
}

func orderOf(o billingdb.BillingOrder) (Order, error) {
	cur := money.Currency(o.Currency)
	amount, err := money.New(o.AmountFen, cur)
	if err != nil {
		return Order{}, err
	}
	refunded, err := money.New(o.RefundedFen, cur)
	if err != nil {
		return Order{}, err
	}
	discount, err := money.New(o.DiscountFen, cur)
	if err != nil {
		return Order{}, err
	}
	rate, err := rateOf(o.CommissionRate)
	if err != nil {
		return Order{}, err
	}
	return Order{ID: o.ID, OrderNo: o.OrderNo, ConsumerID: o.ConsumerID, MerchantID: o.MerchantID,
		Description: o.Description, Amount: amount, Discount: discount, CouponIDs: o.CouponIds, Refunded: refunded, CommissionRate: rate.String(),
		State: State(o.State), MchID: o.Mchid, AppID: o.Appid, CreatedAt: o.CreatedAt, PaidAt: o.PaidAt,
		ClosedAt: o.ClosedAt, FulfilledAt: o.FulfilledAt, rate: rate}, nil
}

func rateOf(n pgtype.Numeric) (money.Rate, error) {
	if !n.Valid || n.Int == nil {
		return money.Rate{}, fmt.Errorf("billing: commission rate is null")
	}
	return money.NewRate(decimal.NewFromBigInt(n.Int, n.Exp))
}

func numericOf(r money.Rate) pgtype.Numeric {
	d := r.Decimal()
	return pgtype.Numeric{Int: d.Coefficient(), Exp: d.Exponent(), Valid: true}
}

// NewOrder is what a consumer orders: an amount, or lines that add up to it.
type NewOrder struct {
	MerchantID  uuid.UUID
	Description string
	Amount      money.Money // the sum of Lines when there are lines and it is zero
	Lines       []NewLine
}

// Validate checks the fields.
func (n NewOrder) Validate() error {
	if err := n.validateLines(); err != nil {
		return err
	}
	switch {
	case n.MerchantID == uuid.Nil:
		return errs.Invalidf("merchant_id", "name the merchant")
	case strings.TrimSpace(n.Description) == "" || len([]rune(n.Description)) > 127:
		return errs.Invalidf("description", "a description of 1 to 127 characters")
	case n.Amount.Sign() <= 0:
		return errs.Invalidf("amount", "the amount is more than zero")
	case n.Amount.Fen() > money.MaxPaymentFen:
		return errs.Invalidf("amount", "WeChat Pay takes at most %s yuan in one payment", money.MustNew(money.MaxPaymentFen, money.CNY))
	case n.Amount.Currency() != money.CNY:
		return errs.Invalidf("amount", "WeChat Pay takes CNY")
	}
	return nil
}

// PlaceOrder creates an order of the consumer (consumerID is the authenticated
// consumer) at a live merchant, at the commission rate its contract has now.
func (s *Service) PlaceOrder(ctx context.Context, consumerID uuid.UUID, in NewOrder) (Order, error) {
	in = in.withLineTotal()
	if err := in.Validate(); err != nil {
		return Order{}, err
	}
	if ok, err := s.ports.Members.IsMember(ctx, consumerID); err != nil {
		return Order{}, err
	} else if !ok {
		return Order{}, errs.E(errs.KindUnprocessable, CodeNotMember, "join as a member first")
	}
	terms, err := s.ports.Merchants.Terms(ctx, in.MerchantID)
	if errs.KindOf(err) == errs.KindNotFound {
		return Order{}, errs.E(errs.KindUnprocessable, CodeMerchantNotLive, "the merchant does not take orders")
	} else if err != nil {
		return Order{}, err
	}
	if !terms.Live {
		return Order{}, errs.E(errs.KindUnprocessable, CodeMerchantNotLive, "the merchant does not take orders yet")
	}
	if terms.WechatMchID != "" && terms.WechatMchID != s.pay.MchID() {
		return Order{}, errs.E(errs.KindUnprocessable, CodeMerchantMchID,
			"the merchant is paid through a WeChat Pay account Tandem is not configured for")
	}
	var row billingdb.BillingOrder
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		seq, err := q.NextOrderSeq(ctx)
		if err != nil {
			return err
		}
		now := s.now()
		row = billingdb.BillingOrder{ID: s.newID(), OrderNo: orderNo("TD", now, seq), ConsumerID: consumerID,
			MerchantID: in.MerchantID, Description: strings.TrimSpace(in.Description), AmountFen: in.Amount.Fen(),
			Currency: string(in.Amount.Currency()), CommissionRate: numericOf(terms.CommissionRate),
			State: string(StateCreated), Mchid: s.pay.MchID(), Appid: s.cfg.AppID, CreatedAt: now}
		if err := q.InsertOrder(ctx, billingdb.InsertOrderParams{ID: row.ID, OrderNo: row.OrderNo, ConsumerID: row.ConsumerID,
			MerchantID: row.MerchantID, Description: row.Description, AmountFen: row.AmountFen, Currency: row.Currency,
			CommissionRate: row.CommissionRate, Mchid: row.Mchid, Appid: row.Appid, CreatedAt: now}); err != nil {
			return err
		}
		return insertLines(ctx, q, row, in.Lines)
	})
	if err != nil {
		return Order{}, wrap("place order", err)
	}
	return orderOf(row)
}

// orderNo is a human-facing number: prefix, the Shanghai date, a sequence.
func orderNo(prefix string, at time.Time, seq int64) string {
	return fmt.Sprintf("%s%s%08d", prefix, at.In(shanghai).Format("20060102"), seq)
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// PayKind is how a consumer pays: in the mini-program (JSAPI) or by scanning a
// code (Native).
type PayKind string

const (
	PayJSAPI  PayKind = "jsapi"
	PayNative PayKind = "native"
)

// Prepay is what the payer needs: the JSAPI parameters for wx.requestPayment, or
// the Native code URL; or Paid, when coupons left nothing to pay (no WeChat Pay
// transaction: the order is paid at once).
type Prepay struct {
	OrderNo string              `json:"order_no"`
	Paid    bool                `json:"paid,omitempty"`
	JSAPI   *wxpay.JSAPIPayment `json:"jsapi,omitempty"`
	CodeURL string              `json:"code_url,omitempty"`
}

// Prepay creates the WeChat Pay prepay of the consumer's order, for the amount left
// after its coupons (read under the order's lock: coupons are applied only before
// the first prepay). The order moves to paying first, so a payment notification
// never finds it still created; a prepay may be asked again (WeChat answers the same
// out_trade_no idempotently). An order its coupons left nothing to pay is paid at
// once, with no WeChat Pay transaction (payZero).
func (s *Service) Prepay(ctx context.Context, consumerID, orderID uuid.UUID, kind PayKind) (Prepay, error) {
	if kind != PayJSAPI && kind != PayNative {
		return Prepay{}, errs.Invalidf("kind", "jsapi or native")
	}
	o, err := s.MyOrder(ctx, consumerID, orderID)
	if err != nil {
		return Prepay{}, err
	}
	var openid string
	if kind == PayJSAPI {
		if openid, err = s.ports.Members.OpenID(ctx, consumerID, o.AppID); err != nil {
			return Prepay{}, err
		} else if openid == "" {
			return Prepay{}, errs.E(errs.KindUnprocessable, CodeNoOpenID, "the consumer has no openid in this app")
		}
	}
	var total int64
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		row, err := q.LockOrder(ctx, orderID)
		if err != nil {
			return err
		}
		total = row.AmountFen
		switch st := State(row.State); {
		case st == StatePaying:
			return nil
		case st == StateCreated && total == 0:
			return s.payZero(ctx, tx, q, row)
		case st == StateCreated:
			return s.move(ctx, q, row, StatePaying, "prepay", moveOpts{})
		case st.Paid() && total == 0:
			return nil // paid by its coupons already
		}
		return errs.E(errs.KindConflict, CodeOrderNotPayable, "the order is "+row.State)
	})
	if err != nil {
		return Prepay{}, wrap("prepay", err)
	}
	out := Prepay{OrderNo: o.OrderNo}
	if total == 0 {
		out.Paid = true
		return out, nil
	}
	wo := wxpay.Order{AppID: o.AppID, Description: o.Description, OutTradeNo: o.OrderNo,
		NotifyURL: s.cfg.NotifyBaseURL + NotifyPaymentPath, Total: total}
	if kind == PayJSAPI {
		out.JSAPI, err = s.pay.PrepayJSAPI(ctx, wo, openid)
	} else {
		out.CodeURL, err = s.pay.PrepayNative(ctx, wo)
	}
	if err != nil {
		return Prepay{}, fmt.Errorf("billing: prepay %s: %w", o.OrderNo, err)
	}
	return out, nil
}

type moveOpts struct {
	paidAt, closedAt *time.Time
	refundedAdd      int64
}

// move is the one way an order changes state: legal transitions only, guarded by
// the state read under the row lock, each recorded in order_transitions.
func (s *Service) move(ctx context.Context, q *billingdb.Queries, o billingdb.BillingOrder, to State, cause string, m moveOpts) error {
	from := State(o.State)
	if !CanMove(from, to) {
		return illegal(from, to)
	}
	n, err := q.SetOrderState(ctx, billingdb.SetOrderStateParams{ToState: string(to), PaidAt: m.paidAt, ClosedAt: m.closedAt,
		RefundedAdd: m.refundedAdd, ID: o.ID, FromState: string(from)})
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("billing: order %s left state %s under its lock", o.OrderNo, from)
	}
	return q.InsertTransition(ctx, billingdb.InsertTransitionParams{ID: s.newID(), OrderID: o.ID,
		FromState: string(from), ToState: string(to), Cause: cause, At: s.now()})
}

// MyOrder is one of the consumer's own orders; another's is not found.
func (s *Service) MyOrder(ctx context.Context, consumerID, orderID uuid.UUID) (Order, error) {
	row, err := s.getOrder(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if row.ConsumerID != consumerID {
		return Order{}, errs.NotFound(objOrder)
	}
	return s.withLines(ctx, row)
}

// MyOrders pages through the consumer's own orders, newest first.
func (s *Service) MyOrders(ctx context.Context, consumerID, before uuid.UUID, limit int) ([]Order, error) {
	return s.listOrders(ctx, billingdb.ListOrdersParams{ScopeMerchantIds: []uuid.UUID{},
		ConsumerIds: []uuid.UUID{consumerID}, Before: before, Lim: pg.PageLimit(limit)})
}

// GetOrder is an order for the staff caller (billing.order.read: finance every
// order, a merchant's users their merchant's); out of scope is not found.
func (s *Service) GetOrder(ctx context.Context, caller *identity.Principal, orderID uuid.UUID) (Order, error) {
	sc, err := staffScope(caller, identity.PermOrderRead)
	if err != nil {
		return Order{}, err
	}
	row, err := s.getOrder(ctx, orderID)
	if err != nil {
		return Order{}, err
	}
	if !sc.Allows(identity.Row{Merchant: row.MerchantID}) {
		return Order{}, errs.NotFound(objOrder)
	}
	return s.withLines(ctx, row)
}

// ListOrders pages through the orders in the staff caller's scope, newest first.
func (s *Service) ListOrders(ctx context.Context, caller *identity.Principal, before uuid.UUID, limit int) ([]Order, error) {
	sc, err := staffScope(caller, identity.PermOrderRead)
	if err != nil {
		return nil, err
	}
	return s.listOrders(ctx, billingdb.ListOrdersParams{ScopeAll: sc.SeesAll(), ScopeMerchantIds: sc.MerchantIDs(),
		ConsumerIds: []uuid.UUID{}, Before: before, Lim: pg.PageLimit(limit)})
}

func (s *Service) listOrders(ctx context.Context, p billingdb.ListOrdersParams) ([]Order, error) {
	rows, err := billingdb.New(s.db).ListOrders(ctx, p)
	if err != nil {
		return nil, wrap("list orders", err)
	}
	out := make([]Order, len(rows))
	for i, r := range rows {
		if out[i], err = orderOf(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Service) getOrder(ctx context.Context, id uuid.UUID) (billingdb.BillingOrder, error) {
	row, err := billingdb.New(s.db).GetOrder(ctx, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return row, errs.NotFound(objOrder)
	}
	return row, wrap("get order", err)
}

func staffScope(p *identity.Principal, perm identity.Permission) (identity.Scope, error) {
	if p == nil {
		return identity.Scope{}, identity.ErrUnauthenticated
	}
	return p.Require(perm)
}

// Close closes the consumer's unpaid order (created or paying); a paying order is
// closed at WeChat first, so that it cannot be paid after. An order WeChat says was
// paid meanwhile is not closed: the payment is applied and the order returned paid.
func (s *Service) Close(ctx context.Context, consumerID, orderID uuid.UUID) (Order, error) {
	o, err := s.MyOrder(ctx, consumerID, orderID)
	if err != nil {
		return Order{}, err
	}
	switch o.State {
	case StateClosed, StateCreated, StatePaying:
	default:
		return Order{}, errs.E(errs.KindConflict, CodeOrderNotPayable, "the order is "+string(o.State))
	}
	if err := s.closeUnpaid(ctx, o.ID, o.OrderNo, o.State, "close"); err != nil {
		return Order{}, err
	}
	return s.MyOrder(ctx, consumerID, orderID)
}
