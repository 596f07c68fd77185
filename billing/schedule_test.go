package billing_test

import (
	"testing"
	"time"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

func TestSweepAppliesPaymentsWhoseNotificationWasLost(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-sweep")
	lost := w.order(c, 2_000)
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "drop", "out_trade_no": lost.OrderNo}, nil)
	w.pay(lost.OrderNo)
	unpaid := w.order(c, 300)

	// Too young to be asked about: the notification may still come.
	if n, err := w.svc.SweepPaying(w.ctx); err != nil || n != 0 {
		t.Fatalf("sweep of young orders: %d, %v", n, err)
	}
	w.clock.Advance(11 * time.Minute)
	for range 2 { // a second run (two schedulers) changes nothing
		if _, err := w.svc.SweepPaying(w.ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := w.get(lost.ID); got.State != billing.StatePaid {
		t.Fatalf("the swept order is %s", got.State)
	}
	if got := w.get(unpaid.ID); got.State != billing.StatePaying {
		t.Fatalf("an unpaid order is %s", got.State)
	}
	if evs := w.outboxEvents(events.TopicPaymentSucceeded); len(evs) != 1 {
		t.Fatalf("%d payment events", len(evs))
	}
}

func TestExpiredOrdersAreClosedAtWeChatFirst(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-expire")
	created, err := w.svc.PlaceOrder(w.ctx, c, billing.NewOrder{MerchantID: w.merchant, Description: "生煎", Amount: money.MustNew(500, money.CNY)})
	if err != nil {
		t.Fatal(err)
	}
	paying := w.order(c, 700)
	paidLate := w.order(c, 900) // paid at WeChat, its notification lost: the close applies it
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "drop", "out_trade_no": paidLate.OrderNo}, nil)
	w.pay(paidLate.OrderNo)

	if n, err := w.svc.CloseExpired(w.ctx); err != nil || n != 0 {
		t.Fatalf("nothing expired yet: %d, %v", n, err)
	}
	w.clock.Advance(2*time.Hour + time.Minute)
	if _, err := w.svc.CloseExpired(w.ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []billing.Order{created, paying} {
		if got := w.get(id.ID); got.State != billing.StateClosed || got.ClosedAt == nil {
			t.Fatalf("expired order %s is %s", got.OrderNo, got.State)
		}
	}
	if got := w.get(paidLate.ID); got.State != billing.StatePaid {
		t.Fatalf("an order paid before its close is %s", got.State)
	}
	if evs := w.outboxEvents(events.TopicOrderClosed); len(evs) != 2 {
		t.Fatalf("%d closed events, want 2", len(evs))
	}
	// Closed at WeChat: the consumer can no longer pay it.
	if st, _ := w.sim.ControlStatus("POST", "/sim/pay", map[string]any{"out_trade_no": paying.OrderNo}); st < 400 {
		t.Fatalf("paying a closed order answered %d", st)
	}
	if _, err := w.svc.CloseExpired(w.ctx); err != nil { // again: nothing more
		t.Fatal(err)
	}
	if evs := w.outboxEvents(events.TopicOrderClosed); len(evs) != 2 {
		t.Fatalf("%d closed events after a second run", len(evs))
	}
}

func TestClosingAnOrderJustPaidAppliesThePayment(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-close-paid")
	o := w.order(c, 1_200)
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "drop", "out_trade_no": o.OrderNo}, nil)
	w.pay(o.OrderNo)
	got, err := w.svc.Close(w.ctx, c, o.ID)
	if err != nil {
		t.Fatalf("close of a paid order: %v", err)
	}
	if got.State != billing.StatePaid {
		t.Fatalf("the order is %s, want paid", got.State)
	}
	if evs := w.outboxEvents(events.TopicPaymentSucceeded); len(evs) != 1 {
		t.Fatalf("%d payment events", len(evs))
	}
}

func refund(w *world, o billing.Order, fen int64, no string) (billing.Refund, error) {
	return w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, billing.RefundRequest{Amount: money.MustNew(fen, money.CNY),
		Reason: "test", OutRefundNo: no})
}

func TestRefundRulesAreCheckedBeforeWeChat(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, func(c *billing.Config) { c.Refunds.MaxRefunds = 3 })
	c := w.member("o-rules")
	o := w.order(c, 10_000)
	w.pay(o.OrderNo)

	r1, err := refund(w, o, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := refund(w, o, 100, ""); !errs.Is(err, billing.CodeRefundTooSoon) || errs.As(err).RetryAfter <= 0 {
		t.Fatalf("a second refund at once: %v", err)
	}
	// out_refund_no is the idempotency key, without any Idempotency-Key.
	w.clock.Advance(time.Minute)
	a, err := refund(w, o, 200, "SHOP-RF-0001")
	if err != nil {
		t.Fatal(err)
	}
	again, err := refund(w, o, 200, "SHOP-RF-0001")
	if err != nil || again.ID != a.ID || a.OutRefundNo != "SHOP-RF-0001" {
		t.Fatalf("the same out_refund_no: %+v, %v", again, err)
	}
	if _, err := refund(w, o, 300, "SHOP-RF-0001"); !errs.Is(err, billing.CodeRefundNoUsed) {
		t.Fatalf("the same out_refund_no for another amount: %v", err)
	}
	w.clock.Advance(time.Minute)
	if _, err := refund(w, o, 100, ""); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Minute)
	if _, err := refund(w, o, 100, ""); !errs.Is(err, billing.CodeRefundLimit) {
		t.Fatalf("refund over the limit: %v", err)
	}
	if n := w.count(`SELECT count(*) FROM billing.refunds`); n != 3 {
		t.Fatalf("%d refunds recorded", n)
	}
	_ = r1

	late := w.order(c, 1_000)
	w.pay(late.OrderNo)
	w.clock.Advance(366 * 24 * time.Hour)
	if _, err := refund(w, late, 100, ""); !errs.Is(err, billing.CodeRefundTooLate) {
		t.Fatalf("refund a year after: %v", err)
	}
}

func TestRejectedRefundFreesItsAmount(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-reject")
	o := w.order(c, 5_000)
	w.pay(o.OrderNo)
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "api_error", "path": "/v3/refund/domestic/refunds",
		"status": 403, "code": "NOT_ENOUGH", "message": "基本账户余额不足"}, nil)
	if _, err := refund(w, o, 5_000, ""); !errs.Is(err, "wxpay.not_enough") {
		t.Fatalf("a refund WeChat refuses: %v", err)
	}
	rs, err := w.svc.ListRefunds(w.ctx, w.as("finance"), o.ID)
	if err != nil || len(rs) != 1 || rs[0].State != billing.RefundRejected || rs[0].LastError == "" {
		t.Fatalf("refunds %+v, %v", rs, err)
	}
	// It blocks nothing: the whole amount can be refunded at once, spacing aside.
	r, err := refund(w, o, 5_000, "")
	if err != nil || r.State != billing.RefundProcessing {
		t.Fatalf("refund after a rejected one: %+v, %v", r, err)
	}
}

func TestUnansweredRefundsAreRetriedThenCancelled(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, func(c *billing.Config) { c.Schedule.RefundAttempts = 2 })
	c := w.member("o-retry")
	o := w.order(c, 5_000)
	w.pay(o.OrderNo)
	down := map[string]any{"kind": "api_error", "path": "/v3/refund/domestic/refunds", "count": 3}
	w.sim.Control("POST", "/sim/faults", down, nil)
	r, err := refund(w, o, 1_000, "")
	if err != nil || r.State != billing.RefundRequested || r.LastError == "" {
		t.Fatalf("a refund WeChat did not answer: %+v, %v", r, err)
	}
	// The retry sends it again: WeChat takes it.
	w.clock.Advance(2 * time.Minute)
	w.sim.Control("DELETE", "/sim/faults", nil, nil)
	if n, err := w.svc.RetryRefunds(w.ctx); err != nil || n != 1 {
		t.Fatalf("retry: %d, %v", n, err)
	}
	rs, _ := w.svc.ListRefunds(w.ctx, w.as("finance"), o.ID)
	if rs[0].State != billing.RefundProcessing || rs[0].Attempts != 2 {
		t.Fatalf("after the retry %+v", rs[0])
	}

	// One that WeChat never takes is cancelled after its attempts, freeing its amount.
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "api_error", "path": "/v3/refund/domestic/refunds", "count": 3}, nil)
	r2, err := refund(w, o, 4_000, "")
	if err != nil || r2.State != billing.RefundRequested {
		t.Fatalf("second refund %+v, %v", r2, err)
	}
	w.clock.Advance(2 * time.Minute)
	// The retry finds no such refund at WeChat, sends it again, and WeChat is down again.
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "api_error", "path": "/v3/refund/domestic/refunds", "count": 1,
		"status": 404, "code": "RESOURCE_NOT_EXISTS"}, nil)
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "api_error", "path": "/v3/refund/domestic/refunds", "count": 3}, nil)
	if n, err := w.svc.RetryRefunds(w.ctx); err != nil || n != 0 {
		t.Fatalf("a retry WeChat did not answer waits for the next run: %d, %v", n, err)
	}
	if got, _ := w.svc.ListRefunds(w.ctx, w.as("finance"), o.ID); got[1].State != billing.RefundRequested || got[1].Attempts != 2 {
		t.Fatalf("after an unanswered retry %+v", got[1])
	}
	// The next run: two calls made, WeChat has no such refund: cancelled.
	if _, err := w.svc.RetryRefunds(w.ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := w.svc.ListRefunds(w.ctx, w.as("finance"), o.ID)
	if got[1].State != billing.RefundRejected || got[1].RejectedAt == nil {
		t.Fatalf("the refund WeChat never took: %+v", got[1])
	}
	w.clock.Advance(2 * time.Minute)
	if _, err := refund(w, o, 4_000, ""); err != nil {
		t.Fatalf("its amount is free again: %v", err)
	}
}

func TestAbnormalRefundIsFollowedUntilItSucceeds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-abnormal")
	o := w.order(c, 3_000)
	w.pay(o.OrderNo)
	w.deliver(w.consumers.Subscriptions(), 1)
	r, err := refund(w, o, 3_000, "")
	if err != nil {
		t.Fatal(err)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "ABNORMAL"}, nil)
	w.sim.Wait()
	rs, _ := w.svc.ListRefunds(w.ctx, w.as("finance"), o.ID)
	if rs[0].State != billing.RefundAbnormal {
		t.Fatalf("refund is %s", rs[0].State)
	}
	if n := w.count(`SELECT count(*) FROM billing.exceptions WHERE kind = 'refund_abnormal'`); n != 1 {
		t.Fatalf("%d abnormal exceptions for finance", n)
	}
	// While abnormal it still reserves its amount.
	w.clock.Advance(time.Minute)
	if _, err := refund(w, o, 1, ""); !errs.Is(err, billing.CodeRefundExceeds) {
		t.Fatalf("refund beside an abnormal one: %v", err)
	}
	// WeChat settles it; its notification is lost, the follow-up finds it.
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "drop"}, nil)
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	w.clock.Advance(6 * time.Minute)
	if n, err := w.svc.FollowRefunds(w.ctx); err != nil || n != 1 {
		t.Fatalf("follow: %d, %v", n, err)
	}
	if got := w.get(o.ID); got.State != billing.StateRefunded {
		t.Fatalf("order is %s", got.State)
	}
	if evs := w.outboxEvents(events.TopicRefundSucceeded); len(evs) != 1 {
		t.Fatalf("%d refund events", len(evs))
	}
	w.deliver(w.consumers.Subscriptions(), 1)
	if b := w.balance(c); b != 0 {
		t.Fatalf("points %d after the refund", b)
	}
}

func TestRefundNotificationIsCheckedAgainstOurRefund(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-refund-check")
	o := w.order(c, 3_000)
	w.pay(o.OrderNo)
	r, err := refund(w, o, 1_000, "")
	if err != nil || r.RefundID == "" {
		t.Fatalf("%+v, %v", r, err)
	}
	forged := func(mut func(*wxpay.Refund)) {
		t.Helper()
		wr := &wxpay.Refund{RefundID: r.RefundID, OutRefundNo: r.OutRefundNo, OutTradeNo: o.OrderNo, Status: wxpay.RefundSuccess,
			SuccessTime: time.Now(), Total: 3_000, Refund: 1_000}
		mut(wr)
		if err := w.svc.HandleRefundNotification(w.ctx, &wxpay.Notification{ID: "n-" + t.Name(), EventType: "REFUND.SUCCESS", Refund: wr}); err != nil {
			t.Fatal(err)
		}
	}
	forged(func(wr *wxpay.Refund) { wr.RefundID = "50300000000000000000000000000" })
	forged(func(wr *wxpay.Refund) { wr.Refund = 2_000 })
	forged(func(wr *wxpay.Refund) { wr.OutTradeNo = "TD2099" })
	rs, _ := w.svc.ListRefunds(w.ctx, w.as("finance"), o.ID)
	if rs[0].State != billing.RefundProcessing || rs[0].RefundID != r.RefundID {
		t.Fatalf("a mismatched notification changed the refund: %+v", rs[0])
	}
	if n := w.count(`SELECT count(*) FROM billing.exceptions WHERE kind = 'mismatch'`); n != 3 {
		t.Fatalf("%d mismatch exceptions, want 3", n)
	}
}

// TestSecondPaymentIsRecordedAndRefundable: WeChat reports a second, different
// payment of an order already paid; billing records it (with its transaction and
// amount) and publishes it for the exceptions queue, and finance gives it back
// from there: the whole transaction is refunded at WeChat, once.
func TestSecondPaymentIsRecordedAndRefundable(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-second")
	o := w.order(c, 1_800)
	w.pay(o.OrderNo)
	// The consumer paid again, through another prepay WeChat holds for the same goods.
	other := "TDX" + o.OrderNo[2:]
	if _, err := w.sim.Client().PrepayNative(w.ctx, wxpay.Order{Description: "小笼包", OutTradeNo: other,
		NotifyURL: w.srv.URL + billing.NotifyPaymentPath, Total: 1_800}); err != nil {
		t.Fatal(err)
	}
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "drop", "out_trade_no": other}, nil)
	w.pay(other)
	tx2, err := w.sim.Client().QueryOrder(w.ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	tx2.OutTradeNo = o.OrderNo // as WeChat would report a second payment of our order
	if err := w.svc.HandlePaymentNotification(w.ctx, &wxpay.Notification{ID: "n-second", EventType: "TRANSACTION.SUCCESS", Payment: tx2}); err != nil {
		t.Fatal(err)
	}
	var excID string
	var amount int64
	if err := w.db.QueryRow(w.ctx, `SELECT id::text, amount_fen FROM billing.exceptions WHERE kind = 'second_transaction' AND transaction_id = $1`,
		tx2.TransactionID).Scan(&excID, &amount); err != nil || amount != 1_800 {
		t.Fatalf("second payment exception: %v, amount %d", err, amount)
	}
	if evs := w.outboxEvents(events.TopicPaymentException); len(evs) != 1 || evs[0].Key != excID {
		t.Fatalf("exception events %+v", evs)
	}
	id := uuidOf(t, excID)
	if _, err := w.svc.RefundSecondPayment(w.ctx, w.as("shop.owner"), id); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a merchant owner refunds it: %v", err)
	}
	for range 2 { // asked twice: one refund at WeChat (its out_refund_no is the exception's)
		r, err := w.svc.RefundSecondPayment(w.ctx, w.as("finance"), id)
		if err != nil || r.AmountFen != 1_800 || r.OutRefundNo == "" {
			t.Fatalf("refund of the second payment: %+v, %v", r, err)
		}
	}
	if got := w.get(o.ID); got.State != billing.StatePaid || got.Refunded.Fen() != 0 {
		t.Fatalf("the order itself is untouched: %s, refunded %s", got.State, got.Refunded)
	}
	if n := w.count(`SELECT count(*) FROM billing.exceptions WHERE id = $1 AND resolved_at IS NOT NULL`, id); n != 1 {
		t.Fatal("the exception is not resolved")
	}
}
