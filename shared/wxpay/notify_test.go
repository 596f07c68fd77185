package wxpay_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

// captured is a notification as the simulator sent it.
type captured struct {
	header http.Header
	body   []byte
}

// captureNotification pays an order whose notify_url records what arrives.
func captureNotification(t *testing.T, env *wxsimtest.Env, c *wxpay.Client, no string) captured {
	t.Helper()
	got := make(chan captured, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- captured{header: r.Header.Clone(), body: b}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	if _, err := c.PrepayJSAPI(context.Background(), order(no, 888, srv.URL+"/notify"), "oOpenID0001"); err != nil {
		t.Fatal(err)
	}
	env.Control("POST", "/sim/pay", wxsim.PayRequest{OutTradeNo: no}, nil)
	env.Wait()
	select {
	case c := <-got:
		return c
	default:
		t.Fatal("no notification captured")
		return captured{}
	}
}

func (c captured) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/wxpay/notify", bytes.NewReader(c.body))
	r.Header = c.header.Clone()
	return r
}

// resign signs body as WeChat would, with a chosen key, serial and timestamp.
func resign(c captured, body []byte, key *rsa.PrivateKey, serial string, ts int64) captured {
	h := c.header.Clone()
	nonce := "5K8264ILTKCH16CQ2502SI8ZNMTM67VS"
	h.Set("Wechatpay-Timestamp", strconv.FormatInt(ts, 10))
	h.Set("Wechatpay-Nonce", nonce)
	h.Set("Wechatpay-Serial", serial)
	h.Set("Wechatpay-Signature", wxsim.SignMessage(key, ts, nonce, body))
	return captured{header: h, body: body}
}

type envelope struct {
	ID           string         `json:"id"`
	CreateTime   string         `json:"create_time"`
	ResourceType string         `json:"resource_type"`
	EventType    string         `json:"event_type"`
	Summary      string         `json:"summary"`
	Resource     map[string]any `json:"resource,omitempty"`
}

// forgeBody builds an envelope around plaintext encrypted with key, nonce and
// aad; declaredAAD is what the body claims.
func forgeBody(t *testing.T, plaintext any, key, nonce, aad, declaredAAD string) []byte {
	t.Helper()
	plain, err := json.Marshal(plaintext)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := wxsim.EncryptResource(key, nonce, aad, plain)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(envelope{ID: "7b2b145f-9cda-5573-8be2-d2d9eaaffa25", CreateTime: "2025-03-14T10:00:00+08:00",
		ResourceType: "encrypt-resource", EventType: "TRANSACTION.SUCCESS", Summary: "支付成功",
		Resource: map[string]any{"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
			"ciphertext": ct, "associated_data": declaredAAD, "nonce": nonce}})
	return b
}

func paidTransaction(mchID string, total int64) map[string]any {
	return map[string]any{"appid": wxsimtest.AppID, "mchid": mchID, "out_trade_no": "TD20250314009999",
		"transaction_id": "4200000000202503140000000001", "trade_type": "JSAPI", "trade_state": "SUCCESS",
		"trade_state_desc": "支付成功", "bank_type": "OTHERS", "attach": "", "success_time": "2025-03-14T10:00:00+08:00",
		"payer":  map[string]string{"openid": "oOpenID0001"},
		"amount": map[string]any{"total": total, "payer_total": total, "currency": "CNY", "payer_currency": "CNY"}}
}

// TestNotificationForgeriesRefused: what only WeChat could send is accepted,
// every cryptographic forgery is notify_invalid, and a genuine notification that
// does not match is a business error (notify_mismatch) with its content.
func TestNotificationForgeriesRefused(t *testing.T) {
	for _, mode := range wxsimtest.Modes {
		t.Run(string(mode), func(t *testing.T) {
			env := wxsimtest.New(t, mode, wxsim.Config{})
			c := env.Client()
			ctx := context.Background()
			genuine := captureNotification(t, env, c, "TD20250314000301")
			if genuine.header.Get("Wechatpay-Signature-Type") != "WECHATPAY2-SHA256-RSA2048" {
				t.Fatalf("headers: %v", genuine.header)
			}
			n, err := c.ParseNotification(ctx, genuine.request())
			if err != nil || n.Payment == nil || n.Payment.OutTradeNo != "TD20250314000301" || n.OriginalType != "transaction" {
				t.Fatalf("genuine notification: %+v %v", n, err)
			}

			key, serial := env.Platform.CertKey, env.Platform.CertSerial()
			if mode == wxsimtest.ModePublicKey {
				key, serial = env.Platform.PubKeyKey, env.Platform.PublicKeyID
			}
			now := time.Now().Unix()
			apiV3 := env.Merchant.APIv3Key
			stranger, err := wxsim.GeneratePlatformKeys()
			if err != nil {
				t.Fatal(err)
			}
			changed := bytes.Replace(genuine.body, []byte(`"summary":"支付成功"`), []byte(`"summary":"支付成巧"`), 1)
			badSig := genuine.header.Clone()
			badSig.Set("Wechatpay-Signature", strings.Repeat("A", 344))
			probe := genuine.header.Clone()
			probe.Set("Wechatpay-Signature", "WECHATPAY/SIGNTEST/ABCDEFGHIJKLMNOPQRSTUVWXYZ012345")
			noSerial := genuine.header.Clone()
			noSerial.Del("Wechatpay-Serial")
			tx := paidTransaction(env.Merchant.MchID, 888)

			forgeries := map[string]captured{
				"body changed":         {header: genuine.header, body: changed},
				"bad signature":        {header: badSig, body: genuine.body},
				"signtest probe":       {header: probe, body: genuine.body},
				"missing serial":       {header: noSerial, body: genuine.body},
				"timestamp 301s old":   resign(genuine, genuine.body, key, serial, now-301),
				"timestamp 301s ahead": resign(genuine, genuine.body, key, serial, now+301),
				"unknown serial":       resign(genuine, genuine.body, stranger.CertKey, stranger.CertSerial(), now),
				"wrong AAD":            resign(genuine, forgeBody(t, tx, apiV3, "0123456789ab", "transaction", "refund"), key, serial, now),
				"wrong APIv3 key":      resign(genuine, forgeBody(t, tx, strings.Repeat("k", 32), "0123456789ab", "transaction", "transaction"), key, serial, now),
				"nonce not 12 bytes":   resign(genuine, forgeBody(t, tx, apiV3, "01234567", "transaction", "transaction"), key, serial, now),
				"no resource":          resign(genuine, []byte(`{"id":"x","create_time":"2025-03-14T10:00:00+08:00","event_type":"TRANSACTION.SUCCESS"}`), key, serial, now),
				"not JSON":             resign(genuine, []byte(`not json`), key, serial, now),
			}
			if mode != wxsimtest.ModePublicKey {
				// the SDK's verifier needs a serial it knows; in public-key mode any
				// other serial is already "unknown serial"
				forgeries["signed by a stranger under our serial"] = resign(genuine, genuine.body, stranger.CertKey, serial, now)
			}
			for name, f := range forgeries {
				n, err := c.ParseNotification(ctx, f.request())
				if n != nil || errs.CodeOf(err) != wxpay.CodeNotifyInvalid {
					t.Errorf("%s: want %s, got %+v %v", name, wxpay.CodeNotifyInvalid, n, err)
				}
			}

			// Within the window is fine (290 s either way).
			for _, ts := range []int64{now - 290, now + 290} {
				if _, err := c.ParseNotification(ctx, resign(genuine, genuine.body, key, serial, ts).request()); err != nil {
					t.Errorf("timestamp %+d s: %v", ts-now, err)
				}
			}

			// Genuine but for another merchant: a business error, content kept.
			other := resign(genuine, forgeBody(t, paidTransaction("1900000209", 888), apiV3, "0123456789ab", "transaction", "transaction"), key, serial, now)
			n, err = c.ParseNotification(ctx, other.request())
			if n == nil || n.Mismatch == nil || errs.CodeOf(err) != wxpay.CodeNotifyMismatch || errs.KindOf(err) != errs.KindUnprocessable {
				t.Fatalf("other mchid: %+v %v", n, err)
			}
			// Genuine, but not the amount Tandem's order says.
			n, _ = c.ParseNotification(ctx, genuine.request())
			err = wxpay.CheckPayment(n.Payment, wxpay.ExpectedPayment{OutTradeNo: "TD20250314000301", Total: 889})
			wantCode(t, err, wxpay.CodeNotifyMismatch, errs.KindUnprocessable)

			// The HTTP endpoint answers as WeChat expects: 401 for forgeries (panics
			// included), 500 when handling fails, 204 when handled, mismatches handed on.
			var mismatches int
			handler := c.NotifyHandler(func(_ context.Context, n *wxpay.Notification) error {
				if n.Mismatch != nil {
					mismatches++
				}
				if n.Payment != nil && n.Payment.OutTradeNo == "TD-FAIL" {
					return errs.E(errs.KindUnavailable, "test.down", "database down")
				}
				return nil
			})
			for name, tc := range map[string]struct {
				req  captured
				want int
			}{
				"genuine":        {genuine, http.StatusNoContent},
				"forged":         {forgeries["bad signature"], http.StatusUnauthorized},
				"panicking SDK":  {forgeries["no resource"], http.StatusUnauthorized},
				"other merchant": {other, http.StatusNoContent},
				"handler fails": {resign(genuine, forgeBody(t, map[string]any{"mchid": env.Merchant.MchID, "out_trade_no": "TD-FAIL",
					"trade_state": "SUCCESS", "amount": map[string]any{"total": 1}}, apiV3, "0123456789ab", "transaction", "transaction"),
					key, serial, now), http.StatusInternalServerError},
			} {
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, tc.req.request())
				if w.Code != tc.want {
					t.Errorf("%s: status %d, want %d (%s)", name, w.Code, tc.want, w.Body)
				}
				if w.Code != http.StatusNoContent && !strings.Contains(w.Body.String(), `"code":"FAIL"`) {
					t.Errorf("%s: failure body %q", name, w.Body)
				}
			}
			if mismatches != 1 {
				t.Errorf("mismatches handed to the handler: %d", mismatches)
			}
		})
	}
}

// TestSwitchAcceptsBothKeys: during a switch a notification may be signed by the
// platform certificate or the public key; the combined verifier takes both.
func TestSwitchAcceptsBothKeys(t *testing.T) {
	env := wxsimtest.New(t, wxsimtest.ModeSwitch, wxsim.Config{})
	c := env.Client()
	genuine := captureNotification(t, env, c, "TD20250314000401")
	now := time.Now().Unix()
	for _, k := range []struct {
		key    *rsa.PrivateKey
		serial string
	}{{env.Platform.CertKey, env.Platform.CertSerial()}, {env.Platform.PubKeyKey, env.Platform.PublicKeyID}} {
		if _, err := c.ParseNotification(context.Background(), resign(genuine, genuine.body, k.key, k.serial, now).request()); err != nil {
			t.Errorf("signed with %s: %v", k.serial, err)
		}
	}
}
