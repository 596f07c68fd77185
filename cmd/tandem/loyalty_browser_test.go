package main

import (
	"context"
	"testing"
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
	b.step("tag by hand", submit("#tag-form", map[string]string{"tag": "浏览器测试"}), shows("#flash", "标签已添加"), shows("#member-tag-list", "浏览器测试"))
	b.step("remove the tag", submit(`#member-tag-list li:last-child form`, nil), shows("#flash", "标签已移除"),
		omits("#member-tag-list", "浏览器测试"))
	b.step("overdraw refused in Chinese", submit("#adjust-form", map[string]string{"delta": "-99999999", "reason": "测试"}),
		shows("#error", "可用积分不足"))
	b.step("coupons with live stock", b.nav("#nav-loyalty-coupons", "优惠券"), shows("#coupon-batches", "十二月拉新"), shows("#coupon-batches", "996"))
	b.step("a percentage over 100 refused", submit("#template-form", map[string]string{"name": "坏券", "kind": "percent", "percent": "120"}),
		shows("#error", "percent"))
	b.step("a new batch", b.open("/loyalty/coupons"),
		submit("#batch-form", map[string]string{"name": "浏览器批次", "stock": "50"}), shows("#flash", "已保存"), shows("#coupon-batches", "浏览器批次"))
	b.step("tier rules refused naming the field", b.nav("#nav-loyalty-program", "积分与等级规则"),
		submit("#tiers-form", map[string]string{}), // unchanged rules save
		shows("#flash", "已保存"),
		until(`(() => { const t = document.querySelectorAll('#tiers-form input[name="threshold"]'); t[2].value = "100"; document.querySelector("#tiers-form").requestSubmit(); return true; })()`),
		shows("#error", "tiers[2].threshold"))
	b.step("liability chart", b.nav("#nav-loyalty-liability", "积分负债"),
		until(`document.querySelector("#liability-chart[data-ready='1'] canvas") !== null`), shows("#liability-months", "20"))
	b.step("English", b.open("/loyalty/members"), jsClick("#lang-switch"),
		title("Members"), b.open("/loyalty/coupons"), title("Coupons"), shows("#coupon-batches", "Left"))
	b.step("English refusal", submit("#template-form", map[string]string{"name": "bad", "kind": "percent", "percent": "10", "cap": "-1"}),
		shows("#error", "cap"))
	b.step("phone layout", viewport(phoneWidth, phoneHeight), b.open("/loyalty/members?q=13800138001"),
		jsClick("#members-list tbody a"), title("Member 360"),
		fitsPhone())
}
