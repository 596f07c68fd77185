package wxpay_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

func notifications(t *testing.T, env *wxsimtest.Env, outTradeNo string) []wxsim.NotificationRecord {
	t.Helper()
	var out []wxsim.NotificationRecord
	env.Control("GET", "/sim/notifications?out_trade_no="+outTradeNo, nil, &out)
	return out
}

func attemptCodes(r wxsim.NotificationRecord) (kinds []string, codes []int) {
	for _, a := range r.Attempts {
		kinds = append(kinds, a.Kind)
		codes = append(codes, a.StatusCode)
	}
	return kinds, codes
}

// TestNotificationDeliveryFaults: each fault the simulator injects, seen from
// Tandem's notify endpoint and from the simulator's delivery record.
func TestNotificationDeliveryFaults(t *testing.T) {
	env := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{NotifyScale: 0.001})
	c := env.Client()
	rcv := newReceiver(t, c)
	ctx := context.Background()
	pay := func(no string) {
		t.Helper()
		if _, err := c.PrepayJSAPI(ctx, order(no, 100, rcv.URL), "oOpenID0001"); err != nil {
			t.Fatal(err)
		}
		env.Control("POST", "/sim/pay", wxsim.PayRequest{OutTradeNo: no}, nil)
	}
	fault := func(f wxsim.Fault) { env.Control("POST", "/sim/faults", f, nil) }

	t.Run("duplicate", func(t *testing.T) {
		fault(wxsim.Fault{Kind: wxsim.FaultDuplicate, Times: 2})
		pay("TD20250314000501")
		a, b, c := rcv.next(t), rcv.next(t), rcv.next(t)
		if a.ID != b.ID || b.ID != c.ID {
			t.Fatalf("duplicates should repeat one notification: %s %s %s", a.ID, b.ID, c.ID)
		}
		env.Wait()
		kinds, codes := attemptCodes(notifications(t, env, "TD20250314000501")[0])
		if len(kinds) != 3 || kinds[2] != "DUPLICATE" || codes[0] != 204 {
			t.Fatalf("attempts %v %v", kinds, codes)
		}
	})

	t.Run("lost attempts are retried on the schedule", func(t *testing.T) {
		fault(wxsim.Fault{Kind: wxsim.FaultFail, Times: 2})
		pay("TD20250314000502")
		rcv.next(t)
		env.Wait()
		rec := notifications(t, env, "TD20250314000502")[0]
		if _, codes := attemptCodes(rec); rec.Status != "DELIVERED" || len(codes) != 3 || codes[0] != 0 || codes[2] != 204 {
			t.Fatalf("%s %v", rec.Status, codes)
		}
	})

	t.Run("a failing handler gets the notification again", func(t *testing.T) {
		var calls atomic.Int32
		rcv.fail = func(n *wxpay.Notification) error {
			if n.Payment.OutTradeNo == "TD20250314000503" && calls.Add(1) == 1 {
				return errors.New("database down")
			}
			return nil
		}
		defer func() { rcv.fail = nil }()
		pay("TD20250314000503")
		rcv.next(t)
		env.Wait()
		if _, codes := attemptCodes(notifications(t, env, "TD20250314000503")[0]); len(codes) != 2 || codes[0] != 500 || codes[1] != 204 {
			t.Fatalf("attempts %v", codes)
		}
	})

	t.Run("signtest probe refused first", func(t *testing.T) {
		fault(wxsim.Fault{Kind: wxsim.FaultSignTest})
		pay("TD20250314000504")
		rcv.next(t)
		env.Wait()
		kinds, codes := attemptCodes(notifications(t, env, "TD20250314000504")[0])
		if len(kinds) != 2 || kinds[0] != "SIGNTEST" || codes[0] != 401 || codes[1] != 204 {
			t.Fatalf("attempts %v %v", kinds, codes)
		}
		select {
		case n := <-rcv.got:
			t.Fatalf("the probe reached the handler: %+v", n)
		default:
		}
	})

	t.Run("drop", func(t *testing.T) {
		fault(wxsim.Fault{Kind: wxsim.FaultDrop, OutTradeNo: "TD20250314000505"})
		pay("TD20250314000505")
		env.Wait()
		rec := notifications(t, env, "TD20250314000505")[0]
		if rec.Status != "DROPPED" || len(rec.Attempts) != 0 || len(rcv.got) != 0 {
			t.Fatalf("dropped notification: %+v", rec)
		}
		// The merchant's way out: query.
		if tx, err := c.QueryOrder(ctx, "TD20250314000505"); err != nil || !tx.Paid() {
			t.Fatalf("query after a lost notification: %+v %v", tx, err)
		}
	})

	t.Run("reorder", func(t *testing.T) {
		fault(wxsim.Fault{Kind: wxsim.FaultReorder, OutTradeNo: "TD20250314000506"})
		pay("TD20250314000506")
		pay("TD20250314000507")
		first, second := rcv.next(t), rcv.next(t)
		if first.Payment.OutTradeNo != "TD20250314000507" || second.Payment.OutTradeNo != "TD20250314000506" {
			t.Fatalf("order of arrival: %s then %s", first.Payment.OutTradeNo, second.Payment.OutTradeNo)
		}
	})

	t.Run("delay", func(t *testing.T) {
		fault(wxsim.Fault{Kind: wxsim.FaultDelay, Delay: wxsim.Duration(50 * time.Millisecond)})
		pay("TD20250314000508")
		if n := rcv.next(t); n.Payment.OutTradeNo != "TD20250314000508" {
			t.Fatalf("delayed: %+v", n.Payment)
		}
	})
}

// TestPaymentAtMidnightNotifiedNextDay: paid at 23:59:59, notified after
// midnight: the payment belongs to the first day's bill, the notification to the second.
func TestPaymentAtMidnightNotifiedNextDay(t *testing.T) {
	env := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{NotifyScale: 0.001})
	c := env.Client()
	rcv := newReceiver(t, c)
	ctx := context.Background()
	if _, err := c.PrepayJSAPI(ctx, order("TD20250314000601", 100, rcv.URL), "oOpenID0001"); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 14, 23, 59, 59, 0, wxpay.Shanghai)
	env.Control("POST", "/sim/pay", map[string]any{"out_trade_no": "TD20250314000601", "at": at, "notify_delay": "3s"}, nil)
	n := rcv.next(t)
	if !n.Payment.SuccessTime.Equal(at) || n.CreateTime.In(wxpay.Shanghai).Format(wxpay.BillDateLayout) != "2025-03-15" {
		t.Fatalf("success %s, notified %s", n.Payment.SuccessTime, n.CreateTime)
	}
}
