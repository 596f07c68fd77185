package consumer_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/errs"
)

func TestCouponTemplateRefusesBadInputNamingTheField(t *testing.T) {
	t.Parallel()
	for field, tpl := range map[string]consumer.CouponTemplate{
		"percent":    {Name: "x", Kind: consumer.CouponPercent, Percent: 120, ValidDays: 7},
		"cap_fen":    {Name: "x", Kind: consumer.CouponPercent, Percent: 10, CapFen: -1, ValidDays: 7},
		"amount_fen": {Name: "x", Kind: consumer.CouponAmount, ValidDays: 7},
		"valid_to":   {Name: "x", Kind: consumer.CouponAmount, AmountFen: 100},
		"kind":       {Name: "x", Kind: "gift", ValidDays: 7},
	} {
		if e := errs.As(tpl.Validate()); e == nil || e.Field != field || e.Code != consumer.CodeCouponInvalid {
			t.Errorf("%s: %v", field, e)
		}
	}
	pct := consumer.CouponTemplate{Kind: consumer.CouponPercent, Percent: 20, CapFen: 3000}
	if d := pct.Discount(10_000); d != 2000 {
		t.Errorf("20%% of 100 yuan: %d", d)
	}
	if d := pct.Discount(50_000); d != 3000 {
		t.Errorf("20%% of 500 yuan capped at 30: %d", d)
	}
}

func (w *world) batch(t *testing.T, tpl consumer.CouponTemplate, b consumer.CouponBatch) consumer.CouponBatch {
	t.Helper()
	growth := w.staff(t, "growth")
	tt, err := w.svc.CreateCouponTemplate(w.ctx, growth, tpl)
	if err != nil {
		t.Fatal(err)
	}
	b.TemplateID = tt.ID
	out, err := w.svc.CreateCouponBatch(w.ctx, growth, b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *world) members(t *testing.T, n int) []uuid.UUID {
	t.Helper()
	ids := make([]uuid.UUID, n)
	for i := range ids {
		m, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: fmt.Sprintf("o-m%d", i), Phone: fmt.Sprintf("1390000%04d", i)})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = m.ID
	}
	return ids
}

// The coupon centre lists what a consumer may claim now: a claimable batch with stock
// left, with its terms and how many of it they hold; not a batch only issued by hand,
// one whose stock is gone, nor one whose dated validity has ended; a batch they hold
// their limit of stays listed, saying they cannot claim another.
func TestTheCouponCentreListsWhatAConsumerMayClaim(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 6, 1, 10))
	tpl := consumer.CouponTemplate{Name: "满100减10", Kind: consumer.CouponAmount, AmountFen: 1000, ThresholdFen: 10_000, ValidDays: 30}
	open := w.batch(t, tpl, consumer.CouponBatch{Name: "六月", Stock: 10, PerMember: 2, Claimable: true})
	w.batch(t, tpl, consumer.CouponBatch{Name: "手动发放", Stock: 10, PerMember: 1})
	gone := w.batch(t, tpl, consumer.CouponBatch{Name: "一张", Stock: 1, PerMember: 1, Claimable: true})
	from, to := sh(2026, 5, 1, 0), sh(2026, 5, 31, 0)
	w.batch(t, consumer.CouponTemplate{Name: "五月", Kind: consumer.CouponAmount, AmountFen: 500, ValidFrom: &from, ValidTo: &to},
		consumer.CouponBatch{Name: "五月", Stock: 10, PerMember: 1, Claimable: true})
	ids := w.members(t, 2)
	me, other := ids[0], ids[1]
	if _, err := w.svc.ClaimCoupon(w.ctx, other, gone.ID); err != nil {
		t.Fatal(err)
	}
	list := func(want int) consumer.ClaimableCoupon {
		t.Helper()
		cs, err := w.svc.ClaimableCoupons(w.ctx, me)
		if err != nil || len(cs) != 1 || cs[0].BatchID != open.ID || cs[0].Terms.ThresholdFen != 10_000 || cs[0].Terms.AmountFen != 1000 ||
			cs[0].Mine != want || cs[0].Left != 10-want {
			t.Fatalf("claimable: %+v, %v (want 六月 only, %d mine)", cs, err, want)
		}
		return cs[0]
	}
	if c := list(0); !c.CanClaim {
		t.Fatalf("nothing claimed yet, cannot claim: %+v", c)
	}
	for range 2 {
		if _, err := w.svc.ClaimCoupon(w.ctx, me, open.ID); err != nil {
			t.Fatal(err)
		}
	}
	if c := list(2); c.CanClaim {
		t.Fatalf("the limit held, may claim: %+v", c)
	}
}

func TestConcurrentClaimsNeverPassTheStockOrAMembersLimit(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 6, 1, 10))
	b := w.batch(t, consumer.CouponTemplate{Name: "满100减10", Kind: consumer.CouponAmount, AmountFen: 1000, ThresholdFen: 10_000, ValidDays: 30},
		consumer.CouponBatch{Name: "June", Stock: 10, PerMember: 2, Claimable: true})
	ids := w.members(t, 20)
	var wg sync.WaitGroup
	start := make(chan struct{})
	var mu sync.Mutex
	got := map[string]int{}
	for _, id := range ids {
		for range 3 { // each member tries three times: at most two each
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := w.svc.ClaimCoupon(w.ctx, id, b.ID)
				mu.Lock()
				defer mu.Unlock()
				got[errs.CodeOf(err)]++
			}()
		}
	}
	close(start)
	wg.Wait()
	if got[""] != 10 || got[consumer.CodeCouponOutOfStock]+got[consumer.CodeCouponLimit] != 50 {
		t.Fatalf("claims: %v, want exactly 10 issued", got)
	}
	var issued, rows, maxPer int
	if err := w.db.QueryRow(w.ctx, `SELECT (SELECT issued FROM consumer.coupon_batches), (SELECT count(*) FROM consumer.coupons),
	    (SELECT max(n) FROM (SELECT count(*) AS n FROM consumer.coupons GROUP BY consumer_id) x)`).Scan(&issued, &rows, &maxPer); err != nil {
		t.Fatal(err)
	}
	if issued != 10 || rows != 10 || maxPer > 2 {
		t.Fatalf("issued %d, %d coupons, at most %d per member", issued, rows, maxPer)
	}
}

func TestASingleUseCouponIsUsedOnceAndBadUsesAreRefusedWithTheReason(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 6, 1, 10))
	shop := uuid.New()
	b := w.batch(t, consumer.CouponTemplate{Name: "满100减20", Kind: consumer.CouponAmount, AmountFen: 2000, ThresholdFen: 10_000, ValidDays: 7,
		MerchantIDs: []uuid.UUID{shop}}, consumer.CouponBatch{Name: "x", Stock: 100, PerMember: 5, Claimable: true})
	ids := w.members(t, 2)
	me, other := ids[0], ids[1]
	c, err := w.svc.ClaimCoupon(w.ctx, me, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	order := func(amount int64) consumer.OrderForCoupon {
		return consumer.OrderForCoupon{OrderID: uuid.New(), ConsumerID: me, MerchantID: shop, AmountFen: amount}
	}
	below := order(9_950)
	if _, err := w.svc.ReserveCoupon(w.ctx, c.ID, below); errs.CodeOf(err) != consumer.CodeCouponBelow || errs.As(err).Message != "the order is 0.50 yuan short of the coupon's 100.00 yuan threshold" {
		t.Fatalf("below the threshold: %v", err)
	}
	elsewhere := order(20_000)
	elsewhere.MerchantID = uuid.New()
	if _, err := w.svc.ReserveCoupon(w.ctx, c.ID, elsewhere); errs.CodeOf(err) != consumer.CodeCouponNotApplicable {
		t.Fatalf("another shop: %v", err)
	}
	theirs := order(20_000)
	theirs.ConsumerID = other
	if _, err := w.svc.ReserveCoupon(w.ctx, c.ID, theirs); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("another member's coupon: %v", err)
	}
	// Five checkouts at once: one reserves it.
	var wg sync.WaitGroup
	start := make(chan struct{})
	won := make(chan consumer.OrderForCoupon, 5)
	for range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := order(15_000)
			<-start
			d, err := w.svc.ReserveCoupon(w.ctx, c.ID, o)
			if err == nil && d == 2000 {
				won <- o
			} else if errs.CodeOf(err) != consumer.CodeCouponInUse {
				t.Error(err)
			}
		}()
	}
	close(start)
	wg.Wait()
	close(won)
	if len(won) != 1 {
		t.Fatalf("%d orders reserved the coupon", len(won))
	}
	first := <-won
	// A second coupon on the same order: these do not stack.
	c2, err := w.svc.ClaimCoupon(w.ctx, me, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.ReserveCoupon(w.ctx, c2.ID, first); errs.CodeOf(err) != consumer.CodeCouponNotStackable {
		t.Fatalf("stacking: %v", err)
	}
	// The order closes unpaid: the coupon comes back, and can be used by another order, which is paid.
	if n, err := w.svc.ReleaseOrderCoupons(w.ctx, first.OrderID); err != nil || n != 1 {
		t.Fatalf("release: %d, %v", n, err)
	}
	paid := order(15_000)
	if _, err := w.svc.ReserveCoupon(w.ctx, c.ID, paid); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := w.svc.RedeemOrderCoupons(w.ctx, paid.OrderID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.svc.ReserveCoupon(w.ctx, c.ID, order(15_000)); errs.CodeOf(err) != consumer.CodeCouponInUse {
		t.Fatalf("a used coupon: %v", err)
	}
	// Policy: a full refund within the validity gives the coupon back.
	if n, err := w.svc.ReturnOrderCoupons(w.ctx, paid.OrderID); err != nil || n != 1 {
		t.Fatalf("return: %d, %v", n, err)
	}
	clk.Advance(8 * 24 * time.Hour)
	if _, err := w.svc.ReserveCoupon(w.ctx, c.ID, order(15_000)); errs.CodeOf(err) != consumer.CodeCouponExpired {
		t.Fatalf("expired: %v", err)
	}
}
