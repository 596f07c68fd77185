package wxpay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/services/payments"

	"github.com/tandemcrm/tandem/shared/errs"
)

// SignTestPrefix starts the signature of WeChat's deliberate probes, which a
// merchant must refuse (shared/wxpay/WECHATPAY.md b).
const SignTestPrefix = "WECHATPAY/SIGNTEST/"

// Event types of the notifications Tandem handles (shared/wxpay/WECHATPAY.md c).
const (
	EventTransactionSuccess = "TRANSACTION.SUCCESS"
	EventRefundSuccess      = "REFUND.SUCCESS"
	EventRefundAbnormal     = "REFUND.ABNORMAL"
	EventRefundClosed       = "REFUND.CLOSED"
)

// Notification is a genuine WeChat Pay notification, decrypted.
type Notification struct {
	ID           string
	CreateTime   time.Time
	EventType    string
	ResourceType string
	Summary      string
	OriginalType string
	Plaintext    string       // the decrypted resource, kept for the audit trail
	Payment      *Transaction // TRANSACTION.* events
	Refund       *Refund      // REFUND.* events
	// Mismatch is set (and also returned by ParseNotification) when the
	// notification is validly signed but names another mchid or appid.
	Mismatch error
}

// ParseNotification verifies and decrypts a notification with the SDK's own
// handler. Forgeries (bad or missing signature, changed body, timestamp 300 s or
// more off, unknown serial, wrong key or AAD, SIGNTEST probes) return
// wxpay.notify_invalid and no notification. A genuine notification for another
// mchid or appid returns the notification together with a wxpay.notify_mismatch
// error: a business fact for the caller to record, not a forgery.
//
// Panics inside the SDK (it dereferences a missing resource and lets AES-GCM
// panic on a nonce that is not 12 bytes, shared/wxpay/WECHATPAY.md b) become notify_invalid.
func (c *Client) ParseNotification(ctx context.Context, r *http.Request) (n *Notification, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = nil, errs.Wrap(fmt.Errorf("panic in notification parsing: %v", p),
				errs.KindUnauthorized, CodeNotifyInvalid, "invalid WeChat Pay notification")
		}
	}()
	if strings.HasPrefix(r.Header.Get("Wechatpay-Signature"), SignTestPrefix) {
		return nil, errs.E(errs.KindUnauthorized, CodeNotifyInvalid, "WeChat Pay signature probe refused")
	}
	var raw json.RawMessage
	req, err := c.notify.ParseNotifyRequest(ctx, r, &raw)
	if err != nil {
		return nil, errs.Wrap(err, errs.KindUnauthorized, CodeNotifyInvalid, "invalid WeChat Pay notification")
	}
	n = &Notification{
		ID: req.ID, EventType: req.EventType, ResourceType: req.ResourceType, Summary: req.Summary,
		OriginalType: req.Resource.OriginalType, Plaintext: req.Resource.Plaintext,
	}
	if req.CreateTime != nil {
		n.CreateTime = *req.CreateTime
	}
	var mchID, appID string
	switch {
	case strings.HasPrefix(n.EventType, "TRANSACTION."):
		var m payments.Transaction
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, errs.Wrap(err, errs.KindUnauthorized, CodeNotifyInvalid, "undecodable payment notification")
		}
		t, err := transactionFrom(&m)
		if err != nil {
			return nil, errs.Wrap(err, errs.KindUnauthorized, CodeNotifyInvalid, "undecodable payment notification")
		}
		n.Payment, mchID, appID = &t, t.MchID, t.AppID
	case strings.HasPrefix(n.EventType, "REFUND."):
		var m refundNotice
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, errs.Wrap(err, errs.KindUnauthorized, CodeNotifyInvalid, "undecodable refund notification")
		}
		n.Refund, mchID = m.refund(), m.MchID
	default:
		// Some other product's event: genuine, nothing to decode.
		return n, nil
	}
	if mchID != c.acct.MchID || (appID != "" && c.acct.AppID != "" && appID != c.acct.AppID) {
		n.Mismatch = errs.E(errs.KindUnprocessable, CodeNotifyMismatch,
			fmt.Sprintf("notification %s is for mchid %q appid %q, this account is mchid %q appid %q",
				n.ID, mchID, appID, c.acct.MchID, c.acct.AppID))
		return n, n.Mismatch
	}
	return n, nil
}

// refundNotice is the decrypted refund resource; wechatpay-go v0.2.21 has no
// model for it (shared/wxpay/WECHATPAY.md c).
type refundNotice struct {
	MchID               string     `json:"mchid"`
	TransactionID       string     `json:"transaction_id"`
	OutTradeNo          string     `json:"out_trade_no"`
	RefundID            string     `json:"refund_id"`
	OutRefundNo         string     `json:"out_refund_no"`
	RefundStatus        string     `json:"refund_status"`
	SuccessTime         *time.Time `json:"success_time"`
	CreateTime          *time.Time `json:"create_time"`
	UserReceivedAccount string     `json:"user_received_account"`
	Channel             string     `json:"channel"`
	FundsAccount        string     `json:"funds_account"`
	Amount              struct {
		Total       int64 `json:"total"`
		Refund      int64 `json:"refund"`
		PayerTotal  int64 `json:"payer_total"`
		PayerRefund int64 `json:"payer_refund"`
	} `json:"amount"`
}

func (m refundNotice) refund() *Refund {
	return &Refund{
		RefundID: m.RefundID, OutRefundNo: m.OutRefundNo, TransactionID: m.TransactionID,
		OutTradeNo: m.OutTradeNo, MchID: m.MchID, Channel: m.Channel, Status: m.RefundStatus,
		UserReceivedAccount: m.UserReceivedAccount, FundsAccount: m.FundsAccount,
		CreateTime: deref(m.CreateTime), SuccessTime: deref(m.SuccessTime),
		Total: m.Amount.Total, Refund: m.Amount.Refund, PayerTotal: m.Amount.PayerTotal,
		PayerRefund: m.Amount.PayerRefund, Currency: "CNY",
	}
}

// ExpectedPayment is what Tandem's own order says a payment notification must match.
type ExpectedPayment struct {
	OutTradeNo string
	Total      int64 // fen
}

// CheckPayment compares a genuine payment with Tandem's order. A difference is a
// wxpay.notify_mismatch error (kind unprocessable): the billing domain records it
// as an exception rather than marking the order paid.
func CheckPayment(t *Transaction, want ExpectedPayment) error {
	var diffs []string
	if t.OutTradeNo != want.OutTradeNo {
		diffs = append(diffs, fmt.Sprintf("out_trade_no %q, expected %q", t.OutTradeNo, want.OutTradeNo))
	}
	if t.Total != want.Total {
		diffs = append(diffs, fmt.Sprintf("total %d fen, expected %d", t.Total, want.Total))
	}
	if t.Currency != "" && t.Currency != "CNY" {
		diffs = append(diffs, fmt.Sprintf("currency %s, expected CNY", t.Currency))
	}
	return mismatch("payment "+t.TransactionID, diffs)
}

// ExpectedRefund is what Tandem's own refund says a refund notification must match.
type ExpectedRefund struct {
	OutRefundNo string
	Refund      int64 // fen
	Total       int64 // fen
}

// CheckRefund is CheckPayment for refunds.
func CheckRefund(r *Refund, want ExpectedRefund) error {
	var diffs []string
	if r.OutRefundNo != want.OutRefundNo {
		diffs = append(diffs, fmt.Sprintf("out_refund_no %q, expected %q", r.OutRefundNo, want.OutRefundNo))
	}
	if r.Refund != want.Refund {
		diffs = append(diffs, fmt.Sprintf("refund %d fen, expected %d", r.Refund, want.Refund))
	}
	if r.Total != want.Total {
		diffs = append(diffs, fmt.Sprintf("total %d fen, expected %d", r.Total, want.Total))
	}
	return mismatch("refund "+r.RefundID, diffs)
}

func mismatch(what string, diffs []string) error {
	if len(diffs) == 0 {
		return nil
	}
	return errs.E(errs.KindUnprocessable, CodeNotifyMismatch, what+": "+strings.Join(diffs, "; "))
}
