package wxpay

import (
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"
)

// Trade states of a transaction (shared/wxpay/WECHATPAY.md f, query).
const (
	TradeStateSuccess    = "SUCCESS"
	TradeStateRefund     = "REFUND"
	TradeStateNotPay     = "NOTPAY"
	TradeStateClosed     = "CLOSED"
	TradeStateRevoked    = "REVOKED"
	TradeStateUserPaying = "USERPAYING"
	TradeStatePayError   = "PAYERROR"
)

// Transaction is a WeChat Pay order as a query or a payment notification reports it.
type Transaction struct {
	AppID          string
	MchID          string
	OutTradeNo     string
	TransactionID  string // empty until paid
	TradeType      string // JSAPI, NATIVE, ...
	TradeState     string
	TradeStateDesc string
	BankType       string
	Attach         string
	SuccessTime    time.Time // zero until paid
	PayerOpenID    string
	Total          int64 // fen
	PayerTotal     int64 // fen actually paid by the user (total minus WeChat-side discounts)
	Currency       string
	PayerCurrency  string
}

// Paid reports whether money moved: SUCCESS, or REFUND (paid, then refunded).
func (t Transaction) Paid() bool {
	return t.TradeState == TradeStateSuccess || t.TradeState == TradeStateRefund
}

// transactionFrom converts the SDK model (used by both queries and notifications,
// which carry the same fields) into ours.
func transactionFrom(m *payments.Transaction) (Transaction, error) {
	t := Transaction{
		AppID:          deref(m.Appid),
		MchID:          deref(m.Mchid),
		OutTradeNo:     deref(m.OutTradeNo),
		TransactionID:  deref(m.TransactionId),
		TradeType:      deref(m.TradeType),
		TradeState:     deref(m.TradeState),
		TradeStateDesc: deref(m.TradeStateDesc),
		BankType:       deref(m.BankType),
		Attach:         deref(m.Attach),
	}
	if m.Payer != nil {
		t.PayerOpenID = deref(m.Payer.Openid)
	}
	if a := m.Amount; a != nil {
		t.Total = deref(a.Total)
		t.PayerTotal = deref(a.PayerTotal)
		t.Currency = deref(a.Currency)
		t.PayerCurrency = deref(a.PayerCurrency)
	}
	if s := deref(m.SuccessTime); s != "" {
		ts, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return Transaction{}, err
		}
		t.SuccessTime = ts
	}
	return t, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
