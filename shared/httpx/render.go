package httpx

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/tandemcrm/tandem/shared/errs"
)

// ErrorBody is the JSON of every error answer.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject: code is stable for programs, message is for people, field names the
// input at fault when there is one.
type ErrorObject struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	Field     string `json:"field,omitempty"`
	RequestID string `json:"request_id"`
}

// Render writes err as the error object with its kind's status, and logs it: this is
// the one place an error is logged, so nothing below the edge logs and returns too.
// Causes and internal errors are logged in full and never sent to the client.
func Render(c *gin.Context, err error) {
	e := errs.As(err)
	if e == nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			e = errs.E(errs.KindTooLarge, "body_too_large", fmt.Sprintf("request body is larger than %d bytes", maxErr.Limit))
		} else {
			e = errs.Wrap(err, errs.KindInternal, "internal", "internal error")
		}
	}
	writeError(c, e.Kind.HTTPStatus(), e, err)
}

// writeError logs and writes e with the given status.
func writeError(c *gin.Context, status int, e *errs.Error, err error) {
	log := logger(c)
	ctx := c.Request.Context()
	if status >= 500 {
		log.ErrorContext(ctx, "request failed", "code", e.Code, "status", status, "err", err)
	} else {
		log.DebugContext(ctx, "request refused", "code", e.Code, "status", status, "err", err)
	}
	msg := e.Message
	if e.Kind == errs.KindInternal {
		msg = "internal error" // whatever the code said, an internal message is not for clients
	} else if t, ok := c.Get(translatorKey); ok {
		if lang := acceptedLanguage(c.GetHeader("Accept-Language")); lang != "" {
			msg = t.(Translator).ErrorMessage(lang, e)
		}
	}
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorObject{Code: e.Code, Message: msg, Field: e.Field, RequestID: RequestID(c)}})
}

func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(loggerKeyName); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

const loggerKeyName = "httpx.logger"

// recovery turns a panic into a logged stack and a 500 error object; the client never
// sees the stack. It also makes the logger available to Render.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Set(loggerKeyName, log)
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(p)
			}
			log.ErrorContext(c.Request.Context(), "panic in handler", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if c.Writer.Written() {
				c.Abort()
				return
			}
			Render(c, errs.E(errs.KindInternal, "internal", "internal error"))
		}()
		c.Next()
	}
}

func bodyLimit(limit int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > limit {
			Render(c, errs.E(errs.KindTooLarge, "body_too_large", fmt.Sprintf("request body is larger than %d bytes", limit)))
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
		c.Next()
	}
}
