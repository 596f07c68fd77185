package wxsim_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wechatpay-apiv3/wechatpay-go/core"
	"github.com/wechatpay-apiv3/wechatpay-go/core/auth/signers"
	"github.com/wechatpay-apiv3/wechatpay-go/core/option"
	"github.com/wechatpay-apiv3/wechatpay-go/utils"

	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

const api = "https://api.mch.weixin.qq.com"

// tamper sends SDK requests to the simulator after changing them on the wire.
type tamper struct {
	target *url.URL
	change func(*http.Request)
}

func (t tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.Host = t.target.Scheme, t.target.Host, t.target.Host
	if t.change != nil {
		t.change(out)
	}
	return http.DefaultTransport.RoundTrip(out)
}

// sdkClient is wechatpay-go's own client signing as mchID with serial; it does
// not verify answers, so that the test sees exactly what the simulator said.
func sdkClient(t *testing.T, env *wxsimtest.Env, serial string, change func(*http.Request)) *core.Client {
	t.Helper()
	u, _ := url.Parse(env.URL)
	c, err := core.NewClient(context.Background(),
		option.WithMerchantCredential(env.Merchant.MchID, serial, env.Merchant.Key),
		option.WithoutValidator(), option.WithHTTPClient(&http.Client{Transport: tamper{u, change}}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// statusOf is the status and WeChat error code of an answer (-1 and the error
// when none arrived).
func statusOf(result *core.APIResult, err error) (int, string) {
	var apiErr *core.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode, apiErr.Code
	}
	if err != nil {
		return -1, err.Error()
	}
	return result.Response.StatusCode, ""
}

// TestRequestSignatureChecked: the simulator verifies the Authorization over
// the exact method, path, query and body, the merchant's serial and a fresh
// timestamp, and answers 401 SIGN_ERROR otherwise.
func TestRequestSignatureChecked(t *testing.T) {
	env := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{})
	ctx := context.Background()
	serial := env.Merchant.CertSerial()
	query := api + "/v3/pay/transactions/out-trade-no/TD20250314000001?mchid=" + env.Merchant.MchID
	closeURL := api + "/v3/pay/transactions/out-trade-no/TD20250314000001/close"
	closeBody := map[string]string{"mchid": env.Merchant.MchID}

	if s, code := statusOf(sdkClient(t, env, serial, nil).Get(ctx, query)); s != 404 || code != "ORDER_NOT_EXIST" {
		t.Fatalf("genuine query: %d %s", s, code)
	}
	if s, code := statusOf(sdkClient(t, env, serial, nil).Post(ctx, closeURL, closeBody)); s != 404 || code != "ORDER_NOT_EXIST" {
		t.Fatalf("genuine close: %d %s", s, code)
	}
	for name, tc := range map[string]struct {
		serial string
		change func(*http.Request)
		post   bool
	}{
		"body byte changed": {serial, func(r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			b[2] ^= 1
			r.Body = io.NopCloser(strings.NewReader(string(b)))
		}, true},
		"path changed":     {serial, func(r *http.Request) { r.URL.Path = strings.Replace(r.URL.Path, "000001", "000002", 1) }, false},
		"query changed":    {serial, func(r *http.Request) { r.URL.RawQuery += "&x=1" }, false},
		"query reordered":  {serial, func(r *http.Request) { r.URL.RawQuery = "x=1&" + r.URL.RawQuery }, false},
		"wrong serial":     {"5157F09EFDC096DE15EBE81A47057A7232F1B8E1", nil, false},
		"no Authorization": {serial, func(r *http.Request) { r.Header.Del("Authorization") }, false},
		"other scheme": {serial, func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "WECHATPAY2-SHA256-RSA2048", "WECHATPAY2-SM2-WITH-SM3", 1))
		}, false},
	} {
		c := sdkClient(t, env, tc.serial, tc.change)
		var (
			result *core.APIResult
			err    error
		)
		if tc.post {
			result, err = c.Post(ctx, closeURL, closeBody)
		} else {
			result, err = c.Get(ctx, query)
		}
		if s, code := statusOf(result, err); s != 401 || code != "SIGN_ERROR" {
			t.Errorf("%s: %d %s, want 401 SIGN_ERROR", name, s, code)
		}
	}

	// Timestamps: signed with the SDK's signer, 301 s old or ahead is refused.
	signer := &signers.SHA256WithRSASigner{MchID: env.Merchant.MchID, PrivateKey: env.Merchant.Key, CertificateSerialNo: serial}
	path := "/v3/pay/transactions/out-trade-no/TD20250314000001?mchid=" + env.Merchant.MchID
	for offset, want := range map[int64]int{-301: 401, 301: 401, -30: 404} {
		ts := time.Now().Unix() + offset
		nonce := "593BEC0C930BF1AFEB40B4A08C8FB242"
		sig, err := signer.Sign(ctx, fmt.Sprintf("GET\n%s\n%d\n%s\n\n", path, ts, nonce))
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("GET", env.URL+path, nil)
		req.Header.Set("Authorization", fmt.Sprintf(`WECHATPAY2-SHA256-RSA2048 serial_no="%s",signature="%s",timestamp="%d",nonce_str="%s",mchid="%s"`,
			serial, sig.Signature, ts, nonce, env.Merchant.MchID)) // any order of the five
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("timestamp %+d s: %d, want %d", offset, resp.StatusCode, want)
		}
	}
}

// TestAnswersSigned: every answer carries WeChat's signature over its exact
// body, the empty body of a 204 included, with the key the request asked for;
// bill files are not signed.
func TestAnswersSigned(t *testing.T) {
	env := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{})
	ctx := context.Background()
	c := sdkClient(t, env, env.Merchant.CertSerial(), nil)
	if _, err := c.Post(ctx, api+"/v3/pay/transactions/native", map[string]any{
		"appid": wxsimtest.AppID, "mchid": env.Merchant.MchID, "description": "d", "out_trade_no": "TD20250314000002",
		"notify_url": "https://tandem.example/notify", "amount": map[string]any{"total": 100},
	}); err != nil {
		t.Fatal(err)
	}
	result, err := c.Post(ctx, api+"/v3/pay/transactions/out-trade-no/TD20250314000002/close", map[string]string{"mchid": env.Merchant.MchID})
	if err != nil || result.Response.StatusCode != http.StatusNoContent {
		t.Fatalf("close: %v", err)
	}
	verifyAnswer(t, result.Response, env.Platform.Cert.PublicKey.(*rsa.PublicKey), env.Platform.CertSerial())

	// Asking for the public key (Wechatpay-Serial) gets answers signed with it.
	pc := sdkClient(t, env, env.Merchant.CertSerial(), func(r *http.Request) { r.Header.Set("Wechatpay-Serial", env.Platform.PublicKeyID) })
	result, err = pc.Get(ctx, api+"/v3/pay/transactions/out-trade-no/TD20250314000002?mchid="+env.Merchant.MchID)
	if err != nil {
		t.Fatal(err)
	}
	verifyAnswer(t, result.Response, &env.Platform.PubKeyKey.PublicKey, env.Platform.PublicKeyID)
	// Errors are signed too.
	_, err = c.Get(ctx, api+"/v3/pay/transactions/out-trade-no/NOPE000001?mchid="+env.Merchant.MchID)
	var apiErr *core.APIError
	if !errors.As(err, &apiErr) || apiErr.Header.Get("Wechatpay-Signature") == "" {
		t.Fatalf("error answer unsigned: %v", err)
	}
}

func verifyAnswer(t *testing.T, resp *http.Response, key *rsa.PublicKey, serial string) {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	h := resp.Header
	if h.Get("Wechatpay-Serial") != serial || len(h.Get("Wechatpay-Nonce")) != 32 || h.Get("Request-Id") == "" {
		t.Fatalf("headers: %v", h)
	}
	ts, _ := strconv.ParseInt(h.Get("Wechatpay-Timestamp"), 10, 64)
	if d := time.Now().Unix() - ts; d < -5 || d > 5 {
		t.Fatalf("timestamp %d is not now", ts)
	}
	sig, _ := base64.StdEncoding.DecodeString(h.Get("Wechatpay-Signature"))
	digest := sha256.Sum256([]byte(h.Get("Wechatpay-Timestamp") + "\n" + h.Get("Wechatpay-Nonce") + "\n" + string(body) + "\n"))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("answer signature (body %q): %v", body, err)
	}
}

// TestDownloadURL: the file is unsigned, its URL expires after the TTL and
// belongs to the merchant that applied.
func TestDownloadURL(t *testing.T) {
	env := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{DownloadURLTTL: 30 * time.Second})
	ctx := context.Background()
	_, _, other := wxsimtest.Keys(t)
	if err := env.Sim.AddMerchant(wxsim.MerchantFromKeys(other, wxsim.KeyModeCert)); err != nil {
		t.Fatal(err)
	}
	c := sdkClient(t, env, env.Merchant.CertSerial(), nil)
	if _, err := c.Post(ctx, api+"/v3/pay/transactions/native", map[string]any{
		"appid": wxsimtest.AppID, "mchid": env.Merchant.MchID, "description": "d", "out_trade_no": "TD20250314000003",
		"notify_url": "https://tandem.example/notify", "amount": map[string]any{"total": 100},
	}); err != nil {
		t.Fatal(err)
	}
	env.Sim.Clock().Set(time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC), true)
	env.Control("POST", "/sim/pay", map[string]string{"out_trade_no": "TD20250314000003", "mchid": env.Merchant.MchID}, nil)
	env.Sim.Clock().Set(time.Date(2025, 3, 15, 3, 0, 0, 0, time.UTC), true) // 11:00 in Shanghai

	apply := func() string {
		result, err := c.Get(ctx, api+"/v3/bill/tradebill?bill_date=2025-03-14")
		if err != nil {
			t.Fatal(err)
		}
		var a struct {
			DownloadURL string `json:"download_url"`
		}
		_ = json.NewDecoder(result.Response.Body).Decode(&a)
		if !strings.HasPrefix(a.DownloadURL, api+"/v3/billdownload/file?token=") {
			t.Fatalf("download_url %q", a.DownloadURL)
		}
		return a.DownloadURL
	}
	u := apply()
	result, err := c.Get(ctx, u)
	if err != nil || result.Response.Header.Get("Wechatpay-Signature") != "" {
		t.Fatalf("download: %v, signature header %q", err, result.Response.Header.Get("Wechatpay-Signature"))
	}
	oc, err := core.NewClient(ctx, option.WithMerchantCredential(other.MchID, other.CertSerial(), other.Key),
		option.WithoutValidator(), option.WithHTTPClient(&http.Client{Transport: tamper{target: mustURL(env.URL)}}))
	if err != nil {
		t.Fatal(err)
	}
	if s, code := statusOf(oc.Get(ctx, u)); s != 403 || code != "NO_AUTH" {
		t.Fatalf("another merchant: %d %s", s, code)
	}
	env.Sim.Clock().Advance(30 * time.Second)
	if s, code := statusOf(c.Get(ctx, u)); s != 400 || code != "INVALID_REQUEST" {
		t.Fatalf("expired URL: %d %s", s, code)
	}
	if _, err := c.Get(ctx, apply()); err != nil {
		t.Fatalf("a new URL: %v", err)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// TestApplymentSensitiveFieldsRefusedInClear: the simulator decrypts an application's
// sensitive fields with the key Wechatpay-Serial names and refuses (400 PARAM_ERROR,
// nothing stored) a field in clear, one encrypted under the other key, and a serial
// naming no key WeChat holds.
func TestApplymentSensitiveFieldsRefusedInClear(t *testing.T) {
	t.Parallel()
	env := wxsimtest.New(t, wxsimtest.ModeSwitch, wxsim.Config{})
	ctx := context.Background()
	c := sdkClient(t, env, env.Merchant.CertSerial(), nil)
	underCert := func(s string) string {
		out, err := utils.EncryptOAEPWithCertificate(s, env.Platform.Cert)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	submit := func(code, serial string, bankNumber string) (int, string) {
		body := map[string]any{"business_code": code,
			"contact_info":      map[string]any{"contact_name": underCert("王五"), "mobile_phone": underCert("13900000003")},
			"business_info":     map[string]any{"merchant_shortname": "王五面馆"},
			"bank_account_info": map[string]any{"account_number": bankNumber, "account_bank": "工商银行"}}
		h := http.Header{}
		if serial != "" {
			h.Set("Wechatpay-Serial", serial)
		}
		return statusOf(c.Request(ctx, http.MethodPost, api+"/v3/applyment4sub/applyment/", h, nil, body, "application/json"))
	}
	certSerial := env.Platform.CertSerial()
	for _, tc := range []struct {
		name, serial, bank string
	}{
		{"a bank account number in clear", certSerial, "6222020200112233445"},
		{"encrypted under the certificate, serial names the public key", env.Platform.PublicKeyID, underCert("6222020200112233445")},
		{"a serial naming no WeChat key", "5157F09EFDC096DE15EBE81A47057A7232F1B8E1", underCert("6222020200112233445")},
		{"no Wechatpay-Serial", "", underCert("6222020200112233445")},
	} {
		code := "TDM-CLEAR-" + strconv.Itoa(len(tc.name))
		if status, wxCode := submit(code, tc.serial, tc.bank); status != http.StatusBadRequest || wxCode != "PARAM_ERROR" {
			t.Errorf("%s: %d %s, want 400 PARAM_ERROR", tc.name, status, wxCode)
		}
		if status, _ := env.ControlStatus(http.MethodGet, "/sim/applyments/"+code, nil); status != http.StatusNotFound {
			t.Errorf("%s: stored anyway (%d)", tc.name, status)
		}
	}
	if status, wxCode := submit("TDM-SEALED-1", certSerial, underCert("6222020200112233445")); status != http.StatusOK {
		t.Fatalf("sealed under the serial it names: %d %s", status, wxCode)
	}
	var got wxsim.ApplymentSubmission
	env.Control(http.MethodGet, "/sim/applyments/TDM-SEALED-1", nil, &got)
	bank, _ := got.Submission["bank_account_info"].(map[string]any)
	if bank["account_number"] != "6222020200112233445" {
		t.Fatalf("WeChat read %v", got.Submission)
	}
}
