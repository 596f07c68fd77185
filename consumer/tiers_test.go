package consumer_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/errs"
)

func TestTierRulesRefuseOverlappingThresholdsNamingTheField(t *testing.T) {
	t.Parallel()
	good := consumer.TierProgram{Metric: consumer.MetricGrowth, PeriodMonths: 12, Downgrade: consumer.DowngradeOne, Tiers: []consumer.Tier{
		{Level: 0, Name: "Member", MultiplierPct: 100},
		{Level: 1, Name: "Silver", Threshold: 1000, Retain: 500, MultiplierPct: 120},
		{Level: 2, Name: "Gold", Threshold: 5000, Retain: 3000, MultiplierPct: 150},
	}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for field, change := range map[string]func(p *consumer.TierProgram){
		"tiers[2].threshold":      func(p *consumer.TierProgram) { p.Tiers[2].Threshold = 1000 }, // overlapping
		"tiers[1].threshold":      func(p *consumer.TierProgram) { p.Tiers[1].Threshold = 0 },    // descending from the first
		"tiers[0].threshold":      func(p *consumer.TierProgram) { p.Tiers[0].Threshold = 10 },
		"tiers[1].retain":         func(p *consumer.TierProgram) { p.Tiers[1].Retain = 2000 },
		"tiers[2].multiplier_pct": func(p *consumer.TierProgram) { p.Tiers[2].MultiplierPct = 50 },
		"period_months":           func(p *consumer.TierProgram) { p.PeriodMonths = 0 },
		"metric":                  func(p *consumer.TierProgram) { p.Metric = "balance" },
	} {
		p := good
		p.Tiers = append([]consumer.Tier(nil), good.Tiers...)
		change(&p)
		if e := errs.As(p.Validate()); e == nil || e.Field != field || e.Code != consumer.CodeTiersInvalid {
			t.Errorf("%s: %v", field, e)
		}
	}
	// A growth threshold is paid money: the refusal names it in yuan, as the console
	// asks for it, with the API's fen beside it; a points threshold in points.
	p := good
	p.Tiers = append([]consumer.Tier(nil), good.Tiers...)
	p.Tiers[2].Threshold = 1000
	if e := errs.As(p.Validate()); e == nil || !strings.Contains(e.Message, "(10.00 yuan, 1000 fen)") {
		t.Errorf("growth threshold refusal: %v", e)
	}
	p.Metric = consumer.MetricPoints
	if e := errs.As(p.Validate()); e == nil || !strings.Contains(e.Message, "(1000 points)") {
		t.Errorf("points threshold refusal: %v", e)
	}
}

// The default program: growth value, Silver at 1,000 yuan (keeps at 500), ×1.2 points;
// downgrade one tier at a time; a 12-month period.
func TestTiersUpgradeAtOnceNeverOnSpendingAndRetainOrDropAtThePeriodsEnd(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 1, 10, 10))
	growth := w.staff(t, "growth")
	id := w.join(t, "o-tier")
	level := func() int {
		t.Helper()
		st, err := w.svc.MemberTier(w.ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return st.Tier.Level
	}
	big := uuid.New()
	if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: big, ConsumerID: id, AmountFen: 120_000}); err != nil {
		t.Fatal(err)
	}
	if level() != 0 {
		t.Fatal("pending points count toward a tier")
	}
	clk.Advance(8 * 24 * time.Hour)
	if _, err := w.svc.ReleasePending(w.ctx); err != nil {
		t.Fatal(err)
	}
	if level() != 1 {
		t.Fatalf("level %d after 1,200 yuan counted, want Silver at once", level())
	}
	if _, err := w.svc.Redeem(w.ctx, id, consumer.RedeemRequest{Points: 1100, Key: "spend"}); err != nil {
		t.Fatal(err)
	}
	if level() != 1 {
		t.Fatal("spending points demoted the member")
	}
	if n, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: uuid.New(), ConsumerID: id, AmountFen: 10_000}); err != nil || n != 120 {
		t.Fatalf("Silver earns ×1.2: %d, %v", n, err)
	}
	// A refund lowers the metric; the tier is judged at the period's end.
	if _, err := w.svc.ApplyRefund(w.ctx, consumer.Refund{RefundID: uuid.New(), OrderID: big, ConsumerID: id, OrderAmountFen: 120_000, RefundedTotalFen: 120_000}); err != nil {
		t.Fatal(err)
	}
	st, _ := w.svc.MemberTier(w.ctx, id)
	if st.PeriodMetric != 0 || st.Tier.Level != 1 || st.ToRetain != 50_000 {
		t.Fatalf("after the refund: %+v", st)
	}
	if err := w.svc.SetTierFloor(w.ctx, growth, id, 2, sh(2027, 6, 1, 0), "VIP complaint"); err != nil {
		t.Fatal(err)
	}
	if level() != 2 {
		t.Fatalf("a manual Gold floor: level %d", level())
	}
	clk.Freeze(sh(2027, 1, 11, 0))
	if _, err := w.svc.ReleasePending(w.ctx); err != nil { // the 100 yuan order: 10,000 fen, below Silver's 50,000 to keep
		t.Fatal(err)
	}
	for range 2 {
		if _, err := w.svc.EvaluatePeriods(w.ctx); err != nil {
			t.Fatal(err)
		}
	}
	st, _ = w.svc.MemberTier(w.ctx, id)
	if st.Earned != 0 || st.Tier.Level != 2 || st.PeriodMetric != 0 {
		t.Fatalf("at the period's end: %+v, want dropped one tier to 0 under a Gold floor", st)
	}
	clk.Freeze(sh(2027, 6, 2, 0))
	if level() != 0 {
		t.Fatalf("after the floor's date: level %d", level())
	}
	h, err := w.svc.TierHistory(w.ctx, growth, id)
	if err != nil || len(h) != 3 || h[0].Reason != consumer.TierDowngrade || h[1].Reason != consumer.TierManual || h[2].Reason != consumer.TierUpgrade {
		t.Fatalf("history %+v, %v", h, err)
	}
}

func TestRetentionKeepsTheTier(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 1, 10, 10))
	id := w.join(t, "o-keep")
	if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: id, Points: 10, SourceKey: "x", Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	for _, fen := range []int64{100_000, 60_000} { // Silver in year one; 600 yuan in year two keeps it (≥ 500)
		if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: uuid.New(), ConsumerID: id, AmountFen: fen}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(8 * 24 * time.Hour)
		if _, err := w.svc.ReleasePending(w.ctx); err != nil {
			t.Fatal(err)
		}
		clk.Advance(360 * 24 * time.Hour)
		if _, err := w.svc.EvaluatePeriods(w.ctx); err != nil {
			t.Fatal(err)
		}
	}
	st, err := w.svc.MemberTier(w.ctx, id)
	if err != nil || st.Tier.Level != 1 {
		t.Fatalf("%+v, %v: 600 yuan in the second period keeps Silver", st, err)
	}
}
