package wxpay

import (
	"context"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/refunddomestic"
)

// Refund statuses (shared/wxpay/WECHATPAY.md f).
const (
	RefundSuccess    = "SUCCESS"
	RefundClosed     = "CLOSED"
	RefundProcessing = "PROCESSING"
	RefundAbnormal   = "ABNORMAL"
)

// RefundRequest asks WeChat to refund part or all of a paid order.
type RefundRequest struct {
	OutTradeNo    string // one of OutTradeNo and TransactionID
	TransactionID string
	OutRefundNo   string // Tandem's refund number: WeChat's idempotency key
	Reason        string
	NotifyURL     string
	Refund        int64 // fen to refund
	Total         int64 // fen, the order's total
}

// Refund is a refund as the refund API or a refund notification reports it.
type Refund struct {
	RefundID            string
	OutRefundNo         string
	TransactionID       string
	OutTradeNo          string
	MchID               string // set by notifications only
	Channel             string
	UserReceivedAccount string
	Status              string
	FundsAccount        string
	CreateTime          time.Time
	SuccessTime         time.Time // zero unless SUCCESS
	Total               int64     // fen
	Refund              int64     // fen
	PayerTotal          int64
	PayerRefund         int64
	SettlementTotal     int64
	SettlementRefund    int64
	DiscountRefund      int64
	Currency            string
}

// CreateRefund submits a refund. WeChat deduplicates on out_refund_no, so the
// call is idempotent and retried.
func (c *Client) CreateRefund(ctx context.Context, r RefundRequest) (*Refund, error) {
	req := refunddomestic.CreateRequest{
		TransactionId: optString(r.TransactionID),
		OutTradeNo:    optString(r.OutTradeNo),
		OutRefundNo:   core.String(r.OutRefundNo),
		Reason:        optString(r.Reason),
		NotifyUrl:     optString(r.NotifyURL),
		Amount: &refunddomestic.AmountReq{
			Refund: core.Int64(r.Refund), Total: core.Int64(r.Total), Currency: core.String("CNY"),
		},
	}
	return c.refund(ctx, "create refund", func(ctx context.Context) (*refunddomestic.Refund, *core.APIResult, error) {
		return c.refunds.Create(ctx, req)
	})
}

// QueryRefund returns a refund by Tandem's refund number.
func (c *Client) QueryRefund(ctx context.Context, outRefundNo string) (*Refund, error) {
	return c.refund(ctx, "query refund", func(ctx context.Context) (*refunddomestic.Refund, *core.APIResult, error) {
		return c.refunds.QueryByOutRefundNo(ctx, refunddomestic.QueryByOutRefundNoRequest{OutRefundNo: core.String(outRefundNo)})
	})
}

func (c *Client) refund(ctx context.Context, op string,
	do func(context.Context) (*refunddomestic.Refund, *core.APIResult, error),
) (*Refund, error) {
	var out *Refund
	err := c.call(ctx, op, true, func(ctx context.Context) error {
		m, result, err := do(ctx)
		if err != nil {
			return apiError(op, result, err)
		}
		out = refundFrom(m)
		return nil
	})
	return out, err
}

func refundFrom(m *refunddomestic.Refund) *Refund {
	r := &Refund{
		RefundID:            deref(m.RefundId),
		OutRefundNo:         deref(m.OutRefundNo),
		TransactionID:       deref(m.TransactionId),
		OutTradeNo:          deref(m.OutTradeNo),
		UserReceivedAccount: deref(m.UserReceivedAccount),
		CreateTime:          deref(m.CreateTime),
		SuccessTime:         deref(m.SuccessTime),
	}
	if m.Channel != nil {
		r.Channel = string(*m.Channel)
	}
	if m.Status != nil {
		r.Status = string(*m.Status)
	}
	if m.FundsAccount != nil {
		r.FundsAccount = string(*m.FundsAccount)
	}
	if a := m.Amount; a != nil {
		r.Total, r.Refund = deref(a.Total), deref(a.Refund)
		r.PayerTotal, r.PayerRefund = deref(a.PayerTotal), deref(a.PayerRefund)
		r.SettlementTotal, r.SettlementRefund = deref(a.SettlementTotal), deref(a.SettlementRefund)
		r.DiscountRefund = deref(a.DiscountRefund)
		r.Currency = deref(a.Currency)
	}
	return r
}
