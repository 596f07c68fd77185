package billing_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// paidLines places and pays the two-line order of placeLines: 100.00 and 50.00.
func (w *world) paidLines(c uuid.UUID) billing.Order {
	w.t.Helper()
	o := w.placeLines(c)
	if _, err := w.svc.Prepay(w.ctx, c, o.ID, billing.PayJSAPI); err != nil {
		w.t.Fatal(err)
	}
	w.pay(o.OrderNo)
	return o
}

// refundLines refunds lines of o for finance and WeChat pays it back.
func (w *world) refundLines(o billing.Order, lines ...billing.RefundLineRequest) billing.Refund {
	w.t.Helper()
	r, err := w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, billing.RefundRequest{Lines: lines, Reason: "退菜"})
	if err != nil {
		w.t.Fatal(err)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	w.clock.Advance(time.Minute) // WeChat's spacing between two refunds of an order
	return r
}

func line(no int, fen int64) billing.RefundLineRequest {
	r := billing.RefundLineRequest{LineNo: no}
	if fen > 0 {
		r.Amount = yuan(fen)
	}
	return r
}

func TestARefundOfLinesIsCheckedAgainstEachLineAndARefusalChangesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.paidLines(w.member("o-lines-check"))
	fin := w.as("finance")
	refuse := []struct {
		name        string
		in          billing.RefundRequest
		code, field string
	}{
		{"a line the order has not", billing.RefundRequest{Lines: []billing.RefundLineRequest{line(3, 0)}}, billing.CodeRefundLineUnknown, "lines[0].line_no"},
		{"more than the line's paid amount", billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 100), line(2, 5_001)}}, billing.CodeRefundLineExceeds, "lines[1].amount_fen"},
		{"an amount that is not the lines' sum", billing.RefundRequest{Amount: yuan(100), Lines: []billing.RefundLineRequest{line(2, 0)}}, billing.CodeRefundLinesSum, "amount"},
		{"a line named twice", billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 100), line(1, 100)}}, "invalid_input", "lines[1].line_no"},
		{"an amount over the order", billing.RefundRequest{Amount: yuan(15_001)}, billing.CodeRefundExceeds, ""},
	}
	for _, c := range refuse {
		c.in.Reason = "x"
		_, err := w.svc.CreateRefund(w.ctx, fin, o.ID, c.in)
		if e := errs.As(err); e == nil || e.Code != c.code || e.Field != c.field {
			t.Fatalf("%s: %v, want %s on %q", c.name, err, c.code, c.field)
		}
	}
	// Over HTTP: the code and field, and a 4xx.
	for _, c := range []struct {
		body        map[string]any
		status      int
		code, field string
	}{
		{map[string]any{"reason": "x", "lines": []any{map[string]any{"line_no": 7}}}, http.StatusUnprocessableEntity, billing.CodeRefundLineUnknown, "lines[0].line_no"},
		{map[string]any{"reason": "x", "lines": []any{map[string]any{"line_no": 2, "amount_fen": 0}}}, http.StatusBadRequest, "invalid_input", "lines[0].amount_fen"},
		{map[string]any{"reason": "x"}, http.StatusBadRequest, "invalid_input", "amount"},
	} {
		st, e := w.refusal("/api/v1/billing/orders/"+o.ID.String()+"/refunds", c.body)
		if st != c.status || e.Code != c.code || e.Field != c.field {
			t.Fatalf("%v: %d %+v, want %d %s on %q", c.body, st, e, c.status, c.code, c.field)
		}
	}
	if n := w.count(`SELECT count(*) FROM billing.refunds`) + w.count(`SELECT count(*) FROM billing.refund_lines`); n != 0 {
		t.Fatalf("the refusals left %d rows", n)
	}

	// 30.00 of the dumplings, by its number: the amount is the lines' sum.
	in := billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 3_000)}, Reason: "少一笼", OutRefundNo: "RFLINE000001"}
	r, err := w.svc.CreateRefund(w.ctx, fin, o.ID, in)
	if err != nil || r.Amount.Fen() != 3_000 || len(r.Lines) != 1 || r.Lines[0].LineNo != 1 || r.Lines[0].Amount.Fen() != 3_000 {
		t.Fatalf("refund of 30.00 of line 1: %+v, %v", r, err)
	}
	if again, err := w.svc.CreateRefund(w.ctx, fin, o.ID, in); err != nil || again.ID != r.ID {
		t.Fatalf("the same out_refund_no again: %+v, %v", again, err)
	}
	in.Lines = []billing.RefundLineRequest{line(2, 3_000)}
	if _, err := w.svc.CreateRefund(w.ctx, fin, o.ID, in); !errs.Is(err, billing.CodeRefundNoUsed) {
		t.Fatalf("the same out_refund_no for another line: %v", err)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	got := w.get(o.ID)
	if got.Lines[0].Refunded.Fen() != 3_000 || got.Lines[0].Refundable.Fen() != 7_000 || got.Lines[1].Refunded.Fen() != 0 {
		t.Fatalf("the lines after 30.00 of line 1: %+v", got.Lines)
	}
	// The rest of the line by default, then nothing is left of it.
	w.clock.Advance(time.Minute)
	rest, err := w.svc.CreateRefund(w.ctx, fin, o.ID, billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 0)}, Reason: "全退"})
	if err != nil || rest.Amount.Fen() != 7_000 {
		t.Fatalf("the rest of line 1: %+v, %v", rest, err)
	}
	w.clock.Advance(time.Minute)
	if _, err := w.svc.CreateRefund(w.ctx, fin, o.ID, billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 0)}, Reason: "x"}); !errs.Is(err, billing.CodeRefundLineExceeds) {
		t.Fatalf("line 1 once more: %v", err)
	}
	// The event names every line: what was paid, what this refund gave back, the line's total.
	evs := w.outboxEvents(events.TopicRefundSucceeded)
	var e events.RefundSucceeded
	if len(evs) != 1 || evs[0].Decode(&e) != nil {
		t.Fatalf("%d refund events", len(evs))
	}
	want := []events.RefundLine{{LineNo: 1, PaidFen: 10_000, RefundFen: 3_000, RefundedTotalFen: 3_000}, {LineNo: 2, PaidFen: 5_000}}
	if fmt.Sprint(e.Lines) != fmt.Sprint(want) {
		t.Fatalf("event lines %+v, want %+v", e.Lines, want)
	}
}

// refusal posts body as finance and returns the status and the error answered.
func (w *world) refusal(path string, body any) (int, httpx.ErrorObject) {
	w.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, w.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Test-Login", "finance")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var e httpx.ErrorBody
	_ = json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error
}

// A refund naming no lines is spread over them pro rata to what is left of each.
func TestARefundWithoutLinesIsSpreadProRataOverTheLines(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	o := w.paidLines(w.member("o-lines-spread"))
	r, err := w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, billing.RefundRequest{Amount: yuan(1_000), Reason: "打折"})
	if err != nil {
		t.Fatal(err)
	}
	// 10.00 over 100.00 and 50.00 left: 6.666… and 3.333…, the fen left over to the larger remainder.
	if len(r.Lines) != 2 || r.Lines[0].Amount.Fen() != 667 || r.Lines[1].Amount.Fen() != 333 {
		t.Fatalf("spread %+v", r.Lines)
	}
	// What is left of line 2 (46.67) is what a spread then weighs.
	w.clock.Advance(time.Minute)
	if _, err := w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 0)}, Reason: "退"}); err != nil {
		t.Fatal(err)
	}
	w.clock.Advance(time.Minute)
	r, err = w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, billing.RefundRequest{Amount: yuan(1_000), Reason: "打折"})
	if err != nil || len(r.Lines) != 1 || r.Lines[0].LineNo != 2 || r.Lines[0].Amount.Fen() != 1_000 {
		t.Fatalf("spread over what is left: %+v, %v", r.Lines, err)
	}
}

func TestConcurrentRefundsOfALineNeverGiveBackMoreThanIt(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, func(c *billing.Config) { c.Refunds.Spacing = time.Nanosecond })
	o := w.paidLines(w.member("o-lines-race"))
	fin := w.as("finance")
	var wg sync.WaitGroup
	var mu sync.Mutex
	var ok, exceeded int
	start := make(chan struct{})
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := w.svc.CreateRefund(w.ctx, fin, o.ID, billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 4_000)},
				Reason: "并发", Key: fmt.Sprintf("race-%d", i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errs.Is(err, billing.CodeRefundLineExceeds):
				exceeded++
			default:
				t.Errorf("refund %d: %v", i, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	// Line 1 is 100.00: two refunds of 40.00 fit, a third would not.
	if ok != 2 || exceeded != 6 {
		t.Fatalf("%d refunds made, %d refused; want 2 and 6", ok, exceeded)
	}
	if n := w.count(`SELECT COALESCE(SUM(amount_fen), 0)::int FROM billing.refund_lines WHERE line_no = 1`); n != 8_000 {
		t.Fatalf("line 1 refunds add up to %d fen", n)
	}
}

// The points an order earned are split over its lines by what was paid for each, and
// a refund takes back exactly its lines' share, once, whatever order refunds arrive in.
func TestPointsComeBackByTheRefundedLines(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-lines-points")
	o := w.paidLines(c)
	w.deliver(w.consumers.Subscriptions(), 1)
	if b := w.balance(c); b != 150 {
		t.Fatalf("points %d, want 150 for 150.00", b)
	}
	// Lines of 100.00 and 50.00 earned 100 and 50 points.
	r1 := w.refundLines(o, line(2, 2_000)) // 30.00 of line 2 left keeps 30 of its 50: 20 back
	r2 := w.refundLines(o, line(1, 3_333)) // 66.67 of line 1 left keeps 66 of its 100: 34 back
	r3 := w.refundLines(o, line(2, 0))     // the rest of line 2: its 30 points
	// Delivered newest first, then every one twice more.
	var sub outbox.Subscription
	for _, s := range w.consumers.Subscriptions() {
		if s.Subscriber == consumer.SubscriberPointsReverse {
			sub = s
		}
	}
	evs := w.outboxEvents(events.TopicRefundSucceeded)
	if len(evs) != 3 {
		t.Fatalf("%d refund events", len(evs))
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if err := outbox.Deliver(w.ctx, w.db, sub, evs[i]); err != nil {
			t.Fatal(err)
		}
	}
	w.deliver(w.consumers.Subscriptions(), 2)
	if b := w.balance(c); b != 150-20-34-30 {
		t.Fatalf("points %d, want 66", b)
	}
	for _, x := range []struct {
		r    billing.Refund
		back int
	}{{r1, 20}, {r2, 34}, {r3, 30}} {
		if n := w.count(`SELECT COALESCE(SUM(-delta), 0)::int FROM consumer.points_entries WHERE source_key = $1`, consumer.ReverseKey(x.r.ID)); n != x.back {
			t.Fatalf("refund %s took back %d points, want %d", x.r.OutRefundNo, n, x.back)
		}
	}
	// The growth value the order counts toward tiers is what is left paid: 150.00 − 83.33.
	if n := w.count(`SELECT growth::int FROM consumer.points_lots WHERE source_key = $1`, consumer.EarnKey(o.ID)); n != 6_667 {
		t.Fatalf("growth %d, want 6667", n)
	}
	// The rest of line 1 takes back the rest: the order earned nothing in the end.
	w.refundLines(o, line(1, 0))
	w.deliver(w.consumers.Subscriptions(), 2)
	if b := w.balance(c); b != 0 {
		t.Fatalf("points %d after refunding every line", b)
	}
}

// A refund of a line waiting for its approval reserves the line; rejected, it frees it.
func TestALineRefundWaitingForApprovalReservesTheLine(t *testing.T) {
	t.Parallel()
	w := newWorldWith(t, func(c *billing.Config) { c.RefundApprovalOver = 6_000 })
	o := w.paidLines(w.member("o-lines-approval"))
	fin := w.as("finance")
	big, err := w.svc.CreateRefund(w.ctx, fin, o.ID, billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 0)}, Reason: "整份"})
	if err != nil || big.State != billing.RefundPendingApproval || big.Amount.Fen() != 10_000 {
		t.Fatalf("the whole of line 1: %+v, %v", big, err)
	}
	w.clock.Advance(time.Minute)
	if _, err := w.svc.CreateRefund(w.ctx, fin, o.ID, billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 1)}, Reason: "x"}); !errs.Is(err, billing.CodeRefundLineExceeds) {
		t.Fatalf("line 1 while its refund waits: %v", err)
	}
	if got := w.get(o.ID); got.Lines[0].Refundable.Fen() != 0 || got.Lines[0].Refunded.Fen() != 0 {
		t.Fatalf("line 1 while its refund waits: %+v", got.Lines[0])
	}
	if _, err := w.approvals.Decide(w.ctx, w.as("admin"), approvalOf(w, big).ID, approval.Decision{Comment: "不退"}); err != nil {
		t.Fatal(err)
	}
	if r, err := w.svc.CreateRefund(w.ctx, fin, o.ID, billing.RefundRequest{Lines: []billing.RefundLineRequest{line(1, 5_000)}, Reason: "半份"}); err != nil ||
		r.State == billing.RefundPendingApproval || r.Amount.Fen() != 5_000 {
		t.Fatalf("line 1 after the rejection: %+v, %v", r, err)
	}
}
