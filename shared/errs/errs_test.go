package errs_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/tandemcrm/tandem/shared/errs"
)

func TestKindStatusAndRetry(t *testing.T) {
	want := map[errs.Kind]struct {
		status int
		retry  bool
	}{
		errs.KindInternal: {500, false}, errs.KindInvalid: {400, false}, errs.KindUnprocessable: {422, false},
		errs.KindUnauthorized: {401, false}, errs.KindForbidden: {403, false}, errs.KindNotFound: {404, false},
		errs.KindConflict: {409, false}, errs.KindTooMany: {429, true}, errs.KindUnavailable: {503, true},
		errs.KindTimeout: {504, true}, errs.KindTooLarge: {413, false},
	}
	for k, w := range want {
		if k.HTTPStatus() != w.status || k.Retryable() != w.retry {
			t.Errorf("%s: status %d retry %v, want %d %v", k, k.HTTPStatus(), k.Retryable(), w.status, w.retry)
		}
	}
}

func TestWrappedErrorsKeepKindCodeAndCause(t *testing.T) {
	cause := errors.New("connection reset")
	e := errs.Wrap(cause, errs.KindUnavailable, "wxpay.system_error", "WeChat Pay is unavailable")
	wrapped := fmt.Errorf("refund order 42: %w", e)
	if errs.KindOf(wrapped) != errs.KindUnavailable || errs.CodeOf(wrapped) != "wxpay.system_error" || !errs.Is(wrapped, "wxpay.system_error") {
		t.Fatalf("lost through wrapping: %v", wrapped)
	}
	if !errors.Is(wrapped, cause) {
		t.Fatal("the cause must stay reachable")
	}
	if errs.KindOf(cause) != errs.KindInternal || errs.CodeOf(cause) != "" {
		t.Fatal("a plain error is internal with no code")
	}
	f := errs.Invalidf("amount", "amount must be positive").WithField("items[0].amount")
	if f.Field != "items[0].amount" || f.Kind != errs.KindInvalid {
		t.Fatalf("%+v", f)
	}
}

// Params and a reason are carried by copies, leaving the original as it was.
func TestParamsAndReasonAreCopied(t *testing.T) {
	base := errs.E(errs.KindUnprocessable, "consumer.coupon_below_threshold", "short")
	e := base.WithParams("Missing", "12.50").WithReason("category", "Threshold", "100.00")
	if base.Params != nil || base.Reason != "" {
		t.Fatalf("the original changed: %+v", base)
	}
	if e.Reason != "category" || e.Params["Missing"] != "12.50" || e.Params["Threshold"] != "100.00" || e.Code != base.Code {
		t.Fatalf("%+v", e)
	}
	if f := e.WithField("coupon_ids"); f.Params["Missing"] != "12.50" || f.Reason != "category" {
		t.Fatalf("lost by WithField: %+v", f)
	}
}
