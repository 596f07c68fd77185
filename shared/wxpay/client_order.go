package wxpay

import (
	"context"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
)

// QueryOrder returns the order by Tandem's order number. Queries are retried.
func (c *Client) QueryOrder(ctx context.Context, outTradeNo string) (*Transaction, error) {
	return c.query(ctx, "query order", func(ctx context.Context) (*payments.Transaction, *core.APIResult, error) {
		return c.jsapi.QueryOrderByOutTradeNo(ctx, jsapi.QueryOrderByOutTradeNoRequest{
			OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.acct.MchID),
		})
	})
}

// QueryOrderByTransactionID returns the order by WeChat's transaction id.
func (c *Client) QueryOrderByTransactionID(ctx context.Context, transactionID string) (*Transaction, error) {
	return c.query(ctx, "query order by transaction id", func(ctx context.Context) (*payments.Transaction, *core.APIResult, error) {
		return c.jsapi.QueryOrderById(ctx, jsapi.QueryOrderByIdRequest{
			TransactionId: core.String(transactionID), Mchid: core.String(c.acct.MchID),
		})
	})
}

// The JSAPI and Native services hit the same query endpoints, so one serves both.
func (c *Client) query(ctx context.Context, op string,
	get func(context.Context) (*payments.Transaction, *core.APIResult, error),
) (*Transaction, error) {
	var out Transaction
	err := c.call(ctx, op, true, func(ctx context.Context) error {
		m, result, err := get(ctx)
		if err != nil {
			return apiError(op, result, err)
		}
		if out, err = transactionFrom(m); err != nil {
			return apiError(op, result, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// CloseOrder closes an unpaid order (204 from WeChat). A paid order answers
// ORDERPAID: errs code wxpay.order_paid, kind conflict. Not retried: a retry
// after a lost answer may meet a state the first call changed; query instead.
func (c *Client) CloseOrder(ctx context.Context, outTradeNo string) error {
	return c.call(ctx, "close order", false, func(ctx context.Context) error {
		result, err := c.jsapi.CloseOrder(ctx, jsapi.CloseOrderRequest{
			OutTradeNo: core.String(outTradeNo), Mchid: core.String(c.acct.MchID),
		})
		return apiError("close order", result, err)
	})
}
