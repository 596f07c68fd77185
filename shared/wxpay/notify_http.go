package wxpay

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/tandemcrm/tandem/shared/errs"
)

// NotifyFunc handles one genuine notification. n.Mismatch is set when it names
// another merchant or app. Returning nil acknowledges it (WeChat stops sending);
// an error makes WeChat send it again on its retry schedule, so return nil once
// the fact is durably recorded, mismatches included. WeChat waits 5 s at most.
type NotifyFunc func(ctx context.Context, n *Notification) error

// maxNotifyBody bounds what we read from the notify endpoint; real ones are ~1 KiB.
const maxNotifyBody = 64 << 10

// NotifyHandler is the HTTP endpoint WeChat posts notifications to. It answers as
// WeChat judges, by status code only (shared/wxpay/WECHATPAY.md c): 204 when handled, 401 for
// a notification that is not genuine, 500 when fn fails or anything panics, each
// failure with the documented {"code":"FAIL","message":...} body.
func (c *Client) NotifyHandler(fn NotifyFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		defer func() {
			if p := recover(); p != nil {
				c.logger.ErrorContext(ctx, "wxpay notify handler panicked", "panic", fmt.Sprint(p))
				answerNotify(w, http.StatusInternalServerError, "internal error")
			}
		}()
		if r.Method != http.MethodPost {
			answerNotify(w, http.StatusMethodNotAllowed, "POST only")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxNotifyBody)
		n, err := c.ParseNotification(ctx, r)
		if err != nil && errs.CodeOf(err) != CodeNotifyMismatch {
			c.logger.WarnContext(ctx, "wxpay notification refused", "err", err)
			answerNotify(w, errs.KindOf(err).HTTPStatus(), "invalid notification")
			return
		}
		if err := fn(ctx, n); err != nil {
			c.logger.ErrorContext(ctx, "wxpay notification not handled", "id", n.ID, "event", n.EventType, "err", err)
			answerNotify(w, http.StatusInternalServerError, "not handled")
			return
		}
		c.logger.InfoContext(ctx, "wxpay notification handled", slog.String("id", n.ID),
			slog.String("event", n.EventType), slog.Bool("mismatch", n.Mismatch != nil))
		w.WriteHeader(http.StatusNoContent)
	})
}

func answerNotify(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": "FAIL", "message": message})
}
