package wxpay_test

import (
	"context"
	"net/http"
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
		MerchantShortname: "小笼包", LicenceNumber: "91310000MA1K000000", LegalPerson: "张三", BankAccount: "6222000000000000", BankName: "工商银行"}
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
