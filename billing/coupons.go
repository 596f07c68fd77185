package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// CodeCouponsUnavailable: the service was built without the consumer domain's coupons.
const CodeCouponsUnavailable = "billing.coupons_unavailable"

// Coupons is the consumer domain's coupons as billing sees them; cmd/tandem adapts
// the consumer service. Billing never reads the consumer's tables: it hands over the
// order and keeps what the coupons take off each line.
type Coupons interface {
	// Apply makes couponIDs (in this order) the coupons of the unpaid order, inside
	// tx, and returns what they take off each of o.Lines (in their order). Refused
	// with the reason (an errs error naming "coupon_ids"), the caller rolls tx back
	// and nothing is reserved; an empty couponIDs takes every coupon off.
	Apply(ctx context.Context, tx pgx.Tx, o CouponOrder, couponIDs []uuid.UUID) ([]int64, error)
}

// CouponOrder is an unpaid order as the coupons see it.
type CouponOrder struct {
	OrderID    uuid.UUID
	ConsumerID uuid.UUID
	MerchantID uuid.UUID
	Lines      []CouponLine
}

// CouponLine is one of its lines: what a category coupon covers.
type CouponLine struct {
	Category  string
	AmountFen int64 // before discounts
}

// NewLine is a line of a new order.
type NewLine struct {
	Description string
	Category    string
	Amount      money.Money
}

// OrderLine is a line of an order: its amount before discounts, what the coupons
// took off it, and what was paid for it (what refunding the line gives back).
type OrderLine struct {
	LineNo      int         `json:"line_no"`
	Description string      `json:"description"`
	Category    string      `json:"category,omitempty"`
	Amount      money.Money `json:"amount"`
	Discount    money.Money `json:"discount"`
	Paid        money.Money `json:"paid"`
	// Refunded is what succeeded refunds gave back of the line; Refundable what is
	// left to refund of it (refunds under way reserve their part).
	Refunded   money.Money `json:"refunded"`
	Refundable money.Money `json:"refundable"`
}

const maxLines = 100

func (n NewOrder) validateLines() error {
	if len(n.Lines) > maxLines {
		return errs.Invalidf("lines", "at most %d lines", maxLines)
	}
	var total int64
	for i, l := range n.Lines {
		field := fmt.Sprintf("lines[%d].", i)
		switch {
		case strings.TrimSpace(l.Description) == "" || utf8.RuneCountInString(l.Description) > 127:
			return errs.Invalidf(field+"description", "a description of 1 to 127 characters")
		case utf8.RuneCountInString(l.Category) > 40:
			return errs.Invalidf(field+"category", "a category of at most 40 characters")
		case l.Amount.Sign() <= 0 || l.Amount.Fen() > money.MaxPaymentFen:
			return errs.Invalidf(field+"amount", "a line's amount is more than zero")
		case l.Amount.Currency() != money.CNY:
			return errs.Invalidf(field+"amount", "WeChat Pay takes CNY")
		}
		total += l.Amount.Fen()
	}
	if len(n.Lines) > 0 && total != n.Amount.Fen() {
		return errs.Invalidf("amount", "the amount is the sum of the lines, %s", money.MustNew(min(total, money.MaxPaymentFen), money.CNY))
	}
	return nil
}

// withLineTotal fills in an order's amount from its lines when it gives none.
func (n NewOrder) withLineTotal() NewOrder {
	if len(n.Lines) == 0 || !n.Amount.IsZero() {
		return n
	}
	var total int64
	for _, l := range n.Lines {
		if total += l.Amount.Fen(); total > money.MaxPaymentFen {
			return n // Validate refuses it
		}
	}
	n.Amount = money.MustNew(total, money.CNY)
	return n
}

// insertLines records a new order's lines: an order placed without lines is one line.
func insertLines(ctx context.Context, q *billingdb.Queries, o billingdb.BillingOrder, lines []NewLine) error {
	if len(lines) == 0 {
		lines = []NewLine{{Description: o.Description, Amount: money.MustNew(o.AmountFen, money.CNY)}}
	}
	for i, l := range lines {
		if err := q.InsertOrderLine(ctx, billingdb.InsertOrderLineParams{OrderID: o.ID, LineNo: int32(i + 1),
			Description: strings.TrimSpace(l.Description), Category: strings.TrimSpace(l.Category), AmountFen: l.Amount.Fen()}); err != nil {
			return err
		}
	}
	return nil
}

// withLines is the order with its lines.
func (s *Service) withLines(ctx context.Context, row billingdb.BillingOrder) (Order, error) {
	o, err := orderOf(row)
	if err != nil {
		return Order{}, err
	}
	rows, err := billingdb.New(s.db).OrderLineRefunds(ctx, row.ID)
	if err != nil {
		return Order{}, wrap("order lines", err)
	}
	cur := money.Currency(row.Currency)
	for _, l := range rows {
		paid := l.AmountFen - l.DiscountFen
		o.Lines = append(o.Lines, OrderLine{LineNo: int(l.LineNo), Description: l.Description, Category: l.Category,
			Amount: money.MustNew(l.AmountFen, cur), Discount: money.MustNew(l.DiscountFen, cur), Paid: money.MustNew(paid, cur),
			Refunded: money.MustNew(l.RefundedFen, cur), Refundable: money.MustNew(max(paid-l.ReservedFen, 0), cur)})
	}
	return o, nil
}

const maxCoupons = 5

// ApplyCoupons makes couponIDs (in the order given: stacked coupons each apply to what
// the ones before left) the coupons of the consumer's order, which must not have been
// prepaid yet; an empty list takes them all off. The order's amount becomes what is
// left to pay, and the discount is shared among its lines. The coupons are reserved
// in the same transaction as the order records the discount, so a refusal (below
// the threshold, expired, another member's, not for this shop or category, not
// stackable) changes nothing; they are redeemed when the order is paid and released
// when it is closed or expires (the consumer domain's subscribers).
func (s *Service) ApplyCoupons(ctx context.Context, consumerID, orderID uuid.UUID, couponIDs []uuid.UUID) (Order, error) {
	if s.ports.Coupons == nil {
		return Order{}, errs.E(errs.KindUnprocessable, CodeCouponsUnavailable, "coupons cannot be used here")
	}
	if len(couponIDs) > maxCoupons {
		return Order{}, errs.Invalidf("coupon_ids", "at most %d coupons on an order", maxCoupons)
	}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		row, err := q.LockOrder(ctx, orderID)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && row.ConsumerID != consumerID {
			return errs.NotFound(objOrder)
		} else if err != nil {
			return err
		}
		if State(row.State) != StateCreated {
			return errs.E(errs.KindConflict, CodeOrderNotPayable, "coupons are applied before paying; this order is "+row.State)
		}
		lines, err := q.OrderLines(ctx, row.ID)
		if err == nil && len(lines) == 0 { // placed before orders had lines: one line
			if err = insertLines(ctx, q, row, nil); err == nil {
				lines, err = q.OrderLines(ctx, row.ID)
			}
		}
		if err != nil {
			return err
		}
		co := CouponOrder{OrderID: row.ID, ConsumerID: row.ConsumerID, MerchantID: row.MerchantID}
		for _, l := range lines {
			co.Lines = append(co.Lines, CouponLine{Category: l.Category, AmountFen: l.AmountFen})
		}
		shares, err := s.ports.Coupons.Apply(ctx, tx, co, couponIDs)
		if err != nil {
			return err
		}
		if len(shares) != len(lines) {
			return fmt.Errorf("billing: coupons answered %d shares for %d lines", len(shares), len(lines))
		}
		var discount int64
		for i, l := range lines {
			if err := q.SetLineDiscount(ctx, billingdb.SetLineDiscountParams{OrderID: row.ID, LineNo: l.LineNo, DiscountFen: shares[i]}); err != nil {
				return err
			}
			discount += shares[i]
		}
		if couponIDs == nil {
			couponIDs = []uuid.UUID{}
		}
		n, err := q.SetOrderDiscount(ctx, billingdb.SetOrderDiscountParams{DiscountFen: discount, CouponIds: couponIDs, ID: row.ID})
		if err != nil {
			return err
		} else if n != 1 {
			return fmt.Errorf("billing: order %s left state created under its lock", row.OrderNo)
		}
		return nil
	})
	if err != nil {
		return Order{}, wrap("apply coupons", err)
	}
	return s.MyOrder(ctx, consumerID, orderID)
}

// payZero pays an order its coupons left nothing to pay, under its lock: there is
// no WeChat Pay transaction (so no payment row and no ledger entry: no money moved),
// and the order is paid at once with the same event as any payment, so points,
// coupons and fulfilment follow as for any order.
func (s *Service) payZero(ctx context.Context, tx pgx.Tx, q *billingdb.Queries, row billingdb.BillingOrder) error {
	if err := s.move(ctx, q, row, StatePaying, "prepay", moveOpts{}); err != nil {
		return err
	}
	row.State = string(StatePaying)
	now := s.now()
	if err := s.move(ctx, q, row, StatePaid, "coupon", moveOpts{paidAt: &now}); err != nil {
		return err
	}
	_, err := outbox.Publish(ctx, tx, events.TopicPaymentSucceeded, row.ID.String(), events.PaymentSucceeded{
		OrderID: row.ID, OrderNo: row.OrderNo, ConsumerID: row.ConsumerID, MerchantID: row.MerchantID, AmountFen: 0,
		Currency: row.Currency, PaidAt: now})
	return err
}
