package wxpay

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/wechatpay-apiv3/wechatpay-go/core"

	"github.com/tandemcrm/tandem/shared/errs"
)

// Error codes this package returns besides "wxpay.<lower-case WeChat code>".
const (
	CodeOrderPaid          = "wxpay.order_paid"
	CodeOrderClosed        = "wxpay.order_closed"
	CodeOrderNotExist      = "wxpay.order_not_exist"
	CodeResourceNotExists  = "wxpay.resource_not_exists"
	CodeNoStatementExist   = "wxpay.no_statement_exist"
	CodeStatementCreating  = "wxpay.statement_creating"
	CodeSystemError        = "wxpay.system_error"
	CodeFrequencyLimited   = "wxpay.frequency_limited"
	CodeNotifyInvalid      = "wxpay.notify_invalid"      // not a genuine notification
	CodeNotifyMismatch     = "wxpay.notify_mismatch"     // genuine, but not what we expect
	CodeBillHashMismatch   = "wxpay.bill_hash_mismatch"  // downloaded file differs from its digest
	CodeResponseUnverified = "wxpay.response_unverified" // a 2xx answer whose signature failed
	CodeResponseMalformed  = "wxpay.response_malformed"
	CodeTimeout            = "wxpay.timeout"
	CodeUnreachable        = "wxpay.unreachable"
	CodeRequestInvalid     = "wxpay.request_invalid"
)

// codeKinds says what a caller can do about each WeChat error code. Codes that
// appear under two spellings across WeChat's v2/v3 documents share one errs code.
var codeKinds = map[string]struct {
	kind errs.Kind
	code string
}{
	"ORDERPAID":             {errs.KindConflict, CodeOrderPaid},
	"ORDER_PAID":            {errs.KindConflict, CodeOrderPaid},
	"ORDER_CLOSED":          {errs.KindConflict, CodeOrderClosed},
	"ORDERCLOSED":           {errs.KindConflict, CodeOrderClosed},
	"OUT_TRADE_NO_USED":     {errs.KindConflict, "wxpay.out_trade_no_used"},
	"ORDERNOTEXIST":         {errs.KindNotFound, CodeOrderNotExist},
	"ORDER_NOT_EXIST":       {errs.KindNotFound, CodeOrderNotExist},
	"RESOURCE_NOT_EXISTS":   {errs.KindNotFound, CodeResourceNotExists},
	"NO_STATEMENT_EXIST":    {errs.KindNotFound, CodeNoStatementExist},
	"STATEMENT_CREATING":    {errs.KindUnavailable, CodeStatementCreating},
	"SYSTEM_ERROR":          {errs.KindUnavailable, CodeSystemError},
	"SYSTEMERROR":           {errs.KindUnavailable, CodeSystemError},
	"BANK_ERROR":            {errs.KindUnavailable, "wxpay.bank_error"},
	"BANKERROR":             {errs.KindUnavailable, "wxpay.bank_error"},
	"FREQUENCY_LIMITED":     {errs.KindTooMany, CodeFrequencyLimited},
	"RATELIMIT_EXCEEDED":    {errs.KindTooMany, CodeFrequencyLimited},
	"NOT_ENOUGH":            {errs.KindUnprocessable, "wxpay.not_enough"},
	"NOTENOUGH":             {errs.KindUnprocessable, "wxpay.not_enough"},
	"USER_ACCOUNT_ABNORMAL": {errs.KindUnprocessable, "wxpay.user_account_abnormal"},
	"PARAM_ERROR":           {errs.KindInvalid, "wxpay.param_error"},
	"INVALID_REQUEST":       {errs.KindInvalid, "wxpay.invalid_request"},
	"MCH_NOT_EXISTS":        {errs.KindInvalid, "wxpay.mch_not_exists"},
	"APPID_MCHID_NOT_MATCH": {errs.KindInvalid, "wxpay.appid_mchid_not_match"},
	"SIGN_ERROR":            {errs.KindUnauthorized, "wxpay.sign_error"},
	"NO_AUTH":               {errs.KindForbidden, "wxpay.no_auth"},
}

// apiError turns what the SDK returned into an *errs.Error. result is the SDK's
// APIResult (may be nil); a non-nil error with a 2xx response means the answer
// arrived but failed verification (or did not parse).
func apiError(op string, result *core.APIResult, err error) error {
	if err == nil {
		return nil
	}
	var apiErr *core.APIError
	if errors.As(err, &apiErr) {
		return fromAPIError(op, apiErr)
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &syntaxErr) || errors.As(err, &typeErr) {
		return errs.Wrap(err, errs.KindInternal, CodeResponseMalformed, op+": WeChat Pay answered with JSON we cannot read")
	}
	if result != nil && result.Response != nil && result.Response.StatusCode/100 == 2 {
		// The SDK's validator refused the answer: bad signature, stale timestamp,
		// unknown serial, or one of WeChat's deliberate SIGNTEST probes. Asking
		// again is the right reaction for an idempotent call.
		return errs.Wrap(err, errs.KindUnavailable, CodeResponseUnverified, op+": WeChat Pay answer failed signature verification")
	}
	return transportError(op, err)
}

func fromAPIError(op string, apiErr *core.APIError) error {
	msg := op + ": " + apiErr.Message
	if m, ok := codeKinds[apiErr.Code]; ok {
		return errs.Wrap(apiErr, m.kind, m.code, msg)
	}
	code := "wxpay." + strings.ToLower(apiErr.Code)
	if apiErr.Code == "" {
		code = "wxpay.http_" + http.StatusText(apiErr.StatusCode)
		code = strings.ToLower(strings.ReplaceAll(code, " ", "_"))
	}
	return errs.Wrap(apiErr, kindOfStatus(apiErr.StatusCode), code, msg)
}

func kindOfStatus(status int) errs.Kind {
	switch {
	case status == http.StatusTooManyRequests:
		return errs.KindTooMany
	case status >= 500:
		return errs.KindUnavailable
	case status == http.StatusUnauthorized:
		return errs.KindUnauthorized
	case status == http.StatusForbidden:
		return errs.KindForbidden
	case status == http.StatusNotFound:
		return errs.KindNotFound
	case status == http.StatusConflict:
		return errs.KindConflict
	}
	return errs.KindInvalid
}

// transportError classifies errors raised before any answer arrived.
func transportError(op string, err error) error {
	if errors.Is(err, context.Canceled) {
		return errs.Wrap(err, errs.KindUnavailable, "wxpay.canceled", op+": canceled")
	}
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return errs.Wrap(err, errs.KindTimeout, CodeTimeout, op+": WeChat Pay did not answer in time")
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) || errors.As(err, &netErr) {
		return errs.Wrap(err, errs.KindUnavailable, CodeUnreachable, op+": WeChat Pay unreachable")
	}
	// What is left comes from the SDK refusing to build the request (a required
	// field missing) or from our own code: not retryable.
	return errs.Wrap(err, errs.KindInvalid, CodeRequestInvalid, op+": request refused before sending")
}
