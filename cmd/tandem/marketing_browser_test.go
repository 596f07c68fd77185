package main

import (
	"context"
	"fmt"
	"testing"
)

// The growth operator's day in Chromium: build a segment and watch the live count
// change, save it, open the demo campaign's results, read the reports' charts, in
// Chinese and in English, and on a phone.
func TestGrowthConsoleInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)

	b.step("growth signs in", b.signIn("growth"))
	b.step("growth menu", until(`!!(document.querySelector("#nav-segments") && document.querySelector("#nav-campaigns") && document.querySelector("#nav-growth"))`))
	b.step("segments page (zh)", b.page("/growth/segments", "人群"), until(`document.querySelector("#segment-list").innerText.includes("流失召回")`))
	b.step("live count of a city", do(`const s = document.querySelector('select[name="city"]'); s.value = "上海"; s.dispatchEvent(new Event("change", {bubbles: true}))`),
		until(`document.querySelector("#count-members") !== null`))
	shanghai := b.read(`document.querySelector("#count-members").innerText`)
	b.step("a second condition narrows it", do(`const s = document.querySelector('select[name="tier_at_least"]'); s.value = "gold"; s.dispatchEvent(new Event("change", {bubbles: true}))`),
		until(fmt.Sprintf(`!!document.querySelector("#count-members") && document.querySelector("#count-members").innerText !== %q && +document.querySelector("#count-members").innerText < %s`, shanghai, shanghai)))
	b.step("a bad rule is named", do(`const t = document.querySelector('textarea[name="rule_json"]'); t.value = '{"field":"tag","values":["没有这个标签"]}'; t.dispatchEvent(new Event("change", {bubbles: true}))`),
		until(`!!document.querySelector("#count-error") && document.querySelector("#count-error").innerText.includes("规则有误") && document.querySelector("#count-error").innerText.includes("没有这个标签")`))
	b.step("save the segment", do(`document.querySelector('textarea[name="rule_json"]').value = ""; document.querySelector("#segment-name").value = "上海金卡"; document.querySelector("#save-segment").click()`),
		until(`!!document.querySelector("#flash") && document.querySelector("#segment-list").innerText.includes("上海金卡")`))
	b.step("campaigns (zh)", b.page("/growth/campaigns", "营销活动"), until(`document.querySelector("#campaign-list").innerText.includes("满30减5")`))
	b.step("the demo campaign's results", do(`[...document.querySelectorAll("#campaign-list a")].find(a => a.innerText.includes("满30减5")).click()`),
		title("满30减5 咖啡回访"), until(`document.querySelector("#run-list tbody").innerText.includes("100%")`),
		until(`document.querySelector("#campaign-state").innerText.trim() === "已完成"`))
	b.step("results by day with the uplift chart (zh)", until(`document.querySelector("#campaign-days h2").innerText.includes("按天")`),
		until(`document.querySelector("#day-list thead").innerText.includes("触达") && document.querySelector("#day-list tbody tr") !== null`),
		until(`!!document.querySelector("#uplift-chart[data-ready='1'] canvas")`))
	campaignURL := b.read(`location.pathname`)
	b.step("a campaign without budget is refused", b.page("/growth/campaigns", "营销活动"),
		do(`document.querySelector('#campaign-form input[name="name"]').value = "no budget"; document.querySelector("#campaign-budget").value = ""; document.querySelector('#campaign-form input[name="unit_cost"]').value = "5"; document.querySelector('#campaign-form input[name="coupon_batch"]').value = "B1"; document.querySelector("#create-campaign").click()`),
		until(`!!document.querySelector("#error") && document.querySelector("#error").innerText.includes("预算")`))
	b.step("a triggered campaign can be set up (zh)", b.page("/growth/campaigns", "营销活动"),
		until(`[...document.querySelectorAll('#campaign-form select[name="schedule"] option')].some(o => o.value === "triggered" && o.innerText === "触发")`),
		until(`[...document.querySelectorAll('#campaign-form select[name="trigger"] option')].map(o => o.innerText).join(",").includes("生日,首单,N 天未消费,等级变化")`))
	b.step("reports with charts", b.page("/growth/reports", "增长报表"),
		until(`!!(document.querySelector("#rfm-chart[data-ready='1'] canvas") && document.querySelector("#funnel-chart[data-ready='1'] canvas") && document.querySelector("#cohort-chart[data-ready='1'] canvas"))`))
	b.step("English", b.open("/lang/en?back=/growth/reports"), title("Growth reports"))
	b.step("segments in English", b.page("/growth/segments", "Segments"), until(`document.querySelector("#live-count").innerText.includes("count updates")`))
	b.step("results by day in English", b.open(campaignURL), until(`!!document.querySelector("#campaign-days") && document.querySelector("#campaign-days h2").innerText.includes("by day")`),
		until(`document.querySelector("#day-list thead").innerText.includes("Reach") && !!document.querySelector("#uplift-chart[data-ready='1'] canvas")`))
	b.step("a triggered campaign in English", b.page("/growth/campaigns", "Campaigns"),
		until(`[...document.querySelectorAll('#campaign-form select[name="trigger"] option')].map(o => o.innerText).join(",").includes("Birthday,First order,N days lapsed,Tier change")`))
	b.step("phone", viewport(phoneWidth, phoneHeight), b.page("/growth/campaigns", "Campaigns"),
		fitsPhone())
	b.step("results by day on a phone", b.open(campaignURL), until(`!!document.querySelector("#day-list")`), fitsPhone())
}
