package wxpay_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

// receiver is Tandem's notify endpoint in a test: the client's NotifyHandler,
// handing every genuine notification to a channel.
type receiver struct {
	URL  string
	got  chan *wxpay.Notification
	fail func(n *wxpay.Notification) error // optional: make the handler fail
}

func newReceiver(t *testing.T, c *wxpay.Client) *receiver {
	r := &receiver{got: make(chan *wxpay.Notification, 64)}
	srv := httptest.NewServer(c.NotifyHandler(func(_ context.Context, n *wxpay.Notification) error {
		if r.fail != nil {
			if err := r.fail(n); err != nil {
				return err
			}
		}
		r.got <- n
		return nil
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL + "/wxpay/notify"
	return r
}

func (r *receiver) next(t *testing.T) *wxpay.Notification {
	t.Helper()
	select {
	case n := <-r.got:
		return n
	case <-time.After(20 * time.Second):
		t.Fatal("no notification arrived")
		return nil
	}
}

func wantCode(t *testing.T, err error, code string, kind errs.Kind) {
	t.Helper()
	if errs.CodeOf(err) != code || errs.KindOf(err) != kind {
		t.Fatalf("want %s (%s), got code %q kind %s: %v", code, kind, errs.CodeOf(err), errs.KindOf(err), err)
	}
}

func order(no string, total int64, notifyURL string) wxpay.Order {
	return wxpay.Order{Description: "Tandem 测试订单", OutTradeNo: no, NotifyURL: notifyURL, Attach: "a=1", Total: total}
}

// TestPaymentLifecycle drives every payment endpoint with the real SDK in each
// key mode: prepay, query, pay, notification, close, refunds, refund notification.
func TestPaymentLifecycle(t *testing.T) {
	for _, mode := range wxsimtest.Modes {
		t.Run(string(mode), func(t *testing.T) {
			env := wxsimtest.New(t, mode, wxsim.Config{NotifyScale: 0.001})
			c := env.Client()
			rcv := newReceiver(t, c)
			ctx := context.Background()

			pay, err := c.PrepayJSAPI(ctx, order("TD20250314000001", 12345, rcv.URL), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
			if err != nil {
				t.Fatal(err)
			}
			verifyPaySign(t, env, pay)

			again, err := c.PrepayJSAPI(ctx, order("TD20250314000001", 12345, rcv.URL), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
			if err != nil || again.PrepayID != pay.PrepayID {
				t.Fatalf("repeated prepay: %v, prepay_id %q vs %q", err, again.PrepayID, pay.PrepayID)
			}
			tx, err := c.QueryOrder(ctx, "TD20250314000001")
			if err != nil || tx.TradeState != wxpay.TradeStateNotPay || tx.TransactionID != "" || tx.Total != 12345 {
				t.Fatalf("query unpaid: %+v %v", tx, err)
			}

			env.Control("POST", "/sim/pay", wxsim.PayRequest{OutTradeNo: "TD20250314000001"}, nil)
			n := rcv.next(t)
			if n.EventType != wxpay.EventTransactionSuccess || n.Payment == nil || n.Mismatch != nil {
				t.Fatalf("notification: %+v", n)
			}
			if err := wxpay.CheckPayment(n.Payment, wxpay.ExpectedPayment{OutTradeNo: "TD20250314000001", Total: 12345}); err != nil {
				t.Fatal(err)
			}
			if p := n.Payment; p.TradeState != "SUCCESS" || p.PayerOpenID != "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" ||
				p.Attach != "a=1" || p.AppID != wxsimtest.AppID || p.SuccessTime.IsZero() || !strings.HasPrefix(p.TransactionID, "42") {
				t.Fatalf("paid transaction: %+v", p)
			}

			paid, err := c.QueryOrder(ctx, "TD20250314000001")
			if err != nil || !paid.Paid() || paid.TransactionID != n.Payment.TransactionID {
				t.Fatalf("query paid: %+v %v", paid, err)
			}
			byID, err := c.QueryOrderByTransactionID(ctx, paid.TransactionID)
			if err != nil || *byID != *paid {
				t.Fatalf("query by id: %+v %v", byID, err)
			}
			wantCode(t, c.CloseOrder(ctx, "TD20250314000001"), wxpay.CodeOrderPaid, errs.KindConflict)
			_, err = c.PrepayJSAPI(ctx, order("TD20250314000001", 12345, rcv.URL), "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o")
			wantCode(t, err, wxpay.CodeOrderPaid, errs.KindConflict)

			// A partial refund, repeated (idempotent on out_refund_no), then one too many.
			req := wxpay.RefundRequest{OutTradeNo: "TD20250314000001", OutRefundNo: "RF20250314000001",
				Reason: "缺货", NotifyURL: rcv.URL, Refund: 10000, Total: 12345}
			r1, err := c.CreateRefund(ctx, req)
			if err != nil || r1.Status != wxpay.RefundProcessing || r1.Refund != 10000 || r1.CreateTime.IsZero() {
				t.Fatalf("refund: %+v %v", r1, err)
			}
			r1again, err := c.CreateRefund(ctx, req)
			if err != nil || r1again.RefundID != r1.RefundID {
				t.Fatalf("repeated refund: %+v %v", r1again, err)
			}
			_, err = c.CreateRefund(ctx, wxpay.RefundRequest{TransactionID: paid.TransactionID,
				OutRefundNo: "RF20250314000002", Refund: 2346, Total: 12345})
			wantCode(t, err, "wxpay.invalid_request", errs.KindInvalid)
			r2, err := c.CreateRefund(ctx, wxpay.RefundRequest{TransactionID: paid.TransactionID,
				OutRefundNo: "RF20250314000002", Refund: 2345, Total: 12345})
			if err != nil || r2.OutTradeNo != "TD20250314000001" {
				t.Fatalf("second refund by transaction id: %+v %v", r2, err)
			}

			env.Control("POST", "/sim/refunds/settle", map[string]string{"out_refund_no": "RF20250314000001", "status": "SUCCESS"}, nil)
			rn := rcv.next(t)
			if rn.EventType != wxpay.EventRefundSuccess || rn.Refund == nil || rn.Mismatch != nil {
				t.Fatalf("refund notification: %+v", rn)
			}
			if err := wxpay.CheckRefund(rn.Refund, wxpay.ExpectedRefund{OutRefundNo: "RF20250314000001", Refund: 10000, Total: 12345}); err != nil {
				t.Fatal(err)
			}
			if rn.Refund.SuccessTime.IsZero() || rn.Refund.RefundID != r1.RefundID {
				t.Fatalf("refund notification content: %+v", rn.Refund)
			}
			q, err := c.QueryRefund(ctx, "RF20250314000001")
			if err != nil || q.Status != wxpay.RefundSuccess || q.SuccessTime.IsZero() {
				t.Fatalf("query refund: %+v %v", q, err)
			}
			_, err = c.QueryRefund(ctx, "RF-NOT-THERE")
			wantCode(t, err, wxpay.CodeResourceNotExists, errs.KindNotFound)
			if st, _ := c.QueryOrder(ctx, "TD20250314000001"); st.TradeState != wxpay.TradeStateRefund {
				t.Fatalf("after refund: %+v", st)
			}

			// Native: code_url, then closed (204, signed over an empty body).
			codeURL, err := c.PrepayNative(ctx, order("TD20250314000002", 500, rcv.URL))
			if err != nil || !strings.HasPrefix(codeURL, "weixin://wxpay/bizpayurl?pr=") {
				t.Fatalf("native: %q %v", codeURL, err)
			}
			if err := c.CloseOrder(ctx, "TD20250314000002"); err != nil {
				t.Fatal(err)
			}
			if st, err := c.QueryOrder(ctx, "TD20250314000002"); err != nil || st.TradeState != wxpay.TradeStateClosed {
				t.Fatalf("closed: %+v %v", st, err)
			}
			_, err = c.QueryOrder(ctx, "TD-NOT-THERE")
			wantCode(t, err, wxpay.CodeOrderNotExist, errs.KindNotFound)
		})
	}
}

// verifyPaySign checks the mini-program parameters the SDK signed with the
// merchant key over appId\ntimeStamp\nnonceStr\npackage\n.
func verifyPaySign(t *testing.T, env *wxsimtest.Env, p *wxpay.JSAPIPayment) {
	t.Helper()
	if p.AppID != wxsimtest.AppID || p.SignType != "RSA" || p.Package != "prepay_id="+p.PrepayID || len(p.NonceStr) != 32 {
		t.Fatalf("payment parameters: %+v", p)
	}
	sig, err := base64.StdEncoding.DecodeString(p.PaySign)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(p.AppID + "\n" + p.TimeStamp + "\n" + p.NonceStr + "\n" + p.Package + "\n"))
	if err := rsa.VerifyPKCS1v15(&env.Merchant.Key.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("paySign: %v", err)
	}
}
