package wxsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// ControlHelp documents the control API; `tandem wxsim --help` prints it and
// GET /sim/ returns it.
const ControlHelp = `Control API (only with --control; plain JSON, no signatures):
  POST /sim/pay             {"out_trade_no","mchid"?,"openid"?,"at"?,"bank_type"?,"notify_delay"?}
                            a user pays: books fee and fund flows, sends TRANSACTION.SUCCESS.
                            Pay at 23:59:59 with "notify_delay":"3s" to land the notification
                            on the next day.
  POST /sim/login           {"appid","openid","unionid"?}  a mini-program user calls wx.login:
                            returns {"code"} for GET /sns/jscode2session (single use, 5 minutes)
  POST /sim/close           {"out_trade_no","mchid"?}  WeChat closes an unpaid order (e.g. expiry)
  POST /sim/refund          {"out_trade_no","amount"?,"out_refund_no"?,"reason"?,"settle"?,"mchid"?}
                            a refund made on WeChat's side (merchant platform)
  POST /sim/refunds/settle  {"out_refund_no","status":"SUCCESS|CLOSED|ABNORMAL","at"?,"mchid"?}
                            end a PROCESSING refund and send REFUND.<status>
  GET  /sim/notifications?out_trade_no=   notifications with every delivery attempt
  POST /sim/faults          {"kind",...} queue a fault; GET lists, DELETE clears
       notification faults (next notification, or "out_trade_no" only; "count" of them):
         drop                never delivered
         delay     "delay"   first delivery waits
         duplicate "times"   delivered again N times after it succeeded
         reorder             held until the next notification went out (at most 10s/60s)
         signtest            a WECHATPAY/SIGNTEST/ probe with a bad signature first
         fail      "times"   the first N attempts are lost: the retry schedule takes over
       API faults (next "count" requests under "path", default /v3/):
         api_error "status","code","message"  e.g. 500 SYSTEM_ERROR, 429 FREQUENCY_LIMITED
         api_delay "delay"   answer late (client time-outs)
         response_signtest   answer with a SIGNTEST signature
  POST /sim/applyments      {"business_code","state","reject_reason"?}  WeChat's review moves a
                            sub-merchant application (特约商户进件): AUDITING → REJECTED |
                            TO_BE_CONFIRMED | TO_BE_SIGNED → SIGNING → FINISHED (assigns the
                            sub_mchid); FROZEN or CANCELED from any state not final
  GET  /sim/applyments/{business_code}  the application as WeChat read it: state and the
                            submission with its sensitive fields decrypted
  GET  /sim/clock           the simulator's business time
  POST /sim/clock           {"now":RFC3339,"freeze"?:bool} | {"advance":"25h"} | {"reset":true}
  POST /sim/wait            block until no notification is in flight ("timeout", default 30s)
Notifications retry on WeChat's schedule 15s/15s/30s/3m/10m/20m/30m/30m/30m/60m/3h/3h/3h/6h/6h
(times --notify-scale) until the merchant answers 200 or 204.`

func (s *Sim) routeControl(mux *http.ServeMux) {
	mux.HandleFunc("GET /sim/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(ControlHelp + "\n"))
	})
	mux.HandleFunc("POST /sim/pay", control(func(ctx context.Context, p PayRequest) (any, error) {
		o, err := s.Pay(ctx, p)
		if err != nil {
			return nil, err
		}
		return transactionJSON(o), nil
	}))
	mux.HandleFunc("POST /sim/applyments", control(func(ctx context.Context, m ApplymentMove) (any, error) { return s.MoveApplyment(ctx, m) }))
	mux.HandleFunc("GET /sim/applyments/{business_code}", func(w http.ResponseWriter, r *http.Request) {
		a, err := s.Applyment(r.Context(), r.PathValue("business_code"))
		writeControl(w, a, err)
	})
	mux.HandleFunc("POST /sim/login", control(func(ctx context.Context, r LoginRequest) (any, error) {
		code, err := s.Login(ctx, r)
		if err != nil {
			return nil, err
		}
		return map[string]string{"code": code}, nil
	}))
	mux.HandleFunc("POST /sim/close", control(func(ctx context.Context, p struct {
		MchID      string `json:"mchid"`
		OutTradeNo string `json:"out_trade_no"`
	}) (any, error) {
		m, err := s.resolveMerchant(p.MchID)
		if err != nil {
			return nil, err
		}
		resp, err := s.closeTx(ctx, m.MchID, p.OutTradeNo)
		if err != nil {
			return nil, err
		}
		if resp.status != http.StatusNoContent {
			return nil, &opError{status: http.StatusConflict, msg: string(resp.body)}
		}
		return map[string]string{"out_trade_no": p.OutTradeNo, "trade_state": "CLOSED"}, nil
	}))
	mux.HandleFunc("POST /sim/refund", control(func(ctx context.Context, r RefundRequest) (any, error) {
		return s.refundView(ctx, func() (*refund, error) { return s.Refund(ctx, r) })
	}))
	mux.HandleFunc("POST /sim/refunds/settle", control(func(ctx context.Context, p struct {
		MchID       string     `json:"mchid"`
		OutRefundNo string     `json:"out_refund_no"`
		Status      string     `json:"status"`
		At          *time.Time `json:"at"`
	}) (any, error) {
		return s.refundView(ctx, func() (*refund, error) {
			return s.SettleRefund(ctx, p.MchID, p.OutRefundNo, p.Status, p.At)
		})
	}))
	mux.HandleFunc("GET /sim/notifications", func(w http.ResponseWriter, r *http.Request) {
		list, err := s.Notifications(r.Context(), r.URL.Query().Get("out_trade_no"))
		writeControl(w, list, err)
	})
	mux.HandleFunc("POST /sim/faults", control(func(_ context.Context, f Fault) (any, error) {
		if err := s.faults.add(f); err != nil {
			return nil, &opError{status: http.StatusBadRequest, msg: err.Error()}
		}
		return s.faults.pending(), nil
	}))
	mux.HandleFunc("GET /sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, s.faults.pending(), nil)
	})
	mux.HandleFunc("DELETE /sim/faults", func(w http.ResponseWriter, _ *http.Request) {
		s.faults.clear()
		writeControl(w, []Fault{}, nil)
	})
	mux.HandleFunc("GET /sim/clock", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, s.clockView(), nil)
	})
	mux.HandleFunc("POST /sim/clock", control(func(_ context.Context, p struct {
		Now     *time.Time `json:"now"`
		Freeze  bool       `json:"freeze"`
		Advance Duration   `json:"advance"`
		Reset   bool       `json:"reset"`
	}) (any, error) {
		switch {
		case p.Reset:
			s.clock.Reset()
		case p.Now != nil:
			s.clock.Set(*p.Now, p.Freeze)
		default:
			s.clock.Advance(time.Duration(p.Advance))
		}
		return s.clockView(), nil
	}))
	mux.HandleFunc("POST /sim/wait", control(func(ctx context.Context, p struct {
		Timeout Duration `json:"timeout"`
	}) (any, error) {
		if p.Timeout <= 0 {
			p.Timeout = Duration(30 * time.Second)
		}
		ctx, cancel := context.WithTimeout(ctx, time.Duration(p.Timeout))
		defer cancel()
		if err := s.Wait(ctx); err != nil {
			return nil, &opError{status: http.StatusGatewayTimeout, msg: "notifications still in flight"}
		}
		return map[string]bool{"idle": true}, nil
	}))
}

func (s *Sim) clockView() map[string]string {
	return map[string]string{"now": rfc3339(s.clock.Now())}
}

func (s *Sim) refundView(ctx context.Context, do func() (*refund, error)) (any, error) {
	r, err := do()
	if err != nil {
		return nil, err
	}
	o, err := orderByTransactionID(ctx, s.db, r.MchID, r.TransactionID, false)
	if err != nil {
		return nil, err
	}
	return refundJSON(r, o), nil
}

// control adapts a typed control operation to HTTP: JSON in, JSON out.
func control[In any](op func(context.Context, In) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in In
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
			writeControl(w, nil, &opError{status: http.StatusBadRequest, msg: "bad JSON: " + err.Error()})
			return
		}
		out, err := op(r.Context(), in)
		writeControl(w, out, err)
	}
}

func writeControl(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status := http.StatusInternalServerError
		var op *opError
		if errors.As(err, &op) {
			status = op.status
		}
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}
