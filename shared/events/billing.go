package events

import (
	"time"

	"github.com/google/uuid"
)

// Billing's topics. The constants carry a Topic prefix because the payload structs
// take the plain names.
const (
	// TopicPaymentSucceeded: an order was paid (WeChat confirmed it, by notification
	// or by query). Key: the order id.
	TopicPaymentSucceeded Topic = "billing.payment_succeeded"
	// TopicRefundSucceeded: a refund of an order went through. Key: the order id.
	TopicRefundSucceeded Topic = "billing.refund_succeeded"
	// TopicOrderClosed: an unpaid order was closed (by its consumer, or by the
	// scheduler once it expired); what it reserved (a coupon) is free again. Key: the
	// order id.
	TopicOrderClosed Topic = "billing.order_closed"
	// TopicPaymentException: billing recorded what WeChat reported and it could not
	// apply (a second payment of an order, a notification that disagrees with our
	// order or refund, an ABNORMAL refund): an item for finance's exceptions queue.
	// Key: the exception id.
	TopicPaymentException Topic = "billing.payment_exception"
)

// PaymentException is the payload of TopicPaymentException.
type PaymentException struct {
	ExceptionID   uuid.UUID `json:"exception_id"`
	Kind          string    `json:"kind"` // billing's exception kind: second_transaction, mismatch, ...
	MchID         string    `json:"mchid"`
	OutTradeNo    string    `json:"out_trade_no"`
	OutRefundNo   string    `json:"out_refund_no"`
	TransactionID string    `json:"transaction_id"` // a second payment's
	AmountFen     int64     `json:"amount_fen"`     // a second payment's amount
	Detail        string    `json:"detail"`
	At            time.Time `json:"at"`
}

// OrderClosed is the payload of TopicOrderClosed.
type OrderClosed struct {
	OrderID    uuid.UUID `json:"order_id"`
	OrderNo    string    `json:"order_no"`
	ConsumerID uuid.UUID `json:"consumer_id"`
	MerchantID uuid.UUID `json:"merchant_id"`
	Cause      string    `json:"cause"` // "close" (the consumer) or "expired"
	ClosedAt   time.Time `json:"closed_at"`
}

// PaymentSucceeded is the payload of TopicPaymentSucceeded.
type PaymentSucceeded struct {
	OrderID       uuid.UUID `json:"order_id"`
	OrderNo       string    `json:"order_no"` // out_trade_no
	ConsumerID    uuid.UUID `json:"consumer_id"`
	MerchantID    uuid.UUID `json:"merchant_id"`
	AmountFen     int64     `json:"amount_fen"`
	Currency      string    `json:"currency"`
	TransactionID string    `json:"transaction_id"`
	PaidAt        time.Time `json:"paid_at"`
}

// RefundSucceeded is the payload of TopicRefundSucceeded. RefundedTotalFen is the
// order's refunded amount including this refund, so that a subscriber can compute
// what the order still earns whatever order the events arrive in.
type RefundSucceeded struct {
	RefundID         uuid.UUID `json:"refund_id"`
	OutRefundNo      string    `json:"out_refund_no"`
	OrderID          uuid.UUID `json:"order_id"`
	OrderNo          string    `json:"order_no"`
	ConsumerID       uuid.UUID `json:"consumer_id"`
	MerchantID       uuid.UUID `json:"merchant_id"`
	OrderAmountFen   int64     `json:"order_amount_fen"`
	RefundFen        int64     `json:"refund_fen"`
	RefundedTotalFen int64     `json:"refunded_total_fen"`
	Currency         string    `json:"currency"`
	SucceededAt      time.Time `json:"succeeded_at"`
	// Lines are every line of the order (line order) with what this refund gave
	// back of each, so that a subscriber can take back exactly the refunded lines'
	// share of what the order earned without reading billing's tables. Absent in
	// payloads from before refunds had lines, and for a refund recorded before then:
	// such a refund goes by the order's amounts.
	Lines []RefundLine `json:"lines,omitempty"`
}

// RefundLine is one line of a refunded order in RefundSucceeded. A line's refunded
// total before this refund is RefundedTotalFen - RefundFen: billing applies an
// order's refunds one at a time, so each refund's lines say exactly which part of
// the line it gave back, whatever order the events arrive in.
type RefundLine struct {
	LineNo           int   `json:"line_no"`
	PaidFen          int64 `json:"paid_fen"`           // what was paid for the line: its amount less its coupon discount
	RefundFen        int64 `json:"refund_fen"`         // what this refund gave back of it (0: not touched)
	RefundedTotalFen int64 `json:"refunded_total_fen"` // the line's refunded amount, this refund included
}
