package wxpay

import (
	"context"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/jsapi"
	"github.com/wechatpay-apiv3/wechatpay-go/services/payments/native"
)

// Order is what both prepay calls need.
type Order struct {
	AppID       string // defaults to the account's AppID
	Description string
	OutTradeNo  string
	NotifyURL   string
	Attach      string
	Total       int64     // fen
	TimeExpire  time.Time // optional
}

// JSAPIPayment is what a mini-program passes to wx.requestPayment. The JSON names
// are the ones wx.requestPayment expects.
type JSAPIPayment struct {
	PrepayID  string `json:"-"`
	AppID     string `json:"appId"`
	TimeStamp string `json:"timeStamp"`
	NonceStr  string `json:"nonceStr"`
	Package   string `json:"package"`
	SignType  string `json:"signType"`
	PaySign   string `json:"paySign"`
}

// PrepayJSAPI places a JSAPI (mini-program) order for the payer's openid and
// returns the signed payment parameters. Prepay is not retried: whether WeChat
// treats a repeated prepay as the same order is not documented, so on a
// retryable error the caller queries by out_trade_no before trying again.
func (c *Client) PrepayJSAPI(ctx context.Context, o Order, openID string) (*JSAPIPayment, error) {
	var out *JSAPIPayment
	err := c.call(ctx, "prepay jsapi", false, func(ctx context.Context) error {
		resp, result, err := c.jsapi.PrepayWithRequestPayment(ctx, jsapi.PrepayRequest{
			Appid:       core.String(c.appID(o)),
			Mchid:       core.String(c.acct.MchID),
			Description: core.String(o.Description),
			OutTradeNo:  core.String(o.OutTradeNo),
			TimeExpire:  timePtr(o.TimeExpire),
			Attach:      optString(o.Attach),
			NotifyUrl:   core.String(o.NotifyURL),
			Amount:      &jsapi.Amount{Total: core.Int64(o.Total), Currency: core.String("CNY")},
			Payer:       &jsapi.Payer{Openid: core.String(openID)},
		})
		if err != nil {
			return apiError("prepay jsapi", result, err)
		}
		out = &JSAPIPayment{
			PrepayID: deref(resp.PrepayId), AppID: deref(resp.Appid), TimeStamp: deref(resp.TimeStamp),
			NonceStr: deref(resp.NonceStr), Package: deref(resp.Package), SignType: deref(resp.SignType),
			PaySign: deref(resp.PaySign),
		}
		return nil
	})
	return out, err
}

// PrepayNative places a Native (QR code) order and returns its code_url. Not
// retried, for the reason given at PrepayJSAPI.
func (c *Client) PrepayNative(ctx context.Context, o Order) (codeURL string, err error) {
	err = c.call(ctx, "prepay native", false, func(ctx context.Context) error {
		resp, result, err := c.native.Prepay(ctx, native.PrepayRequest{
			Appid:       core.String(c.appID(o)),
			Mchid:       core.String(c.acct.MchID),
			Description: core.String(o.Description),
			OutTradeNo:  core.String(o.OutTradeNo),
			TimeExpire:  timePtr(o.TimeExpire),
			Attach:      optString(o.Attach),
			NotifyUrl:   core.String(o.NotifyURL),
			Amount:      &native.Amount{Total: core.Int64(o.Total), Currency: core.String("CNY")},
		})
		if err != nil {
			return apiError("prepay native", result, err)
		}
		codeURL = deref(resp.CodeUrl)
		return nil
	})
	return codeURL, err
}

func (c *Client) appID(o Order) string {
	if o.AppID != "" {
		return o.AppID
	}
	return c.acct.AppID
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
