package main

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
)

// The refusals of issue 13 through the API, in the caller's language: the
// mini-program's coupon at prepay below its threshold (how much is missing), expired,
// another member's, not for the shop or the category, not stacking, the same twice, and
// more points than are spendable (how many are); the growth operator's expiry of zero
// length, descending tier thresholds, a percentage over 100 and a negative cap (each
// naming the field). Each keeps its code and field in every language, and nothing is
// reserved.
func TestLoyaltyRefusalsInTheCallersLanguage(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	d, demo := seedDemoWithLogins(t, a)
	growth, err := a.identity.Principal(ctx, demo.Users["growth"])
	if err != nil {
		t.Fatal(err)
	}
	_, growthToken, err := a.identity.CreateToken(ctx, growth, identity.NewToken{Name: "refusals"})
	if err != nil {
		t.Fatal(err)
	}
	consumerToken := consumerToken(t, a, d.consumerID)
	var other uuid.UUID
	if err := a.db.QueryRow(ctx, `SELECT id FROM consumer.members WHERE id <> $1 LIMIT 1`, d.consumerID).Scan(&other); err != nil {
		t.Fatal(err)
	}
	elsewhere := demo.Merchants["A"]
	if elsewhere == d.merchantID {
		elsewhere = demo.Merchants["B"]
	}
	coupon := func(member uuid.UUID, tpl consumer.CouponTemplate) string {
		t.Helper()
		tpl.ValidDays = 30
		tt, err := a.consumer.CreateCouponTemplate(ctx, growth, tpl)
		if err != nil {
			t.Fatal(err)
		}
		b, err := a.consumer.CreateCouponBatch(ctx, growth, consumer.CouponBatch{TemplateID: tt.ID, Name: tpl.Name, Stock: 10, PerMember: 5})
		if err != nil {
			t.Fatal(err)
		}
		c, err := a.consumer.IssueCoupon(ctx, consumer.IssueRequest{BatchID: b.ID, ConsumerID: member, Source: consumer.IssueManual, SourceKey: "refusals:" + b.ID.String()})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID.String()
	}
	big := coupon(d.consumerID, consumer.CouponTemplate{Name: "满200减50", Kind: consumer.CouponAmount, AmountFen: 5_000, ThresholdFen: 20_000})
	drinks := coupon(d.consumerID, consumer.CouponTemplate{Name: "饮品满60减10", Kind: consumer.CouponAmount, AmountFen: 1_000, ThresholdFen: 6_000, Categories: []string{"drink"}})
	toys := coupon(d.consumerID, consumer.CouponTemplate{Name: "玩具券", Kind: consumer.CouponAmount, AmountFen: 500, Categories: []string{"toys", "books"}})
	shop := coupon(d.consumerID, consumer.CouponTemplate{Name: "别家", Kind: consumer.CouponAmount, AmountFen: 500, MerchantIDs: []uuid.UUID{elsewhere}})
	expired := coupon(d.consumerID, consumer.CouponTemplate{Name: "过期", Kind: consumer.CouponAmount, AmountFen: 500})
	if _, err := a.db.Exec(ctx, `UPDATE consumer.coupons SET valid_to = '2026-01-31 08:00:00+00' WHERE id = $1`, expired); err != nil {
		t.Fatal(err)
	}
	single := coupon(d.consumerID, consumer.CouponTemplate{Name: "九折", Kind: consumer.CouponPercent, Percent: 10})
	stack := coupon(d.consumerID, consumer.CouponTemplate{Name: "立减3", Kind: consumer.CouponAmount, AmountFen: 300, Stackable: true})
	theirs := coupon(other, consumer.CouponTemplate{Name: "立减5", Kind: consumer.CouponAmount, AmountFen: 500})

	h := a.router()
	asConsumer, asGrowth := "Bearer "+consumerToken, "Bearer "+growthToken
	w := call(h, "POST", "/api/v1/billing/me/orders", fmt.Sprintf(`{"merchant_id":%q,"description":"午餐","lines":[
		{"description":"小笼包","category":"food","amount":"100.00"},{"description":"茶","category":"drink","amount":"50.00"}]}`, d.merchantID),
		"Authorization", asConsumer)
	if w.Code != 201 {
		t.Fatalf("order: %d %s", w.Code, w.Body)
	}
	var order struct{ ID string }
	if err := json.Unmarshal(w.Body.Bytes(), &order); err != nil {
		t.Fatal(err)
	}
	w = call(h, "GET", "/api/v1/consumer/me/points", "", "Authorization", asConsumer)
	var points struct{ Balance int64 }
	if err := json.Unmarshal(w.Body.Bytes(), &points); err != nil || w.Code != 200 {
		t.Fatalf("my points: %d %s", w.Code, w.Body)
	}
	apply := func(ids ...string) (string, string, string) {
		b, _ := json.Marshal(map[string][]string{"coupon_ids": ids})
		return "PUT", "/api/v1/billing/me/orders/" + order.ID + "/coupons", string(b)
	}
	type refusal struct {
		auth, method, path, body string
		status                   int
		code, field              string
		zh, en                   string
	}
	on := func(auth string, status int, code, field, zh, en string, method, path, body string) refusal {
		return refusal{auth, method, path, body, status, code, field, zh, en}
	}
	cases := map[string]refusal{}
	add := func(name string, r refusal) { cases[name] = r }
	m, p, b := apply(big)
	add("below the threshold", on(asConsumer, 422, consumer.CodeCouponBelow, "coupon_ids",
		"订单金额未达这张券的使用门槛 ¥200.00，还差 ¥50.00。", "The order is ¥50.00 short of the coupon's ¥200.00 threshold.", m, p, b))
	m, p, b = apply(drinks)
	add("a category below its threshold", on(asConsumer, 422, consumer.CodeCouponBelow, "coupon_ids",
		"适用品类的商品金额未达这张券的使用门槛 ¥60.00，还差 ¥10.00。", "The order's items of the coupon's categories are ¥10.00 short of its ¥60.00 threshold.", m, p, b))
	m, p, b = apply(expired)
	add("expired", on(asConsumer, 422, consumer.CodeCouponExpired, "coupon_ids", "这张券已于 2026-01-31 过期。", "This coupon expired on 2026-01-31.", m, p, b))
	m, p, b = apply(theirs)
	add("another member's", on(asConsumer, 404, "consumer.coupon_not_found", "coupon_ids", "没有这张券，或不是你的券。", "No such coupon, or not yours.", m, p, b))
	m, p, b = apply(shop)
	add("not for the shop", on(asConsumer, 422, consumer.CodeCouponNotApplicable, "coupon_ids", "这张券不适用于这家商户。", "This coupon is not for this shop.", m, p, b))
	m, p, b = apply(toys)
	add("not for the categories", on(asConsumer, 422, consumer.CodeCouponNotApplicable, "coupon_ids",
		"订单中没有这张券适用的品类（toys、books）。", "The order has nothing of this coupon's categories (toys、books).", m, p, b))
	m, p, b = apply(stack, single)
	add("not stacking", on(asConsumer, 422, consumer.CodeCouponNotStackable, "coupon_ids",
		"订单已用券，这些券不可叠加。", "The order has a coupon already, and these coupons do not stack.", m, p, b))
	m, p, b = apply(stack, stack)
	add("the same twice", on(asConsumer, 422, consumer.CodeCouponNotStackable, "coupon_ids",
		"同一张券不能在订单中用两次。", "The same coupon cannot be used twice on an order.", m, p, b))
	want := points.Balance + 100
	add("more points than spendable", on(asConsumer, 422, consumer.CodePointsInsufficient, "points",
		fmt.Sprintf("可用积分不足：可用 %d 积分，比 %d 少 100。", points.Balance, want),
		fmt.Sprintf("Not enough spendable points: %d are spendable, 100 short of %d.", points.Balance, want),
		"POST", "/api/v1/consumer/me/points/redemptions", fmt.Sprintf(`{"points":%d,"key":"too-many"}`, want)))
	add("an expiry of zero length", on(asGrowth, 400, consumer.CodeProgramInvalid, "expiry_months",
		"有效期（月）须在 1 到 120 个月之间：积分不能一获得就过期。", "Validity (months) must be 1 to 120 months: points cannot expire as they are earned.",
		"PUT", "/api/v1/consumer/points/program", `{"points_per_yuan":1,"expiry_months":0,"expiry_rounding":"month","pending_days":7}`))
	add("descending tier thresholds", on(asGrowth, 400, consumer.CodeTiersInvalid, "tiers[2].threshold",
		"等级 2：门槛须高于上一级的门槛（¥500.00）：门槛不能重叠，也不能倒序。",
		"tier 2: Threshold must be above the tier before's (¥500.00): thresholds neither overlap nor descend.",
		"PUT", "/api/v1/consumer/tiers", `{"metric":"growth","period_months":12,"downgrade":"one","tiers":[
			{"level":0,"name":"A","threshold":0,"retain":0,"multiplier_pct":100},{"level":1,"name":"B","threshold":50000,"retain":0,"multiplier_pct":100},
			{"level":2,"name":"C","threshold":20000,"retain":0,"multiplier_pct":100}]}`))
	add("a percentage over 100", on(asGrowth, 400, consumer.CodeCouponInvalid, "percent", "折扣（%）须在 1 到 100 之间。", "Percent off must be 1 to 100.",
		"POST", "/api/v1/consumer/coupon-templates", `{"name":"x","kind":"percent","percent":120,"valid_days":7}`))
	add("a negative cap", on(asGrowth, 400, consumer.CodeCouponInvalid, "cap_fen", "封顶（元，0 为不封顶）不能为负数。", "Cap (yuan, 0 for none) cannot be negative.",
		"POST", "/api/v1/consumer/coupon-templates", `{"name":"x","kind":"percent","percent":10,"cap_fen":-1,"valid_days":7}`))

	for name, c := range cases {
		for lang, wantMsg := range map[string]string{"zh-CN,zh;q=0.9": c.zh, "en-US,en;q=0.8": c.en} {
			w := call(h, c.method, c.path, c.body, "Authorization", c.auth, "Accept-Language", lang)
			var got httpx.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != c.status || got.Error.Code != c.code || got.Error.Field != c.field {
				t.Errorf("%s (%s): want %d %s on %q, got %d %s", name, lang, c.status, c.code, c.field, w.Code, w.Body)
				continue
			}
			if got.Error.Message != wantMsg {
				t.Errorf("%s (%s):\n got %q\nwant %q", name, lang, got.Error.Message, wantMsg)
			}
		}
	}
	var reserved int
	if err := a.db.QueryRow(ctx, `SELECT count(*) FROM consumer.coupons WHERE consumer_id = $1 AND state <> 'available'
		AND id = ANY($2::uuid[])`, d.consumerID, []string{big, drinks, toys, shop, expired, single, stack}).Scan(&reserved); err != nil || reserved != 0 {
		t.Fatalf("%d coupons reserved by refused applications (%v)", reserved, err)
	}
	if w := call(h, "GET", "/api/v1/consumer/me/points", "", "Authorization", asConsumer); !json.Valid(w.Body.Bytes()) ||
		json.Unmarshal(w.Body.Bytes(), &points) != nil || points.Balance != want-100 {
		t.Fatalf("the refused redemption spent points: %s", w.Body)
	}
}
