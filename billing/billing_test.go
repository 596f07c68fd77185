package billing_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
)

func postingsOf(t *testing.T, w *world, orderID uuid.UUID) map[string]map[string]int64 {
	t.Helper()
	ps, err := w.svc.OrderLedger(w.ctx, w.as("finance"), orderID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]int64{}
	for _, p := range ps {
		if out[p.EntryKind] == nil {
			out[p.EntryKind] = map[string]int64{}
		}
		out[p.EntryKind][p.Account] += p.AmountFen
	}
	return out
}

func TestPaymentThroughTheSimulator(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-pay")

	// JSAPI: 0.15 yuan at 6.5% is 0.975 fen of commission, 1 fen half-even.
	o := w.order(c, 15)
	if o.State != billing.StateCreated || !strings.HasPrefix(o.OrderNo, "TD") {
		t.Fatalf("new order %+v", o)
	}
	w.pay(o.OrderNo)
	got := w.get(o.ID)
	if got.State != billing.StatePaid || got.PaidAt == nil {
		t.Fatalf("after the notification the order is %s", got.State)
	}
	ps := postingsOf(t, w, o.ID)["payment"]
	if ps[billing.AccountClearing] != 15 || ps[billing.AccountPayable] != -14 || ps[billing.AccountCommission] != -1 {
		t.Fatalf("payment postings %v", ps)
	}
	evs := w.outboxEvents(events.TopicPaymentSucceeded)
	if len(evs) != 1 || evs[0].Key != o.ID.String() {
		t.Fatalf("outbox %+v", evs)
	}
	var p events.PaymentSucceeded
	if err := evs[0].Decode(&p); err != nil || p.AmountFen != 15 || p.ConsumerID != c || p.TransactionID == "" {
		t.Fatalf("event %+v, %v", p, err)
	}

	// Native.
	n, err := w.svc.PlaceOrder(w.ctx, c, billing.NewOrder{MerchantID: w.merchant, Description: "生煎", Amount: money.MustNew(12_899, money.CNY)})
	if err != nil {
		t.Fatal(err)
	}
	pp, err := w.svc.Prepay(w.ctx, c, n.ID, billing.PayNative)
	if err != nil || pp.CodeURL == "" {
		t.Fatalf("native prepay %+v, %v", pp, err)
	}
	w.pay(n.OrderNo)
	if got := w.get(n.ID); got.State != billing.StatePaid {
		t.Fatalf("native order is %s", got.State)
	}
	ps = postingsOf(t, w, n.ID)["payment"]
	// 128.99 × 6.5% = 8.38435 yuan: 838 fen.
	if ps[billing.AccountCommission] != -838 || ps[billing.AccountPayable] != -(12_899-838) {
		t.Fatalf("native postings %v", ps)
	}
	// Points, through consumer's subscriptions.
	w.deliver(w.consumers.Subscriptions(), 1)
	if b := w.balance(c); b != 128 {
		t.Fatalf("points %d, want 0 + 128", b)
	}
}

func TestDuplicateNotificationsApplyOnce(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-dup")
	o := w.order(c, 15_000)
	w.pay(o.OrderNo)
	first := w.capturedOn(billing.NotifyPaymentPath)
	if len(first) != 1 {
		t.Fatalf("%d notifications captured", len(first))
	}
	// WeChat redelivers: five at once, then three in a row.
	var wg sync.WaitGroup
	start := make(chan struct{})
	var not204 atomic.Int32
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if st := w.replay(first[0]); st != http.StatusNoContent {
				not204.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	for range 3 {
		if st := w.replay(first[0]); st != http.StatusNoContent {
			not204.Add(1)
		}
	}
	if not204.Load() != 0 {
		t.Fatalf("%d redeliveries not answered 204", not204.Load())
	}
	if n := w.count(`SELECT count(*) FROM billing.payments`); n != 1 {
		t.Fatalf("%d payments", n)
	}
	if n := w.count(`SELECT count(*) FROM billing.journal_entries`); n != 1 {
		t.Fatalf("%d journal entries", n)
	}
	if n := w.count(`SELECT count(*) FROM billing.notifications_log WHERE outcome = 'applied'`); n != 1 {
		t.Fatalf("%d applied", n)
	}
	if n := w.count(`SELECT count(*) FROM billing.notifications_log WHERE outcome = 'duplicate'`); n != 8 {
		t.Fatalf("%d duplicates logged, want 8", n)
	}
	if evs := w.outboxEvents(events.TopicPaymentSucceeded); len(evs) != 1 {
		t.Fatalf("%d events", len(evs))
	}
	// The simulator duplicating on its own, too.
	o2 := w.order(c, 100)
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "duplicate", "times": 3, "out_trade_no": o2.OrderNo}, nil)
	w.pay(o2.OrderNo)
	if n := w.count(`SELECT count(*) FROM billing.notifications_log WHERE out_trade_no = $1`, o2.OrderNo); n != 4 {
		t.Fatalf("%d notifications of the duplicated order logged, want 4", n)
	}
	if n := w.count(`SELECT count(*) FROM billing.journal_entries e JOIN billing.orders o ON o.id = e.order_id WHERE o.order_no = $1`, o2.OrderNo); n != 1 {
		t.Fatalf("%d entries for the duplicated order", n)
	}
	// Each event delivered five times at once (a retried task, a relay re-run): points once.
	w.deliver(w.consumers.Subscriptions(), 5)
	if b := w.balance(c); b != 151 {
		t.Fatalf("points %d, want 150 + 1", b)
	}
}

func TestMismatchedAmountIsAnExceptionNotApplied(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-mis")
	o := w.order(c, 500)
	// Our order says something else than what WeChat was asked for.
	if _, err := w.db.Exec(w.ctx, `UPDATE billing.orders SET amount_fen = 400 WHERE id = $1`, o.ID); err != nil {
		t.Fatal(err)
	}
	w.pay(o.OrderNo)
	if got := w.get(o.ID); got.State != billing.StatePaying {
		t.Fatalf("a mismatched payment moved the order to %s", got.State)
	}
	if n := w.count(`SELECT count(*) FROM billing.exceptions WHERE kind = 'mismatch' AND out_trade_no = $1 AND detail LIKE '%total 500 fen, expected 400%'`, o.OrderNo); n != 1 {
		t.Fatalf("%d mismatch exceptions", n)
	}
	if n := w.count(`SELECT count(*) FROM billing.payments`); n != 0 {
		t.Fatalf("%d payments", n)
	}
	if evs := w.outboxEvents(events.TopicPaymentSucceeded); len(evs) != 0 {
		t.Fatalf("%d events", len(evs))
	}
	// Acknowledged (recorded): WeChat does not send it again.
	var sent []struct {
		Attempts []struct {
			Status int `json:"status_code"`
		} `json:"attempts"`
	}
	w.sim.Control("GET", "/sim/notifications?out_trade_no="+o.OrderNo, nil, &sent)
	if len(sent) != 1 || len(sent[0].Attempts) != 1 || sent[0].Attempts[0].Status != http.StatusNoContent {
		t.Fatalf("notifications as WeChat saw them: %+v", sent)
	}
}

func TestBadlySignedNotificationIsRefused(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-sig")
	o := w.order(c, 300)
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "drop", "out_trade_no": o.OrderNo}, nil)
	w.pay(o.OrderNo)
	// A genuine notification of another order, tampered with.
	o2 := w.order(c, 200)
	w.pay(o2.OrderNo)
	genuine := w.capturedOn(billing.NotifyPaymentPath)[0]
	logged := w.count(`SELECT count(*) FROM billing.notifications_log`)

	forged := genuine
	forged.header = genuine.header.Clone()
	forged.body = []byte(strings.Replace(string(genuine.body), `"ciphertext":"`, `"ciphertext":"A`, 1))
	if st := w.replay(forged); st != http.StatusUnauthorized {
		t.Fatalf("a changed body answered %d", st)
	}
	forged = genuine
	forged.header = genuine.header.Clone()
	forged.header.Set("Wechatpay-Signature", "c2lnbmF0dXJl")
	if st := w.replay(forged); st != http.StatusUnauthorized {
		t.Fatalf("a bad signature answered %d", st)
	}
	forged.header.Del("Wechatpay-Signature")
	if st := w.replay(forged); st != http.StatusUnauthorized {
		t.Fatalf("no signature answered %d", st)
	}
	if n := w.count(`SELECT count(*) FROM billing.notifications_log`); n != logged {
		t.Fatalf("forgeries were logged as notifications: %d, was %d", n, logged)
	}
	if got := w.get(o.ID); got.State != billing.StatePaying {
		t.Fatalf("the dropped order is %s", got.State)
	}
}

func TestPartialRefundReversesOnce(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-ref")
	o := w.order(c, 15_000)
	w.pay(o.OrderNo)
	w.deliver(w.consumers.Subscriptions(), 1)

	if _, err := w.svc.CreateRefund(w.ctx, w.as("shop.owner"), o.ID, billing.RefundRequest{Amount: money.MustNew(100, money.CNY), Reason: "x"}); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a merchant owner refunds: %v", err)
	}
	if _, err := w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, billing.RefundRequest{Amount: money.MustNew(15_001, money.CNY), Reason: "x"}); !errs.Is(err, billing.CodeRefundExceeds) {
		t.Fatalf("refund above the order: %v", err)
	}
	req := billing.RefundRequest{Amount: money.MustNew(5_050, money.CNY), Reason: "少了一笼", Key: "k-1"}
	r, err := w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, req) // the same key: the same refund
	if err != nil || again.ID != r.ID {
		t.Fatalf("same key gave %+v, %v", again, err)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	notes := w.capturedOn(billing.NotifyRefundPath)
	if len(notes) != 1 {
		t.Fatalf("%d refund notifications", len(notes))
	}
	for range 3 {
		if st := w.replay(notes[0]); st != http.StatusNoContent {
			t.Fatalf("repeat answered %d", st)
		}
	}
	got := w.get(o.ID)
	if got.State != billing.StatePartiallyRefunded || got.Refunded.Fen() != 5_050 {
		t.Fatalf("order %s refunded %s", got.State, got.Refunded)
	}
	ps := postingsOf(t, w, o.ID)["refund"]
	// commission 975 of 150.00; 99.50 left keeps 646.75 → 647: 328 goes back.
	if ps[billing.AccountClearing] != -5_050 || ps[billing.AccountCommission] != 328 || ps[billing.AccountPayable] != 5_050-328 {
		t.Fatalf("refund postings %v", ps)
	}
	if evs := w.outboxEvents(events.TopicRefundSucceeded); len(evs) != 1 {
		t.Fatalf("%d refund events", len(evs))
	}
	w.deliver(w.consumers.Subscriptions(), 3)
	if b := w.balance(c); b != 99 {
		t.Fatalf("points %d, want 150 − 51", b)
	}

	// The rest: the order is refunded, the whole commission given back (a minute
	// later: WeChat takes the refunds of an order one minute apart).
	w.clock.Advance(time.Minute)
	r2, err := w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, billing.RefundRequest{Amount: money.MustNew(9_950, money.CNY), Reason: "全退"})
	if err != nil {
		t.Fatal(err)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r2.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	if got := w.get(o.ID); got.State != billing.StateRefunded {
		t.Fatalf("order %s", got.State)
	}
	var clearing, commission int64
	if err := w.db.QueryRow(w.ctx, `SELECT COALESCE(SUM(amount_fen) FILTER (WHERE account = 'wxpay_clearing'), 0),
		COALESCE(SUM(amount_fen) FILTER (WHERE account = 'platform_commission'), 0) FROM billing.postings`).Scan(&clearing, &commission); err != nil {
		t.Fatal(err)
	}
	if clearing != 0 || commission != 0 {
		t.Fatalf("after a full refund clearing %d, commission %d", clearing, commission)
	}
	w.deliver(w.consumers.Subscriptions(), 2)
	if b := w.balance(c); b != 0 {
		t.Fatalf("points %d after the full refund", b)
	}
	if _, err := w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, billing.RefundRequest{Amount: money.MustNew(1, money.CNY), Reason: "x"}); !errs.Is(err, billing.CodeOrderNotRefundable) {
		t.Fatalf("refund of a refunded order: %v", err)
	}
	if n := w.count(`SELECT count(*) FROM audit.entries WHERE action = 'billing.refund.create'`); n != 2 {
		t.Fatalf("%d refunds audited", n)
	}
}

func TestQueryAndApplyADroppedNotification(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-drop")
	o := w.order(c, 2_000)
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "drop", "out_trade_no": o.OrderNo}, nil)
	w.pay(o.OrderNo)
	if got := w.get(o.ID); got.State != billing.StatePaying {
		t.Fatalf("without its notification the order is %s", got.State)
	}
	unpaid := w.order(c, 300)
	if ok, err := w.svc.QueryAndApply(w.ctx, unpaid.OrderNo); err != nil || ok {
		t.Fatalf("an unpaid order: %v, %v", ok, err)
	}
	for range 2 {
		if ok, err := w.svc.QueryAndApply(w.ctx, o.OrderNo); err != nil || !ok {
			t.Fatalf("query and apply: %v, %v", ok, err)
		}
	}
	if got := w.get(o.ID); got.State != billing.StatePaid {
		t.Fatalf("order %s", got.State)
	}
	if evs := w.outboxEvents(events.TopicPaymentSucceeded); len(evs) != 1 {
		t.Fatalf("%d events: fulfilment must fire once", len(evs))
	}
}

// TestUnbalancedEntryIsRefusedAtCommit: an entry whose postings do not sum to zero,
// or whose recorded sums (what statements read) are not its postings', never commits.
func TestUnbalancedEntryIsRefusedAtCommit(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-bal")
	o := w.order(c, 100)
	for _, k := range []struct {
		name                   string
		clearing, payable, rec int64 // postings; the entry's recorded clearing
	}{{"unbalanced", 100, -99, 100}, {"recorded wrongly", 100, -100, 90}} {
		err := pg.InTx(w.ctx, w.db, pg.TxOptions{}, func(tx pgx.Tx) error {
			e := uuid.New()
			if _, err := tx.Exec(w.ctx, `INSERT INTO billing.journal_entries (id, order_id, merchant_id, kind, source_key, memo, created_at,
				at, clearing_fen, payable_fen) VALUES ($1, $2, $3, 'payment', 'test', 'test', now(), now(), $4, $5)`,
				e, o.ID, o.MerchantID, k.rec, k.payable); err != nil {
				return err
			}
			_, err := tx.Exec(w.ctx, `INSERT INTO billing.postings (id, entry_id, account, merchant_id, amount_fen, currency) VALUES
				($1, $2, 'wxpay_clearing', $3, $5, 'CNY'), ($4, $2, 'merchant_payable', $3, $6, 'CNY')`,
				uuid.New(), e, o.MerchantID, uuid.New(), k.clearing, k.payable)
			return err
		})
		if !pg.IsCheckViolation(err, "postings_balanced") {
			t.Fatalf("%s: the entry committed: %v", k.name, err)
		}
	}
}

func TestOrdersAreScoped(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-scope")
	other := w.member("o-other")
	o := w.order(c, 100)
	w.merchants.set(w.demo.Merchants["B"], billing.Terms{CommissionRate: rate(t, "5%"), Live: true})
	b, err := w.svc.PlaceOrder(w.ctx, c, billing.NewOrder{MerchantID: w.demo.Merchants["B"], Description: "B", Amount: money.MustNew(100, money.CNY)})
	if err != nil {
		t.Fatal(err)
	}
	list := func(p *identity.Principal) int {
		os, err := w.svc.ListOrders(w.ctx, p, uuid.Nil, 50)
		if err != nil {
			t.Fatal(err)
		}
		return len(os)
	}
	if n := list(w.as("finance")); n != 2 {
		t.Fatalf("finance sees %d orders", n)
	}
	if n := list(w.as("shop.owner")); n != 1 {
		t.Fatalf("merchant A's owner sees %d orders", n)
	}
	if _, err := w.svc.GetOrder(w.ctx, w.as("shop.owner"), b.ID); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("merchant A's owner reads B's order: %v", err)
	}
	if _, err := w.svc.GetOrder(w.ctx, w.as("sh1.rep"), o.ID); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a rep reads an order: %v", err)
	}
	if _, err := w.svc.MyOrder(w.ctx, other, o.ID); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("a consumer reads another's order: %v", err)
	}
	if os, err := w.svc.MyOrders(w.ctx, c, uuid.Nil, 10); err != nil || len(os) != 2 {
		t.Fatalf("my orders %d, %v", len(os), err)
	}
	notLive := uuid.New()
	w.merchants.set(notLive, billing.Terms{CommissionRate: rate(t, "5%")})
	if _, err := w.svc.PlaceOrder(w.ctx, c, billing.NewOrder{MerchantID: notLive, Description: "x", Amount: money.MustNew(100, money.CNY)}); !errs.Is(err, billing.CodeMerchantNotLive) {
		t.Fatalf("order at a merchant not live: %v", err)
	}
	if _, err := w.svc.PlaceOrder(w.ctx, uuid.New(), billing.NewOrder{MerchantID: w.merchant, Description: "x", Amount: money.MustNew(100, money.CNY)}); !errs.Is(err, billing.CodeNotMember) {
		t.Fatalf("order by a non-member: %v", err)
	}
}

func TestDemoPaysThroughTheSimulatorOnce(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-demo")
	d, err := billing.Demo(w.ctx, w.svc, c, w.merchant, w.sim.URL)
	if err != nil {
		t.Fatal(err)
	}
	w.sim.Wait()
	again, err := billing.Demo(w.ctx, w.svc, c, w.merchant, w.sim.URL)
	if err != nil || again.Order.ID != d.Order.ID || again.Order.State != billing.StatePaid ||
		again.Lines.ID != d.Lines.ID || again.Lines.State != billing.StatePaid {
		t.Fatalf("demo again: %+v, %v", again, err)
	}
	if mine, err := w.svc.MyOrders(w.ctx, c, uuid.Nil, 10); err != nil || len(mine) != 2 {
		t.Fatalf("the demo placed %d orders (%v), want 2", len(mine), err)
	}
	// The two-line order, whose page offers refund by line: 56.00 of food and 18.00 of tea.
	if o, err := w.svc.GetOrder(w.ctx, w.as("finance"), d.Lines.ID); err != nil || o.Amount.Fen() != 7_400 || len(o.Lines) != 2 ||
		o.Lines[0].Paid.Fen() != 5_600 || o.Lines[1].Paid.Fen() != 1_800 || o.Lines[1].Description != "龙井茶" {
		t.Fatalf("the two-line demo order: %+v, %v", o, err)
	}
	if o, err := w.svc.GetOrder(w.ctx, w.as("finance"), d.Order.ID); err != nil || o.Amount.Fen() != 12_850 || len(o.Lines) > 1 {
		t.Fatalf("the one-line demo order: %+v, %v", o, err)
	}
}
