package billing_test

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/money"
)

// coupon issues the member a coupon of a new template (valid 30 days).
func (w *world) coupon(member uuid.UUID, tpl consumer.CouponTemplate) uuid.UUID {
	w.t.Helper()
	growth := w.as("growth")
	tpl.ValidDays = 30
	tt, err := w.consumers.CreateCouponTemplate(w.ctx, growth, tpl)
	if err != nil {
		w.t.Fatal(err)
	}
	b, err := w.consumers.CreateCouponBatch(w.ctx, growth, consumer.CouponBatch{TemplateID: tt.ID, Name: tpl.Name, Stock: 10, PerMember: 5})
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := w.consumers.IssueCoupon(w.ctx, consumer.IssueRequest{BatchID: b.ID, ConsumerID: member, Source: consumer.IssueManual,
		SourceKey: "test:" + b.ID.String()})
	if err != nil {
		w.t.Fatal(err)
	}
	return c.ID
}

func (w *world) couponState(id uuid.UUID) string {
	w.t.Helper()
	var st string
	if err := w.db.QueryRow(w.ctx, `SELECT state FROM consumer.coupons WHERE id = $1`, id).Scan(&st); err != nil {
		w.t.Fatal(err)
	}
	return st
}

func yuan(fen int64) money.Money { return money.MustNew(fen, money.CNY) }

// placeLines places an order of two lines: dumplings 100.00 (food), tea 50.00 (drink).
func (w *world) placeLines(c uuid.UUID) billing.Order {
	w.t.Helper()
	o, err := w.svc.PlaceOrder(w.ctx, c, billing.NewOrder{MerchantID: w.merchant, Description: "午餐", Lines: []billing.NewLine{
		{Description: "小笼包", Category: "food", Amount: yuan(10_000)}, {Description: "茶", Category: "drink", Amount: yuan(5_000)}}})
	if err != nil {
		w.t.Fatal(err)
	}
	return o
}

func TestACouponAtPrepayPaysTheDiscountedAmountSharedAmongTheLines(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-coupon")
	o := w.placeLines(c)
	if o.Amount.Fen() != 15_000 {
		t.Fatalf("the order is %s, want the lines' 150.00", o.Amount)
	}
	cp := w.coupon(c, consumer.CouponTemplate{Name: "满100减30", Kind: consumer.CouponAmount, AmountFen: 3_000, ThresholdFen: 10_000})
	got, err := w.svc.ApplyCoupons(w.ctx, c, o.ID, []uuid.UUID{cp})
	if err != nil {
		t.Fatal(err)
	}
	// 30.00 off 150.00, shared 2:1 between the lines.
	if got.Amount.Fen() != 12_000 || got.Discount.Fen() != 3_000 || len(got.Lines) != 2 ||
		got.Lines[0].Paid.Fen() != 8_000 || got.Lines[1].Paid.Fen() != 4_000 || len(got.CouponIDs) != 1 {
		t.Fatalf("after the coupon: %+v", got)
	}
	if st := w.couponState(cp); st != consumer.CouponReserved {
		t.Fatalf("the coupon is %s, want reserved by the unpaid order", st)
	}
	if _, err := w.svc.Prepay(w.ctx, c, o.ID, billing.PayJSAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.ApplyCoupons(w.ctx, c, o.ID, nil); !errs.Is(err, billing.CodeOrderNotPayable) {
		t.Fatalf("coupons changed after the prepay: %v", err)
	}
	w.pay(o.OrderNo)
	if n := w.count(`SELECT count(*) FROM billing.payments WHERE order_id = $1 AND amount_fen = 12000`, o.ID); n != 1 {
		t.Fatal("WeChat Pay was not paid the 120.00 left after the coupon")
	}
	w.deliver(w.consumers.Subscriptions(), 2)
	if st := w.couponState(cp); st != consumer.CouponRedeemed {
		t.Fatalf("the coupon is %s after the payment", st)
	}
	// The earning base is what the consumer paid: 120 points, not 150.
	if b := w.balance(c); b != 120 {
		t.Fatalf("points %d, want 120 for 120.00 paid", b)
	}
	// Refunding the tea gives back what was paid for it (40.00), and its share of the points.
	r, err := w.svc.CreateRefund(w.ctx, w.as("finance"), o.ID, billing.RefundRequest{Lines: []billing.RefundLineRequest{{LineNo: 2}},
		Reason: "茶退了"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Amount.Fen() != 4_000 {
		t.Fatalf("refunding the tea gives back %s, want what was paid for it", r.Amount)
	}
	w.sim.Control("POST", "/sim/refunds/settle", map[string]any{"out_refund_no": r.OutRefundNo, "status": "SUCCESS"}, nil)
	w.sim.Wait()
	w.deliver(w.consumers.Subscriptions(), 2)
	if b := w.balance(c); b != 80 {
		t.Fatalf("points %d after refunding the tea, want 80", b)
	}
	if st := w.couponState(cp); st != consumer.CouponRedeemed {
		t.Fatalf("a partial refund gave the coupon back: %s", st)
	}
}

func TestBadCouponsAreRefusedWithTheReasonAndReserveNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c, other := w.member("o-bad"), w.member("o-other")
	o := w.placeLines(c)
	big := w.coupon(c, consumer.CouponTemplate{Name: "满200减50", Kind: consumer.CouponAmount, AmountFen: 5_000, ThresholdFen: 20_000})
	theirs := w.coupon(other, consumer.CouponTemplate{Name: "立减5", Kind: consumer.CouponAmount, AmountFen: 500})
	shop := w.coupon(c, consumer.CouponTemplate{Name: "别家", Kind: consumer.CouponAmount, AmountFen: 500, MerchantIDs: []uuid.UUID{uuid.New()}})
	drinks := w.coupon(c, consumer.CouponTemplate{Name: "饮品满60减10", Kind: consumer.CouponAmount, AmountFen: 1_000, ThresholdFen: 6_000, Categories: []string{"drink"}})
	expired := w.coupon(c, consumer.CouponTemplate{Name: "过期", Kind: consumer.CouponAmount, AmountFen: 500})
	if _, err := w.db.Exec(w.ctx, `UPDATE consumer.coupons SET valid_to = now() - interval '1 day' WHERE id = $1`, expired); err != nil {
		t.Fatal(err)
	}
	single := w.coupon(c, consumer.CouponTemplate{Name: "九折", Kind: consumer.CouponPercent, Percent: 10})
	stack := w.coupon(c, consumer.CouponTemplate{Name: "立减3", Kind: consumer.CouponAmount, AmountFen: 300, Stackable: true})
	for name, tc := range map[string]struct {
		ids  []uuid.UUID
		code string
		msg  string
	}{
		"below the threshold": {[]uuid.UUID{big}, consumer.CodeCouponBelow, "the order is 50.00 yuan short of the coupon's 200.00 yuan threshold"},
		"another member's":    {[]uuid.UUID{theirs}, "consumer.coupon_not_found", ""},
		"another merchant's":  {[]uuid.UUID{shop}, consumer.CodeCouponNotApplicable, "this coupon is not for this shop"},
		// the drinks on the order are 50.00: its threshold counts the lines it covers
		"category below": {[]uuid.UUID{drinks}, consumer.CodeCouponBelow, "the order is 10.00 yuan short of the coupon's 60.00 yuan threshold"},
		"expired":        {[]uuid.UUID{expired}, consumer.CodeCouponExpired, "this coupon expired on"},
		"stacking":       {[]uuid.UUID{stack, single}, consumer.CodeCouponNotStackable, "does not stack"},
		"the same twice": {[]uuid.UUID{stack, stack}, consumer.CodeCouponNotStackable, "on the order already"},
	} {
		_, err := w.svc.ApplyCoupons(w.ctx, c, o.ID, tc.ids)
		e := errs.As(err)
		if e == nil || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) || e.Field != "coupon_ids" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if n := w.count(`SELECT count(*) FROM consumer.coupons WHERE state <> 'available'`); n != 0 {
		t.Fatalf("%d coupons reserved by refused applications", n)
	}
	if got := w.get(o.ID); got.Amount.Fen() != 15_000 || got.Discount.Fen() != 0 {
		t.Fatalf("a refused coupon changed the order: %+v", got)
	}
	// A category coupon takes its discount off the lines it covers only.
	cheap := w.coupon(c, consumer.CouponTemplate{Name: "饮品8折", Kind: consumer.CouponPercent, Percent: 20, Categories: []string{"drink"}, Stackable: true})
	got, err := w.svc.ApplyCoupons(w.ctx, c, o.ID, []uuid.UUID{cheap, stack})
	if err != nil {
		t.Fatal(err)
	}
	// 20% of the 50.00 tea is 10.00; then 3.00 off the 140.00 left, shared 100:40.
	if got.Discount.Fen() != 1_300 || got.Lines[0].Discount.Fen() != 214 || got.Lines[1].Discount.Fen() != 1_086 {
		t.Fatalf("stacked: discount %s, lines %+v", got.Discount, got.Lines)
	}
	// Taking the coupons off gives them back.
	if got, err = w.svc.ApplyCoupons(w.ctx, c, o.ID, []uuid.UUID{}); err != nil || got.Amount.Fen() != 15_000 {
		t.Fatalf("coupons off: %+v, %v", got, err)
	}
	if n := w.count(`SELECT count(*) FROM consumer.coupons WHERE state <> 'available'`); n != 0 {
		t.Fatalf("%d coupons still reserved", n)
	}
}

func TestAnOrderItsCouponsPayInFullIsPaidWithoutWeChat(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-free")
	o, err := w.svc.PlaceOrder(w.ctx, c, billing.NewOrder{MerchantID: w.merchant, Description: "体验券", Amount: yuan(2_000)})
	if err != nil {
		t.Fatal(err)
	}
	cp := w.coupon(c, consumer.CouponTemplate{Name: "免单", Kind: consumer.CouponPercent, Percent: 100})
	if _, err := w.svc.ApplyCoupons(w.ctx, c, o.ID, []uuid.UUID{cp}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // asked again, it answers paid again
		p, err := w.svc.Prepay(w.ctx, c, o.ID, billing.PayJSAPI)
		if err != nil || !p.Paid || p.JSAPI != nil {
			t.Fatalf("prepay of 0.00: %+v, %v", p, err)
		}
	}
	if got := w.get(o.ID); got.State != billing.StatePaid || got.Amount.Fen() != 0 || got.PaidAt == nil {
		t.Fatalf("the order is %+v", got)
	}
	if n := w.count(`SELECT count(*) FROM billing.payments`) + w.count(`SELECT count(*) FROM billing.postings`); n != 0 {
		t.Fatalf("%d payments and postings for an order nobody paid money for", n)
	}
	evs := w.outboxEvents(events.TopicPaymentSucceeded)
	if len(evs) != 1 {
		t.Fatalf("%d payment events", len(evs))
	}
	w.deliver(w.consumers.Subscriptions(), 2)
	if st := w.couponState(cp); st != consumer.CouponRedeemed {
		t.Fatalf("the coupon is %s", st)
	}
	if b := w.balance(c); b != 0 {
		t.Fatalf("%d points for 0.00 paid", b)
	}
}

func TestClosingAnOrderReleasesItsCoupon(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	c := w.member("o-close")
	o := w.placeLines(c)
	cp := w.coupon(c, consumer.CouponTemplate{Name: "立减5", Kind: consumer.CouponAmount, AmountFen: 500})
	if _, err := w.svc.ApplyCoupons(w.ctx, c, o.ID, []uuid.UUID{cp}); err != nil {
		t.Fatal(err)
	}
	o2 := w.placeLines(c)
	if _, err := w.svc.ApplyCoupons(w.ctx, c, o2.ID, []uuid.UUID{cp}); !errs.Is(err, consumer.CodeCouponInUse) {
		t.Fatalf("a coupon reserved by one order applied to another: %v", err)
	}
	if _, err := w.svc.Close(w.ctx, c, o.ID); err != nil {
		t.Fatal(err)
	}
	w.deliver(w.consumers.Subscriptions(), 2)
	if st := w.couponState(cp); st != consumer.CouponAvailable {
		t.Fatalf("the coupon is %s after its order closed", st)
	}
	if _, err := w.svc.ApplyCoupons(w.ctx, c, o2.ID, []uuid.UUID{cp}); err != nil {
		t.Fatalf("the released coupon: %v", err)
	}
}
