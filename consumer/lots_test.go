package consumer_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
)

// at is a world whose clock stands still at start (Asia/Shanghai) until moved.
func newWorldAt(t *testing.T, start time.Time) (*world, *clock.Settable) {
	t.Helper()
	w := newWorld(t)
	clk := clock.NewSettable()
	clk.Freeze(start)
	w.svc = consumer.New(domain.Deps{DB: w.db, Clock: clk}, consumer.Ports{Identities: w.ids}, consumer.Config{})
	return w, clk
}

func sh(y int, m time.Month, d, h int) time.Time {
	return time.Date(y, m, d, h, 0, 0, 0, clock.Shanghai)
}

// conserved checks that the entries, the projection and the lots tell the same story.
func (w *world) conserved(t *testing.T, id uuid.UUID) {
	t.Helper()
	var entries, projected, lots int64
	err := w.db.QueryRow(w.ctx, `SELECT
	    (SELECT COALESCE(SUM(delta), 0) FROM consumer.points_entries WHERE consumer_id = $1),
	    (SELECT balance + pending FROM consumer.points_balances WHERE consumer_id = $1),
	    (SELECT COALESCE(SUM(remaining), 0) FROM consumer.points_lots WHERE consumer_id = $1)`, id).Scan(&entries, &projected, &lots)
	if err != nil {
		t.Fatal(err)
	}
	if entries != projected || projected != lots {
		t.Fatalf("entries add up to %d, the projection says %d, the lots hold %d", entries, projected, lots)
	}
}

func (w *world) points(t *testing.T, id uuid.UUID) consumer.PointsView {
	t.Helper()
	v, err := w.svc.MyPoints(w.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestProgramExpiryRoundingAndValidation(t *testing.T) {
	t.Parallel()
	month := consumer.Program{PointsPerYuan: 1, ExpiryMonths: 12, Rounding: consumer.RoundMonth}
	day := month
	day.Rounding = consumer.RoundDay
	for _, c := range []struct {
		p      consumer.Program
		earned time.Time
		want   time.Time
	}{
		{month, sh(2026, 3, 15, 10), sh(2027, 4, 1, 0)},                                                         // the end of the 12th month
		{month, sh(2026, 12, 31, 23), sh(2028, 1, 1, 0)},                                                        // across the year
		{day, sh(2026, 3, 15, 10), sh(2027, 3, 16, 0)},                                                          // the end of the same day a year on
		{consumer.Program{ExpiryMonths: 1, Rounding: consumer.RoundDay}, sh(2026, 1, 31, 9), sh(2026, 3, 1, 0)}, // 31 Jan + 1 month: the end of 28 Feb
	} {
		if got := c.p.ExpiresAt(c.earned); !got.Equal(c.want) {
			t.Errorf("%s %d months from %s: %s, want %s", c.p.Rounding, c.p.ExpiryMonths, c.earned, got, c.want)
		}
	}
	for field, p := range map[string]consumer.Program{
		"expiry_months":   {PointsPerYuan: 1, ExpiryMonths: 0, Rounding: consumer.RoundDay},
		"expiry_rounding": {PointsPerYuan: 1, ExpiryMonths: 12, Rounding: "week"},
		"points_per_yuan": {PointsPerYuan: 0, ExpiryMonths: 12, Rounding: consumer.RoundDay},
		"pending_days":    {PointsPerYuan: 1, ExpiryMonths: 12, Rounding: consumer.RoundDay, PendingDays: -1},
	} {
		if e := errs.As(p.Validate()); e == nil || e.Field != field || e.Code != consumer.CodeProgramInvalid {
			t.Errorf("%+v: %v, want refused naming %s", p, e, field)
		}
	}
}

func TestPaymentPointsArePendingUntilTheRefundWindowPasses(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 3, 15, 10))
	id := w.join(t, "o-pending")
	order := uuid.New()
	if n, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: order, ConsumerID: id, AmountFen: 12_899}); err != nil || n != 128 {
		t.Fatalf("credited %d, %v", n, err)
	}
	v := w.points(t, id)
	if v.Balance != 0 || v.Pending != 128 || v.EarnedTotal != 0 || len(v.Lots) != 1 || v.Lots[0].LastDay != "2027-03-31" {
		t.Fatalf("after paying: %+v", v)
	}
	if _, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 1, Key: "r1"}); !errs.Is(err, consumer.CodePointsInsufficient) {
		t.Fatalf("redeeming pending points: %v", err)
	}
	clk.Advance(7*24*time.Hour - time.Minute)
	if r, err := w.svc.ReleasePending(w.ctx); err != nil || r.Points != 0 {
		t.Fatalf("released inside the window: %+v, %v", r, err)
	}
	clk.Advance(time.Minute)
	for i := range 3 { // idempotent
		r, err := w.svc.ReleasePending(w.ctx)
		if err != nil || (i == 0) != (r.Points == 128) {
			t.Fatalf("release run %d: %+v, %v", i, r, err)
		}
	}
	v = w.points(t, id)
	if v.Balance != 128 || v.Pending != 0 || v.EarnedTotal != 128 || len(v.Expiring) != 1 || v.Expiring[0].Points != 128 {
		t.Fatalf("after the window: %+v", v)
	}
	w.conserved(t, id)
}

func TestRedeemDrawsSoonestExpiringLotsFirstAndLinksThem(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 1, 10, 10))
	id := w.join(t, "o-draw")
	for i, pts := range []int64{30, 40, 50} { // lots of January, February, March: expiring in that order
		if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: pts, SourceKey: "signup-" + string(rune('a'+i)), Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(31 * 24 * time.Hour)
	}
	r, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 55, Key: "gift"})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Draws) != 2 || r.Points != 55 {
		t.Fatalf("redemption %+v", r)
	}
	byExpiry := map[string]int64{}
	for _, d := range r.Draws {
		byExpiry[d.ExpiresAt.In(clock.Shanghai).Format("2006-01")] = d.Points
	}
	if byExpiry["2027-02"] != 30 || byExpiry["2027-03"] != 25 {
		t.Fatalf("drew %v, want all of January's lot (expiring 2027-02-01) and 25 of February's", byExpiry)
	}
	again, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 55, Key: "gift"})
	if err != nil || again.ID != r.ID {
		t.Fatalf("a repeated key: %+v, %v", again, err)
	}
	if v := w.points(t, id); v.Balance != 65 {
		t.Fatalf("balance %d, want 120 - 55", v.Balance)
	}
	if _, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 66, Key: "too-much"}); errs.CodeOf(err) != consumer.CodePointsInsufficient {
		t.Fatalf("overdraw: %v", err)
	} else if e := errs.As(err); e.Field != "points" {
		t.Fatalf("field %q", e.Field)
	}
	w.conserved(t, id)
}

func TestConcurrentRedemptionsNeverOverdraw(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 5, 1, 10))
	id := w.join(t, "o-race")
	for i := range 4 {
		if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 25, SourceKey: uuid.NewString(), Reason: "lot " + string(rune('0'+i))}); err != nil {
			t.Fatal(err)
		}
	}
	const n = 12
	var wg sync.WaitGroup
	start := make(chan struct{})
	results := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, results[i] = w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 30, Key: uuid.NewString()})
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range results {
		switch {
		case err == nil:
			ok++
		case !errs.Is(err, consumer.CodePointsInsufficient):
			t.Fatal(err)
		}
	}
	if ok != 3 {
		t.Fatalf("%d redemptions of 30 from 100 went through, want 3", ok)
	}
	if v := w.points(t, id); v.Balance != 10 {
		t.Fatalf("balance %d, want 10", v.Balance)
	}
	var drawn int64
	if err := w.db.QueryRow(w.ctx, `SELECT SUM(points) FROM consumer.points_draws`).Scan(&drawn); err != nil || drawn != 90 {
		t.Fatalf("the draws link %d points, %v", drawn, err)
	}
	w.conserved(t, id)
}

func TestExpiryIsIdempotentAndSafeBesideRedemptions(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 1, 10, 10))
	id := w.join(t, "o-expire")
	if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 50, SourceKey: "old", Reason: "old"}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(60 * 24 * time.Hour)
	if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 50, SourceKey: "new", Reason: "new"}); err != nil {
		t.Fatal(err)
	}
	// 2027-02-01 00:00: the old lot is past its expiry, the job has not run yet.
	clk.Freeze(sh(2027, 2, 1, 0))
	if v := w.points(t, id); len(v.Expiring) != 1 || v.Expiring[0].Points != 50 {
		t.Fatalf("expiring %+v: an expired lot is not offered", v.Expiring)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	var redeemed [10]error
	var runs [3]consumer.JobResult
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, redeemed[i] = w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 8, Key: uuid.NewString()})
		}()
	}
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			var err error
			if runs[i], err = w.svc.ExpireLots(w.ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range redeemed {
		if err == nil {
			ok++
		} else if !errs.Is(err, consumer.CodePointsInsufficient) {
			t.Fatal(err)
		}
	}
	if ok != 6 { // only the new lot's 50 points were ever spendable: 6 × 8
		t.Fatalf("%d redemptions went through, want 6", ok)
	}
	var expired int64
	for _, r := range runs {
		expired += r.Points
	}
	if expired != 50 {
		t.Fatalf("the runs expired %d points in all, want the old lot's 50 once", expired)
	}
	if r, err := w.svc.ExpireLots(w.ctx); err != nil || r.Points != 0 {
		t.Fatalf("a later run: %+v, %v", r, err)
	}
	if v := w.points(t, id); v.Balance != 2 {
		t.Fatalf("balance %d, want 2", v.Balance)
	}
	w.conserved(t, id)
}

// Policy: a refund of an order whose points were spent takes what is left of the
// order's lot, then the member's other spendable points; the rest is forgiven and
// reported, never a negative balance or a debt.
func TestRefundAfterPointsWereSpentTakesWhatIsLeftAndReportsTheRest(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 4, 1, 10))
	id := w.join(t, "o-spent")
	order := uuid.New()
	if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: order, ConsumerID: id, AmountFen: 12_899}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(8 * 24 * time.Hour)
	if _, err := w.svc.ReleasePending(w.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 100, Key: "spent"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 30, SourceKey: "review", Reason: "review"}); err != nil {
		t.Fatal(err)
	}
	refund := consumer.Refund{RefundID: uuid.New(), OrderID: order, ConsumerID: id, OrderAmountFen: 12_899, RefundedTotalFen: 12_899}
	for i := range 3 {
		res, err := w.svc.ApplyRefund(w.ctx, refund)
		if err != nil {
			t.Fatal(err)
		}
		if want := (consumer.RefundResult{Reversed: 28 + 30, Forgiven: 70}); i == 0 && res != want || i > 0 && res != (consumer.RefundResult{}) {
			t.Fatalf("refund, time %d: %+v", i+1, res)
		}
	}
	v := w.points(t, id)
	if v.Balance != 0 || v.EarnedTotal != 30 {
		t.Fatalf("after the refund: %+v, want nothing left and only the review's 30 toward tiers", v)
	}
	es, err := w.svc.MyLedger(w.ctx, id, uuid.Nil, 1)
	if err != nil || es[0].Kind != consumer.KindReverse || es[0].Delta != -58 || es[0].Forgiven != 70 {
		t.Fatalf("the reversal entry: %+v, %v", es, err)
	}
	w.conserved(t, id)
}

// Policy: an order paid partly with points earns on the money paid; each refund
// gives back the share of the points the refunded amount bears, into the lots they
// came from, and reverses the same share of what the order earned.
func TestPartialRefundOfAnOrderPaidPartlyWithPoints(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 6, 1, 10))
	id := w.join(t, "o-mixed")
	if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 200, SourceKey: "welcome", Reason: "welcome"}); err != nil {
		t.Fatal(err)
	}
	order := uuid.New()
	red, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 80, Key: "order", OrderID: &order})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: order, ConsumerID: id, AmountFen: 10_000}); err != nil {
		t.Fatal(err)
	}
	half := consumer.Refund{RefundID: uuid.New(), OrderID: order, ConsumerID: id, OrderAmountFen: 10_000, RefundedTotalFen: 5_000}
	for range 2 {
		if _, err := w.svc.ApplyRefund(w.ctx, half); err != nil {
			t.Fatal(err)
		}
	}
	v := w.points(t, id)
	if v.Balance != 120+40 || v.Pending != 50 {
		t.Fatalf("after half: %+v, want 40 of 80 spent points back and 50 of 100 earned pending", v)
	}
	rest := consumer.Refund{RefundID: uuid.New(), OrderID: order, ConsumerID: id, OrderAmountFen: 10_000, RefundedTotalFen: 10_000}
	res, err := w.svc.ApplyRefund(w.ctx, rest)
	if err != nil || res != (consumer.RefundResult{Reversed: 50, Returned: 40}) {
		t.Fatalf("the rest: %+v, %v", res, err)
	}
	v = w.points(t, id)
	if v.Balance != 200 || v.Pending != 0 || v.Lots[0].ID != red.Draws[0].LotID || v.Lots[0].Remaining != 200 {
		t.Fatalf("after all: %+v, want the welcome lot whole again", v)
	}
	w.conserved(t, id)
}

func TestExpiryRemindersGoOncePerLot(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 1, 10, 10))
	id := w.join(t, "o-remind")
	if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 40, SourceKey: "a", Reason: "a"}); err != nil {
		t.Fatal(err)
	}
	clk.Freeze(sh(2026, 12, 15, 10)) // the lot lasts to 2027-01-31: 47 days, outside the 30-day window
	if r, err := w.svc.RemindExpiring(w.ctx); err != nil || r.Members != 0 {
		t.Fatalf("too early: %+v, %v", r, err)
	}
	clk.Freeze(sh(2027, 1, 5, 10))
	for i := range 3 {
		r, err := w.svc.RemindExpiring(w.ctx)
		if err != nil || (i == 0) != (r.Points == 40) {
			t.Fatalf("run %d: %+v, %v", i, r, err)
		}
	}
	var n int
	var payload string
	if err := w.db.QueryRow(w.ctx, `SELECT count(*), max(payload::text) FROM platform.outbox WHERE topic = 'consumer.points_expiring'`).Scan(&n, &payload); err != nil || n != 1 {
		t.Fatalf("%d reminders, %v", n, err)
	}
	if !strings.Contains(payload, `"last_day": "2027-01-31"`) && !strings.Contains(payload, `"last_day":"2027-01-31"`) {
		t.Fatalf("payload %s", payload)
	}
}

// README, points policy "Earning base": the money the consumer paid (WeChat Pay's
// amount, after coupon discounts) earns; points spent on the order and the coupons'
// discount earn nothing.
func TestPolicyEarningBaseIsTheMoneyPaid(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 6, 1, 10))
	id := w.join(t, "o-base")
	if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 500, SourceKey: "gift", Reason: "gift"}); err != nil {
		t.Fatal(err)
	}
	order := uuid.New()
	// A 150.00 order: a 30.00 coupon and 300 points (3.00) leave 117.00 to pay through WeChat Pay.
	if _, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 300, Key: "pay-part", OrderID: &order}); err != nil {
		t.Fatal(err)
	}
	n, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: order, ConsumerID: id, AmountFen: 11_700})
	if err != nil || n != 117 {
		t.Fatalf("earned %d, %v: want 117 for the 117.00 paid", n, err)
	}
	clk.Advance(8 * 24 * time.Hour)
	if _, err := w.svc.ReleasePending(w.ctx); err != nil {
		t.Fatal(err)
	}
	if p := w.points(t, id); p.Balance != 500-300+117 {
		t.Fatalf("balance %d", p.Balance)
	}
	w.conserved(t, id)
}

// A lot's expiry is written by the credit's statement (SQL): it is the day or month
// end Program.ExpiresAt says, month ends and short months included.
func TestCreditedLotsExpireAsTheProgramSays(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 1, 31, 9))
	id := w.join(t, "o-expiry-sql")
	for i, c := range []struct {
		months   int
		rounding string
		earned   time.Time
	}{
		{12, consumer.RoundMonth, sh(2026, 3, 15, 10)},
		{12, consumer.RoundMonth, sh(2026, 12, 31, 23)},
		{12, consumer.RoundDay, sh(2027, 3, 15, 10)},
		{1, consumer.RoundDay, sh(2028, 1, 31, 9)},
		{1, consumer.RoundDay, sh(2028, 3, 31, 0)},
		{3, consumer.RoundMonth, sh(2028, 11, 30, 23)},
	} {
		if _, err := w.db.Exec(w.ctx, `UPDATE consumer.points_program SET expiry_months = $1, expiry_rounding = $2`, c.months, c.rounding); err != nil {
			t.Fatal(err)
		}
		clk.Freeze(c.earned)
		if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 1, SourceKey: "expiry-" + string(rune('a'+i)), Reason: "test"}); err != nil {
			t.Fatal(err)
		}
		want := consumer.Program{ExpiryMonths: c.months, Rounding: c.rounding}.ExpiresAt(c.earned)
		var got time.Time
		if err := w.db.QueryRow(w.ctx, `SELECT expires_at FROM consumer.points_lots WHERE source_key = $1`, "action:expiry-"+string(rune('a'+i))).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) {
			t.Errorf("%s %d months from %s: the lot expires %s, want %s", c.rounding, c.months, c.earned, got, want)
		}
	}
}

// Earning and redeeming write the member's balance event in their own statement:
// each carries the balance that change made.
func TestBalanceEventsCarryTheBalanceEachChangeMade(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 5, 1, 10))
	id := w.join(t, "o-events")
	if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 70, SourceKey: "ev-1", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 25, Key: "ev-2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 25, Key: "ev-2"}); err != nil { // a repeat: no event
		t.Fatal(err)
	}
	rows, err := w.db.Query(w.ctx, `SELECT payload FROM platform.outbox WHERE topic = $1 AND aggregate_key = $2 ORDER BY id`,
		string(events.TopicPointsBalanceChanged), id.String())
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			t.Fatal(err)
		}
		var e events.PointsBalanceChanged
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		if e.ConsumerID != id || e.ChangedAt.IsZero() {
			t.Fatalf("event %s", body)
		}
		got = append(got, e.Balance)
	}
	if rows.Err() != nil || len(got) != 2 || got[0] != 70 || got[1] != 45 {
		t.Fatalf("balance events %v (%v), want [70 45]", got, rows.Err())
	}
}

type ordersOf map[uuid.UUID]uuid.UUID // order → its consumer

func (o ordersOf) OwnsOrder(_ context.Context, consumerID, orderID uuid.UUID) (bool, error) {
	return o[orderID] == consumerID, nil
}

// A redemption naming an order that does not exist, or is another consumer's, is
// refused naming order_id, and nothing is spent.
func TestRedemptionAgainstAnOrderNotTheMembersIsRefused(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := w.join(t, "o-order-mine")
	m, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: "o-order-other", Phone: "13987654321"})
	if err != nil || m.ID == id {
		t.Fatalf("another member: %+v, %v", m, err)
	}
	other := m.ID
	mine, theirs := uuid.New(), uuid.New()
	w.svc = consumer.New(domain.Deps{DB: w.db}, consumer.Ports{Identities: w.ids, Orders: ordersOf{mine: id, theirs: other}}, consumer.Config{})
	if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 100, SourceKey: "o-1", Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	for name, order := range map[string]uuid.UUID{"made up": uuid.New(), "another's": theirs} {
		_, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 10, Key: "k-" + name, OrderID: &order})
		if e := errs.As(err); e == nil || e.Code != consumer.CodeOrderUnknown || e.Field != "order_id" || e.Kind.HTTPStatus()/100 != 4 {
			t.Fatalf("%s order: %v, want a 4xx %s naming order_id", name, err, consumer.CodeOrderUnknown)
		}
	}
	if v := w.points(t, id); v.Balance != 100 {
		t.Fatalf("balance %d after refusals, want 100", v.Balance)
	}
	if r, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 10, Key: "k-mine", OrderID: &mine}); err != nil || r.OrderID == nil || *r.OrderID != mine {
		t.Fatalf("own order: %+v, %v", r, err)
	}
	w.conserved(t, id)
}
