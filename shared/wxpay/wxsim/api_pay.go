package wxsim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"time"
)

// Errors WeChat answers in several places.
var (
	errOrderNotExist = apiError(http.StatusNotFound, "ORDER_NOT_EXIST", "订单不存在")
	errSystem        = apiError(http.StatusInternalServerError, "SYSTEM_ERROR", "系统错误")
)

func paramError(format string, args ...any) apiResponse {
	return apiError(http.StatusBadRequest, "PARAM_ERROR", fmt.Sprintf(format, args...))
}

// prepayBody is the JSAPI/Native prepay request (shared/wxpay/WECHATPAY.md f).
type prepayBody struct {
	AppID       string     `json:"appid"`
	MchID       string     `json:"mchid"`
	Description string     `json:"description"`
	OutTradeNo  string     `json:"out_trade_no"`
	TimeExpire  *time.Time `json:"time_expire"`
	Attach      string     `json:"attach"`
	NotifyURL   string     `json:"notify_url"`
	Amount      *struct {
		Total    *int64 `json:"total"`
		Currency string `json:"currency"`
	} `json:"amount"`
	Payer *struct {
		OpenID string `json:"openid"`
	} `json:"payer"`
}

// outTradeNoPattern: "只能是数字、大小写字母_-*且在同一个商户号下唯一", 6 to 32 characters.
var outTradeNoPattern = regexp.MustCompile(`^[0-9A-Za-z_\-|*]{6,32}$`)

func (s *Sim) prepayJSAPI(req *apiRequest) apiResponse  { return s.prepay(req, "JSAPI") }
func (s *Sim) prepayNative(req *apiRequest) apiResponse { return s.prepay(req, "NATIVE") }

func (s *Sim) prepay(req *apiRequest, tradeType string) apiResponse {
	var b prepayBody
	if err := json.Unmarshal(req.body, &b); err != nil {
		return paramError("请求体不是合法的 JSON: %v", err)
	}
	if resp, ok := s.checkPrepay(req, &b, tradeType); !ok {
		return resp
	}
	now := s.clock.Now()
	o := &order{
		MchID: b.MchID, AppID: b.AppID, OutTradeNo: b.OutTradeNo, TradeType: tradeType,
		PrepayID: prepayID(now), Description: b.Description, Attach: b.Attach, NotifyURL: b.NotifyURL,
		Total: *b.Amount.Total, Currency: "CNY", TimeExpire: b.TimeExpire, TradeState: "NOTPAY", CreatedAt: now,
	}
	if b.Payer != nil {
		o.PayerOpenID = b.Payer.OpenID
	}
	if tradeType == "NATIVE" {
		o.CodeURL = codeURL()
	}
	o.RequestDigest = prepayDigest(o)
	ctx := req.r.Context()
	seq, err := nextSeq(ctx, s.db)
	if err != nil {
		return s.internal(ctx, "prepay", err)
	}
	o.TransactionID = transactionID(now, seq)
	stored, inserted, err := insertOrder(ctx, s.db, o)
	if err != nil {
		return s.internal(ctx, "prepay", err)
	}
	if !inserted {
		// A repeated prepay. Not in shared/wxpay/WECHATPAY.md: an identical request for an
		// unpaid order gets the same prepay_id, anything else an error.
		switch {
		case stored.TradeState == "SUCCESS" || stored.TradeState == "REFUND":
			return apiError(http.StatusBadRequest, "ORDERPAID", "该订单已支付")
		case stored.TradeState == "CLOSED":
			return apiError(http.StatusBadRequest, "ORDER_CLOSED", "订单已关闭")
		case stored.RequestDigest != o.RequestDigest:
			return apiError(http.StatusBadRequest, "INVALID_REQUEST", "201 商户订单号重复")
		}
	}
	if tradeType == "NATIVE" {
		return jsonResponse(http.StatusOK, map[string]string{"code_url": stored.CodeURL})
	}
	return jsonResponse(http.StatusOK, map[string]string{"prepay_id": stored.PrepayID})
}

func (s *Sim) checkPrepay(req *apiRequest, b *prepayBody, tradeType string) (apiResponse, bool) {
	switch {
	case b.AppID == "":
		return paramError("缺少参数 appid"), false
	case b.MchID == "":
		return paramError("缺少参数 mchid"), false
	case b.MchID != req.merchant.MchID:
		return paramError("mchid 与发起请求的商户号不一致"), false
	case b.Description == "":
		return paramError("缺少参数 description"), false
	case !outTradeNoPattern.MatchString(b.OutTradeNo):
		return paramError("out_trade_no 格式错误"), false
	case b.Amount == nil || b.Amount.Total == nil:
		return paramError("缺少参数 amount.total"), false
	case *b.Amount.Total <= 0:
		return paramError("amount.total 必须大于 0"), false
	case b.Amount.Currency != "" && b.Amount.Currency != "CNY":
		return paramError("境内商户号仅支持人民币"), false
	case tradeType == "JSAPI" && (b.Payer == nil || b.Payer.OpenID == ""):
		return paramError("缺少参数 payer.openid"), false
	}
	if err := checkNotifyURL(b.NotifyURL); err != nil {
		return paramError("notify_url 无效: %v", err), false
	}
	if !req.merchant.hasAppID(b.AppID) {
		return apiError(http.StatusBadRequest, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配"), false
	}
	return apiResponse{}, true
}

// checkNotifyURL applies WeChat's rule "1. HTTPS; 2. 不允许携带查询串", except that
// plain HTTP is accepted for loopback hosts so that tests and `tandem dev` work.
func checkNotifyURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	if u.RawQuery != "" {
		return errors.New("query strings are not allowed")
	}
	if u.Scheme == "https" {
		return nil
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); u.Scheme == "http" && (host == "localhost" || (ip != nil && ip.IsLoopback())) {
		return nil
	}
	return errors.New("must be https")
}

func (m *Merchant) hasAppID(appID string) bool {
	if len(m.AppIDs) == 0 {
		return true
	}
	for _, a := range m.AppIDs {
		if a == appID {
			return true
		}
	}
	return false
}

func prepayDigest(o *order) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00%d\x00%s\x00%v", o.TradeType, o.AppID, o.Description,
		o.NotifyURL, o.Attach, o.Total, o.PayerOpenID, o.TimeExpire)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Sim) queryByOutTradeNo(req *apiRequest) apiResponse {
	if resp, ok := checkQueryMchID(req); !ok {
		return resp
	}
	o, err := orderByOutTradeNo(req.r.Context(), s.db, req.merchant.MchID, req.r.PathValue("out_trade_no"), false)
	return s.orderAnswer(req.r.Context(), o, err)
}

func (s *Sim) queryByTransactionID(req *apiRequest) apiResponse {
	if resp, ok := checkQueryMchID(req); !ok {
		return resp
	}
	o, err := orderByTransactionID(req.r.Context(), s.db, req.merchant.MchID, req.r.PathValue("transaction_id"), false)
	return s.orderAnswer(req.r.Context(), o, err)
}

func checkQueryMchID(req *apiRequest) (apiResponse, bool) {
	switch q := req.r.URL.Query().Get("mchid"); {
	case q == "":
		return paramError("缺少参数 mchid"), false
	case q != req.merchant.MchID:
		return paramError("mchid 与发起请求的商户号不一致"), false
	}
	return apiResponse{}, true
}

func (s *Sim) orderAnswer(ctx context.Context, o *order, err error) apiResponse {
	if errors.Is(err, errNotFound) {
		return errOrderNotExist
	}
	if err != nil {
		return s.internal(ctx, "query", err)
	}
	return jsonResponse(http.StatusOK, transactionJSON(o))
}

func (s *Sim) closeOrder(req *apiRequest) apiResponse {
	var b struct {
		MchID string `json:"mchid"`
	}
	if err := json.Unmarshal(req.body, &b); err != nil || b.MchID == "" {
		return paramError("缺少参数 mchid")
	}
	if b.MchID != req.merchant.MchID {
		return paramError("mchid 与发起请求的商户号不一致")
	}
	resp, err := s.closeTx(req.r.Context(), req.merchant.MchID, req.r.PathValue("out_trade_no"))
	if err != nil {
		return s.internal(req.r.Context(), "close", err)
	}
	return resp
}

// txn is a transaction as queries and payment notifications carry it, fields in
// the order of shared/wxpay/WECHATPAY.md c; an unpaid order has no transaction_id, payer,
// success_time, bank_type or trade_type yet.
type txn struct {
	AppID          string    `json:"appid"`
	MchID          string    `json:"mchid"`
	OutTradeNo     string    `json:"out_trade_no"`
	TransactionID  string    `json:"transaction_id,omitempty"`
	TradeType      string    `json:"trade_type,omitempty"`
	TradeState     string    `json:"trade_state"`
	TradeStateDesc string    `json:"trade_state_desc"`
	BankType       string    `json:"bank_type,omitempty"`
	Attach         string    `json:"attach"`
	SuccessTime    string    `json:"success_time,omitempty"`
	Payer          *txnPayer `json:"payer,omitempty"`
	Amount         txnAmount `json:"amount"`
}

type txnPayer struct {
	OpenID string `json:"openid"`
}

type txnAmount struct {
	Total         int64  `json:"total"`
	PayerTotal    *int64 `json:"payer_total,omitempty"`
	Currency      string `json:"currency"`
	PayerCurrency string `json:"payer_currency"`
}

var tradeStateDesc = map[string]string{
	"SUCCESS": "支付成功", "REFUND": "转入退款", "NOTPAY": "未支付", "CLOSED": "已关闭",
}

func transactionJSON(o *order) txn {
	t := txn{
		AppID: o.AppID, MchID: o.MchID, OutTradeNo: o.OutTradeNo, TradeState: o.TradeState,
		TradeStateDesc: tradeStateDesc[o.TradeState], Attach: o.Attach,
		Amount: txnAmount{Total: o.Total, Currency: o.Currency, PayerCurrency: o.Currency},
	}
	if o.SuccessTime != nil {
		t.TransactionID, t.TradeType, t.BankType = o.TransactionID, o.TradeType, o.BankType
		t.SuccessTime = rfc3339(*o.SuccessTime)
		t.Payer = &txnPayer{OpenID: o.PayerOpenID}
		paid := o.Total
		t.Amount.PayerTotal = &paid
	}
	return t
}

// rfc3339 writes times the way WeChat does: RFC 3339 in +08:00.
func rfc3339(t time.Time) string { return t.In(shanghai).Format(time.RFC3339) }

func (s *Sim) internal(ctx context.Context, op string, err error) apiResponse {
	s.logger.ErrorContext(ctx, "wxsim internal error", "op", op, "err", err)
	return errSystem
}
