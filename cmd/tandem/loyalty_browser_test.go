package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// The growth operator's console in Chromium (issue 13): members search and 360,
// tagging, a refused adjustment in Chinese, coupons with live stock and a refused
// template, tier rules refused naming the field, the liability chart, then English and
// the phone layout.
func TestLoyaltyConsoleInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)

	b.step("growth signs in", b.signIn("growth"))
	b.step("members", b.nav("#nav-loyalty-members", "会员"), shows("#members-list", "李娜"))
	b.step("search by phone", b.open("/loyalty/members?q=13800138002"), shows("#members-list", "张伟"),
		omits("#members-list", "李娜"))
	b.step("360", b.open("/loyalty/members?q=13800138001"),
		jsClick("#members-list tbody a"), title("会员 360"),
		shows("#member-tier-name", "金卡"), shows("#member-tag-list", "高价值"), shows("#member-labels", "上海"),
		shows("#member-lots", "待生效"), shows("#member-points", "到期"))
	b.step("the demo's member below retention is told his tier will drop", // 刘洋: Silver, 200 of 500 yuan this period
		b.open("/loyalty/members?q=13800138004"), jsClick("#members-list tbody a"), title("会员 360"),
		shows("#member-tier-name", "银卡"), shows("#member-notices", "等级即将下降"), shows("#member-notices", "¥300.00"),
		shows("#member-notices", "银卡"))
	b.step("tag by hand", b.open("/loyalty/members?q=13800138001"), jsClick("#members-list tbody a"), shows("#member-tier-name", "金卡"),
		submit("#tag-form", map[string]string{"tag": "浏览器测试"}), shows("#flash", "标签已添加"), shows("#member-tag-list", "浏览器测试"))
	b.step("remove the tag", submit(`#member-tag-list li:last-child form`, nil), shows("#flash", "标签已移除"),
		omits("#member-tag-list", "浏览器测试"))
	b.step("the tier history names the tiers", shows("#member-tier-history", "→ 金卡"))
	b.step("overdraw refused in Chinese", submit("#adjust-form", map[string]string{"delta": "-99999999", "reason": "测试"}),
		shows("#error", "可用积分不足：可用"), shows("#error", "比 99999999 少"))
	b.step("a tag's members, from the tags page", b.open("/loyalty/members"), jsClick("#loyalty-tags-link"), shows("#tag-counts", "高价值"),
		until(`(a => a ? (a.click(), true) : false)([...document.querySelectorAll("#tag-counts a")].find(a => a.innerText === "高价值"))`),
		shows("#members-list", "李娜"), omits("#members-list", "张伟"))
	b.step("coupons with live stock", b.nav("#nav-loyalty-coupons", "优惠券"), shows("#coupon-batches", "十二月拉新"), shows("#coupon-batches", "996"))
	b.step("a percentage over 100 refused", submit("#template-form", map[string]string{"name": "坏券", "kind": "percent", "percent": "120"}),
		shows("#error", "折扣（%）"))
	b.step("a new batch", b.open("/loyalty/coupons"),
		submit("#batch-form", map[string]string{"name": "浏览器批次", "stock": "50"}), shows("#flash", "已保存"), shows("#coupon-batches", "浏览器批次"))
	b.step("tier rules refused naming the field", b.nav("#nav-loyalty-program", "积分与等级规则"),
		submit("#tiers-form", map[string]string{}), // unchanged rules save
		shows("#flash", "已保存"),
		until(`(() => { const t = document.querySelectorAll('#tiers-form input[name="threshold"]'); t[2].value = "100"; document.querySelector("#tiers-form").requestSubmit(); return true; })()`),
		shows("#error", "等级 2：门槛"))
	b.step("liability chart", b.nav("#nav-loyalty-liability", "积分负债"),
		until(`document.querySelector("#liability-chart[data-ready='1'] canvas") !== null`), shows("#liability-months", "20"))
	b.step("English", b.open("/loyalty/members"), jsClick("#lang-switch"),
		title("Members"), b.open("/loyalty/coupons"), title("Coupons"), shows("#coupon-batches", "Left"))
	b.step("the tier-drop notice in English", b.open("/loyalty/members?q=13800138004"), jsClick("#members-list tbody a"),
		title("Member 360"), shows("#member-notices", "Your tier will drop"), shows("#member-notices", "¥300.00"),
		shows("#member-notices", "Silver"))
	b.step("the points card shows its numbers beside the longer English labels", // 刘洋 has 240 spendable
		shows("#member-spendable", "240"), until(`(d => { const r = d.getBoundingClientRect(), c = document.querySelector("#member-points").getBoundingClientRect();
			return r.width > 0 && r.right <= c.right && d.scrollWidth <= d.clientWidth + 1; })(document.querySelector("#member-spendable"))`))
	b.step("English refusal", b.open("/loyalty/coupons"), submit("#template-form", map[string]string{"name": "bad", "kind": "percent", "percent": "10", "cap": "-1"}),
		shows("#error", "Cap (yuan, 0 for none) cannot be negative."))
	b.step("phone layout", viewport(phoneWidth, phoneHeight), b.open("/loyalty/members?q=13800138001"),
		jsClick("#members-list tbody a"), title("Member 360"),
		fitsPhone())
}

// The growth operator's second-session capabilities in Chromium, in Chinese then
// English: a member's orders and referrals on the 360, points by action in the
// programme, a tier-drop notice window, a coupon batch with a budget, and a points
// adjustment over the limit that waits for the administrator's approval; then the
// 360 on a phone.
func TestLoyaltyGrowthToolsInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	member := func() chromedp.Action[chromedp.Void] { // 李娜, Gold, who invited 陈静
		return chromedp.Steps(b.open("/loyalty/members?q=13800138001"), jsClick("#members-list tbody a"))
	}

	b.step("growth signs in (zh)", b.lang("zh-CN"), b.signIn("growth"))
	b.step("orders and referrals on the 360", member(), title("会员 360"),
		shows("#member-orders", "DEMO"), shows("#member-orders", "¥6200.00"), shows("#member-referred", "陈静"))
	b.step("the invitee sees who referred them", jsClick("#member-referred tbody a"), shows("#member-referrals", "邀请人"),
		shows("#member-referrals", "李娜"))
	b.step("points by action in the programme", b.nav("#nav-loyalty-program", "积分与等级规则"), shows("#program-form", "行为积分"),
		submit("#program-form", map[string]string{"review_points": "15", "adjust_limit": "2000"}), shows("#flash", "已保存"),
		until(`document.querySelector('#program-form input[name="review_points"]').value === "15"`))
	b.step("a negative reward refused naming the field", submit("#program-form", map[string]string{"signup_points": "-5"}),
		shows("#error", "注册送积分"), omits("#error", "signup_points"))
	b.step("the tier-drop notice window", b.open("/loyalty/program"), submit("#tiers-form", map[string]string{"notice_days": "45"}),
		shows("#flash", "已保存"), until(`document.querySelector('#tiers-form input[name="notice_days"]').value === "45"`))
	b.step("the member is told their tier will drop", // Silver kept from 2,000 yuan: 张伟 (1,500 yuan this period) is 500 short
		until(`(() => { const f = document.querySelector("#tiers-form"); f.querySelectorAll('input[name="threshold"]')[1].value = "2000";
			f.querySelectorAll('input[name="retain"]')[1].value = "2000"; document.querySelector("#flash")?.remove(); f.requestSubmit(); return true; })()`),
		shows("#flash", "已保存"),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			r, err := a.consumer.NoticeDrops(ctx)
			if err == nil && r.Members != 1 {
				err = fmt.Errorf("%d tier-drop notices, want 1 (张伟)", r.Members)
			}
			return err
		}),
		b.open("/loyalty/members?q=13800138002"), jsClick("#members-list tbody a"),
		shows("#member-notices", "等级即将下降"), shows("#member-notices", "¥500.00"), shows("#member-notices", "银卡"))
	b.step("a batch with a budget", b.open("/loyalty/coupons"),
		submit("#batch-form", map[string]string{"name": "预算批次", "stock": "100", "budget": "300"}), shows("#flash", "已保存"),
		shows("#coupon-batches", "预算批次"), shows("#coupon-batches", "¥0.00 / ¥300.00"))
	b.step("an adjustment over the limit waits for approval", member(),
		submit("#adjust-form", map[string]string{"delta": "5000", "reason": "客诉补偿"}), shows("#flash", "已提交审批"), b.signOut())
	b.step("the administrator approves it", b.signIn("admin"), b.open("/todos"), shows("#todo-list", "+5000"),
		until(`(a => a ? (a.click(), true) : false)([...document.querySelectorAll("#todo-list a")].find(a => a.innerText.includes("+5000")))`),
		shows("#request-state", "待审批"),
		until(`(b => b ? (document.querySelector("#decide-form").removeAttribute("data-confirm"), b.removeAttribute("data-confirm"), b.click(), true) : false)(document.querySelector("#approve"))`), shows("#flash", "已同意"), b.signOut())

	b.step("growth signs in (en)", b.lang("en"), b.signIn("growth"))
	b.step("the 360 in English", member(), title("Member 360"), shows("#member-orders", "Coupon discount"),
		shows("#member-referred", "陈静"), shows("#member-entries", "approved by admin"))
	b.step("the tier-drop notice in English", b.open("/loyalty/members?q=13800138002"), jsClick("#members-list tbody a"),
		shows("#member-notices", "Your tier will drop"), shows("#member-notices", "¥500.00"))
	b.step("programme in English", b.open("/loyalty/program"), shows("#program-form", "Points by action"),
		submit("#program-form", map[string]string{"reviews_per_day": "-1"}), shows("#error", "Reviews that earn, per day"))
	b.step("budget in English", b.open("/loyalty/coupons"), shows("#coupon-batches", "Budget used"))
	b.step("an adjustment over the limit in English", member(),
		submit("#adjust-form", map[string]string{"delta": "-3000", "reason": "duplicate"}), shows("#flash", "waits for another operator's approval"))
	b.step("the 360 on a phone", viewport(phoneWidth, phoneHeight), member(), shows("#member-orders", "DEMO"), fitsPhone())
}
