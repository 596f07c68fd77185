package main

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
)

// openLead opens a lead of the rep's list by its name, from the list.
func (b *browser) openLead(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(b.open("/leads"), until(`(a => a ? (location.href = a.href, true) : false)(
		[...document.querySelectorAll("main a")].find(a => a.innerText.includes(`+"`"+name+"`"+`)))`), title(name))
}

// A rep reads a lead's timeline in their own language, with who did what: stages by
// their names (not their codes), the pool a lead was created into and claimed from, the
// contract and onboarding that moved a shop, the check-in's distance and the
// follow-up's channel, on a phone, in Chinese and English. The system's reasons are
// shown from their codes: the English wording the histories keep may change (here it
// is rewritten) without the timeline noticing.
func TestLeadTimelineReadsInTheRepsLanguageInChromium(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	if _, err := a.seedDemo(ctx); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"merchant.lead_owner_history", "merchant.stage_history"} {
		if _, err := a.db.Exec(ctx, `UPDATE `+table+` SET reason = 'reworded' WHERE reason_code <> ''`); err != nil {
			t.Fatal(err)
		}
	}
	b := startBrowser(t, a, phoneWidth, phoneHeight)
	b.step("sign in", b.signIn("sh1.rep"))
	b.step("the lead", b.openLead("田子坊茶餐厅"),
		shows("#timeline", "已拜访 → 洽谈中：terms discussed"),
		shows("#timeline", "新线索 → 已联系"),
		shows("#timeline", "从上海一组 SH Team 1领取"),
		shows("#timeline", "创建，进入上海一组 SH Team 1"),
		shows("#timeline", "距门店 22 米"),
		shows("#timeline", "上门：owner interested at 6.5%"),
		shows("#timeline", "· 张销售 Zhang (sales rep)"),
		omits("#timeline", "stage "), omits("#timeline", "check-in"), omits("#timeline", "claimed"), omits("#timeline", "reworded"), fitsPhone())
	b.step("a live shop", b.openLead("南翔小笼"),
		shows("#timeline", "洽谈中 → 已签约：签约，合同 "),
		shows("#timeline", "已签约 → 进件中：已提交进件"),
		shows("#timeline", "进件中 → 已上线：进件审核通过，微信支付开户完成"),
		omits("#timeline", "contract HT"), omits("#timeline", "onboarding submitted"), omits("#timeline", "reworded"))
	// A new lead in Huangpu is routed by the demo's assignment rule: the timeline says so.
	b.step("new lead", b.page("/leads/new", "新建线索"), submit("#lead-form", map[string]string{"name": "时间线测试店", "phone": "13900001111",
		"category": "餐饮", "address": "上海市黄浦区河南中路1号", "city": "上海"}), title("时间线测试店"),
		shows("#timeline", "按分配规则「黄浦区 Huangpu」分配给张销售 Zhang (sales rep)"), omits("#timeline", "assignment rule"))
	b.step("English", b.lang("en"), b.openLead("田子坊茶餐厅"),
		shows("#timeline", "Visited → Negotiating: terms discussed"),
		shows("#timeline", "claimed from 上海一组 SH Team 1"),
		shows("#timeline", "22 m from the shop"),
		shows("#timeline", "Visit: owner interested at 6.5%"),
		omits("#timeline", "stage "), omits("#timeline", "visited →"), omits("#timeline", "reworded"), fitsPhone(),
		b.openLead("时间线测试店"), shows("#timeline", "assigned by the rule “黄浦区 Huangpu” to 张销售 Zhang (sales rep)"),
		b.openLead("南翔小笼"), shows("#timeline", "Signed → Onboarding: onboarding submitted"),
		shows("#timeline", "Negotiating → Signed: signed, contract "), omits("#timeline", "reworded"))
}

// Finance reads the settlement cycles by their names (月结, not "monthly") in the
// statements' form and on a statement, in Chinese and English.
func TestStatementCyclesReadInFinancesLanguageInChromium(t *testing.T) {
	a := testApp(t)
	d, err := a.seedDemo(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	b.step("sign in", b.signIn("finance"))
	b.step("the form", b.nav("#nav-billing-statements", "结算单"), shows(`#statement-open select[name="cycle"]`, "月结"),
		omits(`#statement-open select[name="cycle"]`, "monthly"))
	b.step("a monthly statement", b.open("/billing/statement?merchant="+d.merchantID.String()+"&cycle=monthly&period=2026-12"),
		shows("#page-title", "2026-12 · 月结"))
	// A period typed wrong: the form again, saying how to write one.
	b.step("a wrong period", b.page("/billing/statements", "结算单"), submit("#statement-open", map[string]string{
		"merchant": d.merchantID.String(), "cycle": "monthly", "period": "2026-12-07"}),
		title("结算单"), shows("#error", "月结为 yyyy-MM"))
	b.step("English", b.lang("en"), b.page("/billing/statements", "Statements"), shows(`#statement-open select[name="cycle"]`, "Monthly"),
		b.open("/billing/statement?merchant="+d.merchantID.String()+"&cycle=monthly&period=2026-12"), shows("#page-title", "2026-12 · Monthly"))
}

// A growth operator's wrong program, tier or coupon template is refused naming the
// field as the form labels it (有效期（月）, 等级 2：门槛), not by its API name
// (expiry_months, tiers[2].threshold), and saying the rule broken with its values
// (the threshold before, ¥5000.00), in Chinese and English.
func TestLoyaltyRefusalsNameTheFieldInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	b.step("sign in", b.signIn("growth"))
	tiersDescending := do(`const f = document.querySelector("#tiers-form"), th = f.querySelectorAll('[name="threshold"]');
		th[1].value = "5000"; th[2].value = "1000"; f.noValidate = true; f.removeAttribute("data-confirm"); f.requestSubmit()`)
	b.step("zero expiry", b.page("/loyalty/program", "积分与等级规则"), submit("#program-form", map[string]string{"expiry_months": "0"}),
		shows("#error", "有效期（月）须在 1 到 120 个月之间：积分不能一获得就过期。"), omits("#error", "expiry_months"))
	b.step("descending tiers", b.page("/loyalty/program", "积分与等级规则"), tiersDescending,
		shows("#error", "等级 2：门槛须高于上一级的门槛（¥5000.00）：门槛不能重叠，也不能倒序。"), omits("#error", "tiers["))
	b.step("percent over 100", b.page("/loyalty/coupons", "优惠券"), submit("#template-form", map[string]string{"name": "坏券", "kind": "percent",
		"percent": "120", "valid_days": "10"}), shows("#error", "折扣（%）须在 1 到 100 之间。"), omits("#error", "(percent)"))
	b.step("a negative cap", b.page("/loyalty/coupons", "优惠券"), submit("#template-form", map[string]string{"name": "坏券", "kind": "percent",
		"percent": "10", "cap": "-1", "valid_days": "10"}), shows("#error", "封顶（元，0 为不封顶）不能为负数。"))
	b.step("English", b.lang("en"), b.page("/loyalty/program", "Points and tier rules"), tiersDescending,
		shows("#error", "tier 2: Threshold must be above the tier before's (¥5000.00): thresholds neither overlap nor descend."), omits("#error", "tiers["))
	b.step("zero expiry in English", b.page("/loyalty/program", "Points and tier rules"), submit("#program-form", map[string]string{"expiry_months": "0"}),
		shows("#error", "Validity (months) must be 1 to 120 months"))
	b.step("percent over 100 in English", b.page("/loyalty/coupons", "Coupons"), submit("#template-form", map[string]string{"name": "bad", "kind": "percent",
		"percent": "120", "valid_days": "10"}), shows("#error", "Percent off must be 1 to 100."))
}

// A member's 360 shows their labels and point entries in the reader's language: gender
// 男 / Male rather than the stored "male", a sign-up reward as 注册入会 / Signed up.
func TestMember360ReadsInTheOperatorsLanguageInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, phoneWidth, phoneHeight)
	b.step("sign in", b.signIn("growth"))
	open := chromedp.Steps(b.open("/loyalty/members"), until(`(a => a ? (location.href = a.href, true) : false)(
		[...document.querySelectorAll("main a")].find(a => a.innerText.includes("王小明")))`), shows("#page-title", "王小明"))
	b.step("the member", open, shows("#member-labels", "性别: 男"), omits("#member-labels", "male"),
		shows("main", "注册入会"), omits("main", "signup"), fitsPhone())
	b.step("English", b.lang("en"), open, shows("#member-labels", "Gender: Male"), shows("main", "Signed up"), omits("main", "signup"))
}

// The city manager's to-dos name each approval's kind (提成 / Commission for the demo's
// commission approval) rather than its catalogue key.
func TestTodosNameEveryApprovalKindInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, phoneWidth, phoneHeight)
	b.step("sign in", b.signIn("sh.manager"))
	b.step("to-dos", b.page("/todos", "待办与审批"), shows("main table", "提成"), shows("main table", "合同折扣"),
		omits("main", "approval.kind_"), fitsPhone())
	b.step("English", b.lang("en"), b.page("/todos", "To-dos and approvals"), shows("main table", "Commission"), omits("main", "approval.kind_"))
}
