package wxpay_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

// An application goes through WeChat's review as the control API moves it: rejected,
// resubmitted under the same business_code, signed, finished with a sub-merchant
// number; moves WeChat does not make are refused.
func TestApplymentLifecycle(t *testing.T) {
	t.Parallel()
	env := wxsimtest.New(t, wxsimtest.ModePublicKey, wxsim.Config{})
	c := env.Client()
	ctx := context.Background()
	req := wxpay.ApplymentRequest{BusinessCode: "TDM-APPLY-0001", ContactName: "张三", ContactPhone: "13900000001",
		MerchantShortname: "小笼包", LicenceNumber: "91310000MA1K000000", LegalPerson: "张三", BankAccountNumber: "6222000000000000", BankName: "工商银行"}
	id, err := c.SubmitApplyment(ctx, req)
	if err != nil || id == 0 {
		t.Fatalf("submit: %d %v", id, err)
	}
	again, err := c.SubmitApplyment(ctx, req)
	if err != nil || again != id {
		t.Fatalf("a repeated submission is the same application: %d %v", again, err)
	}
	a, err := c.QueryApplyment(ctx, req.BusinessCode)
	if err != nil || a.State != wxpay.ApplymentAuditing || a.ApplymentID != id {
		t.Fatalf("query: %+v %v", a, err)
	}
	move := func(state, reason string) int {
		status, _ := env.ControlStatus(http.MethodPost, "/sim/applyments", wxsim.ApplymentMove{BusinessCode: req.BusinessCode, State: state, RejectReason: reason})
		return status
	}
	if st := move("SIGNING", ""); st != http.StatusConflict {
		t.Fatalf("auditing → signing: %d", st)
	}
	if st := move("REJECTED", "门头照不清晰"); st != http.StatusOK {
		t.Fatalf("reject: %d", st)
	}
	if a, _ = c.QueryApplyment(ctx, req.BusinessCode); a.State != wxpay.ApplymentRejected || a.RejectReason() != "门头照不清晰" {
		t.Fatalf("rejected: %+v", a)
	}
	if _, err := c.SubmitApplyment(ctx, req); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"TO_BE_CONFIRMED", "TO_BE_SIGNED", "SIGNING", "FINISHED"} {
		if code := move(st, ""); code != http.StatusOK {
			t.Fatalf("→ %s: %d", st, code)
		}
	}
	a, err = c.QueryApplyment(ctx, req.BusinessCode)
	if err != nil || a.State != wxpay.ApplymentFinished || a.SubMchID == "" || a.SignURL == "" {
		t.Fatalf("finished: %+v %v", a, err)
	}
	if st := move("CANCELED", ""); st != http.StatusConflict {
		t.Fatalf("a finished application cannot be cancelled: %d", st)
	}
	_, err = c.QueryApplyment(ctx, "NOPE-0001")
	if errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("unknown business_code: %v", err)
	}
}

// recorder keeps the body and Wechatpay-Serial of every request that goes out.
type recorder struct {
	mu      sync.Mutex
	bodies  []string
	serials []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		r.mu.Lock()
		r.bodies = append(r.bodies, string(b))
		r.serials = append(r.serials, req.Header.Get("Wechatpay-Serial"))
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

// The ID card, bank account and contact fields leave Tandem encrypted with the key
// the request's Wechatpay-Serial names (the platform certificate, or the WeChat Pay
// public key when the account has one), and WeChat reads them back exactly.
func TestApplymentSensitiveFieldsEncrypted(t *testing.T) {
	t.Parallel()
	for _, mode := range wxsimtest.Modes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			env := wxsimtest.New(t, mode, wxsim.Config{})
			rec := &recorder{}
			c := env.Client(wxpay.WithHTTPClient(&http.Client{Transport: rec}))
			req := wxpay.ApplymentRequest{BusinessCode: "TDM-SENSITIVE-" + string(mode), MerchantShortname: "小笼包",
				ContactName: "李四", ContactPhone: "+8613900000002", ContactIDNumber: "310101199001011234", ContactEmail: "li@example.com",
				LicenceNumber: "91310000MA1K000001", IDCardName: "李四", IDCardNumber: "310101199001011234",
				BankAccountName: "李四", BankAccountNumber: "6222020200112233445", BankName: "工商银行"}
			if _, err := c.SubmitApplyment(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			want := env.Platform.CertSerial()
			if mode != wxsimtest.ModeCert {
				want = env.Platform.PublicKeyID
			}
			rec.mu.Lock()
			body, serial := rec.bodies[0], rec.serials[0]
			rec.mu.Unlock()
			if serial != want {
				t.Fatalf("Wechatpay-Serial %q, want %q", serial, want)
			}
			for _, plain := range []string{"李四", "13900000002", "310101199001011234", "6222020200112233445", "li@example.com"} {
				if strings.Contains(body, plain) {
					t.Fatalf("%q went out in clear: %s", plain, body)
				}
			}
			var got wxsim.ApplymentSubmission
			env.Control(http.MethodGet, "/sim/applyments/"+req.BusinessCode, nil, &got)
			read := func(path ...string) string {
				var cur any = got.Submission
				for _, k := range path {
					m, _ := cur.(map[string]any)
					cur = m[k]
				}
				s, _ := cur.(string)
				return s
			}
			for _, f := range []struct {
				path []string
				want string
			}{
				{[]string{"contact_info", "contact_name"}, "李四"},
				{[]string{"contact_info", "mobile_phone"}, "+8613900000002"},
				{[]string{"contact_info", "contact_id_number"}, "310101199001011234"},
				{[]string{"contact_info", "contact_email"}, "li@example.com"},
				{[]string{"subject_info", "identity_info", "id_card_info", "id_card_name"}, "李四"},
				{[]string{"subject_info", "identity_info", "id_card_info", "id_card_number"}, "310101199001011234"},
				{[]string{"bank_account_info", "account_name"}, "李四"},
				{[]string{"bank_account_info", "account_number"}, "6222020200112233445"},
				{[]string{"subject_info", "business_license_info", "license_number"}, "91310000MA1K000001"},
			} {
				if v := read(f.path...); v != f.want {
					t.Errorf("WeChat read %s = %q, want %q", strings.Join(f.path, "."), v, f.want)
				}
			}
		})
	}
}
