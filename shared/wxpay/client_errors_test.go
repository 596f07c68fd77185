package wxpay_test

import (
	"context"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

func pendingFaults(t *testing.T, env *wxsimtest.Env) []wxsim.Fault {
	var out []wxsim.Fault
	env.Control("GET", "/sim/faults", nil, &out)
	return out
}

// TestRetriesOnlyIdempotentCalls: WeChat's retryable errors are retried for
// queries and refunds, never for prepay; the kinds tell callers what to do.
func TestRetriesOnlyIdempotentCalls(t *testing.T) {
	env := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{})
	c := env.Client()
	ctx := context.Background()
	if _, err := c.PrepayNative(ctx, order("TD20250314000101", 100, "https://tandem.example/notify")); err != nil {
		t.Fatal(err)
	}

	env.Control("POST", "/sim/faults", wxsim.Fault{Kind: wxsim.FaultAPIError, Code: "SYSTEM_ERROR", Status: 500}, nil)
	if _, err := c.QueryOrder(ctx, "TD20250314000101"); err != nil {
		t.Fatalf("query after one SYSTEM_ERROR should have been retried: %v", err)
	}

	env.Control("POST", "/sim/faults", wxsim.Fault{Kind: wxsim.FaultAPIError, Code: "SYSTEM_ERROR", Status: 500,
		Path: "/v3/pay/transactions/native"}, nil)
	_, err := c.PrepayNative(ctx, order("TD20250314000102", 100, "https://tandem.example/notify"))
	wantCode(t, err, wxpay.CodeSystemError, errs.KindUnavailable)
	if !errs.KindOf(err).Retryable() || len(pendingFaults(t, env)) != 0 {
		t.Fatalf("prepay must fail once, unretried: %v, faults left %v", err, pendingFaults(t, env))
	}

	env.Control("POST", "/sim/faults", wxsim.Fault{Kind: wxsim.FaultAPIError, Count: 5, Status: 429,
		Code: "FREQUENCY_LIMITED", Message: "频率超限"}, nil)
	_, err = c.QueryOrder(ctx, "TD20250314000101")
	wantCode(t, err, wxpay.CodeFrequencyLimited, errs.KindTooMany)
	if left := pendingFaults(t, env); len(left) != 1 || left[0].Count != 2 {
		t.Fatalf("three attempts should have used three of five faults, left %+v", left)
	}
	env.Control("DELETE", "/sim/faults", nil, nil)

	// WeChat's deliberate bad signatures on answers: an idempotent call asks again.
	env.Control("POST", "/sim/faults", wxsim.Fault{Kind: wxsim.FaultResponseSignTest}, nil)
	if _, err := c.QueryOrder(ctx, "TD20250314000101"); err != nil {
		t.Fatalf("query after a SIGNTEST answer should have been retried: %v", err)
	}
	env.Control("POST", "/sim/faults", wxsim.Fault{Kind: wxsim.FaultResponseSignTest}, nil)
	_, err = c.PrepayNative(ctx, order("TD20250314000103", 100, "https://tandem.example/notify"))
	wantCode(t, err, wxpay.CodeResponseUnverified, errs.KindUnavailable)

	// Time-outs: each attempt is bounded; all three time out.
	slow := env.Client(wxpay.WithCallTimeout(100 * time.Millisecond))
	env.Control("POST", "/sim/faults", wxsim.Fault{Kind: wxsim.FaultAPIDelay, Count: 3, Delay: wxsim.Duration(2 * time.Second)}, nil)
	_, err = slow.QueryOrder(ctx, "TD20250314000101")
	wantCode(t, err, wxpay.CodeTimeout, errs.KindTimeout)
}

// TestClientRefusesUnverifiableAnswers: answers signed by a key the account does
// not trust, and requests of a merchant WeChat does not know, fail.
func TestClientRefusesUnverifiableAnswers(t *testing.T) {
	env := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{})
	ctx := context.Background()
	strangers, err := wxsim.GeneratePlatformKeys()
	if err != nil {
		t.Fatal(err)
	}
	acct := env.Account
	acct.PlatformCerts = append(acct.PlatformCerts[:0:0], strangers.Cert) // trusts another WeChat
	c, err := wxpay.New(ctx, acct, wxpay.WithBaseURL(env.URL), wxpay.WithRetry(wxpay.RetryPolicy{Attempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PrepayNative(ctx, order("TD20250314000201", 100, "https://tandem.example/notify"))
	wantCode(t, err, wxpay.CodeResponseUnverified, errs.KindUnavailable)

	_, _, other := wxsimtest.Keys(t)
	unknown := wxsim.AccountFor(env.Platform, other, wxsimtest.AppID)
	c2, err := wxpay.New(ctx, unknown, wxpay.WithBaseURL(env.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.QueryOrder(ctx, "TD20250314000201")
	wantCode(t, err, "wxpay.sign_error", errs.KindUnauthorized)

	// A 16-byte APIv3 key would silently select AES-128 in the SDK: refused up front.
	short := env.Account
	short.APIv3Key = "testMchAPIv3Key0"
	if _, err := wxpay.New(ctx, short); err == nil {
		t.Fatal("a 16-byte APIv3 key must be refused")
	}
}
