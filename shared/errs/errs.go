// Package errs is Tandem's one error type: a kind (what a caller can do about it),
// a stable machine code ("billing.order_paid"), a message safe to show a user, the
// field at fault when there is one, and the cause, which is logged but never shown.
//
// Errors are created where the fact is known, wrapped with %w on the way up, and
// turned into an HTTP answer in exactly one place (shared/httpx).
package errs

import (
	"errors"
	"fmt"
	"net/http"
)

// Kind classifies an error by what the caller can do about it.
type Kind uint8

const (
	KindInternal      Kind = iota // a bug or an unexpected failure: 500
	KindInvalid                   // bad input: 400 (422 for semantic rules, see Unprocessable)
	KindUnprocessable             // well-formed but breaks a rule: 422
	KindUnauthorized              // who are you: 401
	KindForbidden                 // you may not: 403
	KindNotFound                  // no such thing, or not visible to you: 404
	KindConflict                  // state forbids it (duplicate, already paid): 409
	KindTooMany                   // rate limited: 429
	KindUnavailable               // a dependency is down; retry later: 503
	KindTimeout                   // a dependency did not answer in time; retry later: 504
	KindTooLarge                  // request body too large: 413
)

var kindNames = [...]string{"internal", "invalid", "unprocessable", "unauthorized", "forbidden",
	"not_found", "conflict", "too_many_requests", "unavailable", "timeout", "too_large"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// HTTPStatus is the status an error of this kind is answered with.
func (k Kind) HTTPStatus() int {
	switch k {
	case KindInvalid:
		return http.StatusBadRequest
	case KindUnprocessable:
		return http.StatusUnprocessableEntity
	case KindUnauthorized:
		return http.StatusUnauthorized
	case KindForbidden:
		return http.StatusForbidden
	case KindNotFound:
		return http.StatusNotFound
	case KindConflict:
		return http.StatusConflict
	case KindTooMany:
		return http.StatusTooManyRequests
	case KindUnavailable:
		return http.StatusServiceUnavailable
	case KindTimeout:
		return http.StatusGatewayTimeout
	case KindTooLarge:
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusInternalServerError
}

// Retryable reports whether the same call may succeed later without changes.
func (k Kind) Retryable() bool {
	return k == KindUnavailable || k == KindTimeout || k == KindTooMany
}

// Error is Tandem's error. Message and Field are safe to show; Err is not.
type Error struct {
	Kind    Kind
	Code    string // stable, dotted: "merchant.lead_duplicate"
	Message string // safe for the client, in English; the console translates by Code
	Field   string // the input field at fault, if any ("amount", "items[2].sku")
	Err     error  // the cause, for logs only
	// RetryAfter, when set, is sent as the Retry-After header (seconds).
	RetryAfter int
	// Reason names which of the code's rules was broken when the code covers several
	// ("threshold_order"): the catalogues word "error.<code>.<reason>" ahead of
	// "error.<code>". Params are the values the words need in any language
	// ("Missing": "12.50"), the data of the catalogue's template, so that a refusal
	// reads in Chinese with its amounts and not only in Message's English.
	Reason string
	Params map[string]any
}

func (e *Error) Error() string {
	s := e.Code
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// E makes a new error.
func E(kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message}
}

// Wrap makes a new error with a cause.
func Wrap(err error, kind Kind, code, message string) *Error {
	return &Error{Kind: kind, Code: code, Message: message, Err: err}
}

// Invalidf is bad input in one field: 400, code "invalid_input" unless given.
func Invalidf(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: "invalid_input", Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound is a missing (or invisible) object of the named type, e.g. NotFound("merchant.lead").
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: what + "_not_found", Message: what + " not found"}
}

// WithField returns a copy naming the field at fault.
func (e *Error) WithField(field string) *Error {
	c := *e
	c.Field = field
	return &c
}

// WithParams returns a copy carrying the values its translated message needs, given as
// name, value pairs: E(...).WithParams("Missing", "12.50", "Threshold", "100.00").
func (e *Error) WithParams(kv ...any) *Error {
	c := *e
	c.Params = make(map[string]any, len(e.Params)+len(kv)/2)
	for k, v := range e.Params {
		c.Params[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		c.Params[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return &c
}

// WithReason returns a copy naming the rule broken (Reason) with the values its words
// need (WithParams).
func (e *Error) WithReason(reason string, kv ...any) *Error {
	c := e.WithParams(kv...)
	c.Reason = reason
	return c
}

// As returns the first *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// KindOf returns the kind of the first *Error in the chain; KindInternal when there is none.
func KindOf(err error) Kind {
	if e := As(err); e != nil {
		return e.Kind
	}
	return KindInternal
}

// CodeOf returns the code of the first *Error in the chain, or "" when there is none.
func CodeOf(err error) string {
	if e := As(err); e != nil {
		return e.Code
	}
	return ""
}

// Is reports whether err carries the given code.
func Is(err error, code string) bool { return CodeOf(err) == code }
