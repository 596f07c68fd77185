package consumer

import (
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/web"
)

// Every refusal of issue 13 reads in Chinese and in English with what the person needs
// to act: how much is missing, how many points are spendable, when a coupon ended, the
// field and the rule. The words are the console's, which also words the API's refusals
// for an Accept-Language (cmd/tandem's TestLoyaltyRefusalsInTheCallersLanguage).
func TestRefusalsSayWhatIsWrongInBothLanguages(t *testing.T) {
	t.Parallel()
	w, err := web.New(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Register((&Service{}).pages()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, shanghai)
	growth := TierProgram{Metric: MetricGrowth, PeriodMonths: 12, Downgrade: DowngradeOne, Tiers: []Tier{
		{Level: 0, Name: "普通", MultiplierPct: 100}, {Level: 1, Name: "银卡", Threshold: 50_000, MultiplierPct: 100},
		{Level: 2, Name: "金卡", Threshold: 50_000, MultiplierPct: 100}}}
	points := growth
	points.Metric = MetricPoints
	first := growth
	first.Tiers = []Tier{{Level: 0, Name: "普通", Threshold: 5, MultiplierPct: 100}}
	program := Program{PointsPerYuan: 1, ExpiryMonths: 0, Rounding: RoundMonth, PendingDays: 7}
	for name, c := range map[string]struct {
		err    error
		zh, en string
	}{
		"below the threshold": {belowThreshold(10_000, 8_750, false),
			"订单金额未达这张券的使用门槛 ¥100.00，还差 ¥12.50。", "The order is ¥12.50 short of the coupon's ¥100.00 threshold."},
		"below a category threshold": {belowThreshold(6_000, 5_000, true),
			"适用品类的商品金额未达这张券的使用门槛 ¥60.00，还差 ¥10.00。", "The order's items of the coupon's categories are ¥10.00 short of its ¥60.00 threshold."},
		"more points than spendable": {insufficient(120, 500),
			"可用积分不足：可用 120 积分，比 500 少 380。", "Not enough spendable points: 120 are spendable, 380 short of 500."},
		"expired": {outsideValidity(now.AddDate(0, -1, 0), now.AddDate(0, 0, -2), now),
			"这张券已于 2026-12-05 过期。", "This coupon expired on 2026-12-05."},
		"not yet valid": {outsideValidity(now.AddDate(0, 0, 3), now.AddDate(0, 1, 0), now),
			"这张券 2026-12-10 起才能使用。", "This coupon can be used from 2026-12-10."},
		"tier thresholds overlapping, growth": {growth.Validate(),
			"等级 2：门槛须高于上一级的门槛（¥500.00）：门槛不能重叠，也不能倒序。",
			"tier 2: Threshold must be above the tier before's (¥500.00): thresholds neither overlap nor descend."},
		"tier thresholds overlapping, points": {points.Validate(),
			"等级 2：门槛须高于上一级的门槛（50000 积分）：门槛不能重叠，也不能倒序。",
			"tier 2: Threshold must be above the tier before's (50000 points): thresholds neither overlap nor descend."},
		"first tier above 0": {first.Validate(), "等级 0：门槛须为 0：第一级是所有会员的等级。", "tier 0: Threshold must be 0: the first tier is every member's."},
		"expiry of zero length": {program.Validate(),
			"有效期（月）须在 1 到 120 个月之间：积分不能一获得就过期。", "Validity (months) must be 1 to 120 months: points cannot expire as they are earned."},
		"percent over 100": {CouponTemplate{Name: "坏券", Kind: CouponPercent, Percent: 120, ValidDays: 7}.Validate(),
			"折扣（%）须在 1 到 100 之间。", "Percent off must be 1 to 100."},
		"negative cap": {CouponTemplate{Name: "坏券", Kind: CouponPercent, Percent: 10, CapFen: -1, ValidDays: 7}.Validate(),
			"封顶（元，0 为不封顶）不能为负数。", "Cap (yuan, 0 for none) cannot be negative."},
	} {
		if c.err == nil {
			t.Errorf("%s: not refused", name)
			continue
		}
		if got := w.ErrorMessage("zh-CN", c.err); got != c.zh {
			t.Errorf("%s in Chinese:\n got %q\nwant %q", name, got, c.zh)
		}
		if got := w.ErrorMessage("en", c.err); got != c.en {
			t.Errorf("%s in English:\n got %q\nwant %q", name, got, c.en)
		}
	}
}
