package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// subscriber is a domain that follows events.
type subscriber interface{ Subscriptions() []outbox.Subscription }

// deliverDemoEvents hands the domains the outbox's events of a topic, as the relay
// would (the demo is loaded without a worker).
func deliverDemoEvents(t *testing.T, a *app, topic events.Topic, to ...subscriber) {
	t.Helper()
	ctx := context.Background()
	rows, err := a.db.Query(ctx, `SELECT id, topic, aggregate_key, payload, created_at FROM platform.outbox WHERE topic = $1 ORDER BY id`, string(topic))
	if err != nil {
		t.Fatal(err)
	}
	var envs []events.Envelope
	for rows.Next() {
		var e events.Envelope
		if err := rows.Scan(&e.ID, &e.Topic, &e.Key, &e.Payload, &e.OccurredAt); err != nil {
			t.Fatal(err)
		}
		envs = append(envs, e)
	}
	if err := rows.Err(); err != nil || len(envs) == 0 {
		t.Fatalf("no %s events in the outbox (%v)", topic, err)
	}
	for _, e := range envs {
		for _, d := range to {
			for _, sub := range d.Subscriptions() {
				if sub.Topic == topic {
					if err := outbox.Run(ctx, a.db, sub, e); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
}

// The growth operator's day in Chromium: build a segment and watch the live count
// change (also near a merchant, and with matching's audience for a merchant), save
// it, send a WeChat subscribe message with its template, open the demo campaign's
// results, read the reports' charts, set the referral programme, in Chinese and in
// English, and on a phone.
func TestGrowthConsoleInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	deliverDemoEvents(t, a, events.TopicMerchantLive, a.marketing, a.matching) // the demo's shops, with their places
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
	b.step("members buying near a shop (zh)", b.page("/growth/segments", "人群"),
		until(`document.querySelector("#near-merchant").options.length > 1`),
		do(`const s = document.querySelector("#near-merchant"); s.value = s.options[1].value; document.querySelector("#near-radius").value = "3000"; s.dispatchEvent(new Event("change", {bubbles: true}))`),
		until(`!!document.querySelector("#count-members") && !document.querySelector("#count-error")`))
	b.step("matching's audience for a shop (zh)", b.page("/growth/segments", "人群"),
		until(`document.querySelector("#audience-merchant").options.length > 1`),
		do(`const s = document.querySelector("#audience-merchant"); s.value = s.options[1].value; s.dispatchEvent(new Event("change", {bubbles: true}))`),
		until(`!!document.querySelector("#count-members") && !document.querySelector("#count-error")`))
	b.step("a subscribe message with its template (zh)", b.page("/growth/campaigns", "营销活动"),
		until(`document.querySelector("#campaign-form").innerText.includes("订阅消息模板")`),
		do(`const f = document.querySelector("#campaign-form"); f.querySelector('[name="name"]').value = "订阅提醒"; f.querySelector('[name="offer"]').value = "message";
			f.querySelector('[name="message"]').value = "您的优惠券快到期了"; f.querySelector("#campaign-message-template").value = "TPL-COUPON-EXPIRY";
			f.querySelector('[name="unit_cost"]').value = "0.01"; f.querySelector("#campaign-budget").value = "100"; f.querySelector("#create-campaign").click()`),
		title("订阅提醒"), shows("#campaign-template", "TPL-COUPON-EXPIRY"), shows("#campaign-template", "订阅消息模板"))
	b.step("referral programme (zh)", b.nav("#nav-referrals", "邀请有礼"), shows("#referral-figures", "已奖励"), shows("#referrals-pending", "4"),
		until(`document.querySelectorAll("#referral-list tbody tr").length === 4`),
		submit("#referral-settings", map[string]string{"referrer_points": "300", "invitee_points": "50", "window_days": "3"}),
		until(`!!document.querySelector("#flash") && document.querySelector("#invitee-points").value === "50" && document.querySelector("#referral-window").value === "3"`))
	b.step("a referral window of 0 days is refused (zh)", submit("#referral-settings", map[string]string{"referrer_points": "300", "invitee_points": "50", "window_days": "0"}),
		shows("#error", "邀请设置有误"), b.page("/growth/referrals", "邀请有礼"), until(`document.querySelector("#referral-window").value === "3"`))
	// The demo's referrals are between members loyalty made: each side opens its 360.
	b.step("the referrals' members", b.page("/growth/referrals", "邀请有礼"))
	links := strings.Fields(b.read(`[...document.querySelectorAll("#referral-list tbody a")].map(a => a.getAttribute("href")).join(" ")`))
	if len(links) != 8 {
		t.Fatalf("referral links %q: an invitee and a referrer on each of 4 rows", links)
	}
	for _, href := range links {
		b.step("a referral's member opens in the 360: "+href, b.open(href), title("会员 360"), until(`!!document.querySelector("#member-referrals")`))
	}
	b.step("reports with charts", b.page("/growth/reports", "增长报表"),
		until(`!!(document.querySelector("#rfm-chart[data-ready='1'] canvas") && document.querySelector("#funnel-chart[data-ready='1'] canvas") && document.querySelector("#cohort-chart[data-ready='1'] canvas"))`))
	b.step("English", b.open("/lang/en?back=/growth/reports"), title("Growth reports"))
	b.step("segments in English", b.page("/growth/segments", "Segments"), until(`document.querySelector("#live-count").innerText.includes("count updates")`))
	b.step("results by day in English", b.open(campaignURL), until(`!!document.querySelector("#campaign-days") && document.querySelector("#campaign-days h2").innerText.includes("by day")`),
		until(`document.querySelector("#day-list thead").innerText.includes("Reach") && !!document.querySelector("#uplift-chart[data-ready='1'] canvas")`))
	b.step("a triggered campaign in English", b.page("/growth/campaigns", "Campaigns"),
		until(`[...document.querySelectorAll('#campaign-form select[name="trigger"] option')].map(o => o.innerText).join(",").includes("Birthday,First order,N days lapsed,Tier change")`))
	b.step("the builder's shop conditions in English", b.page("/growth/segments", "Segments"),
		until(`document.querySelector("#segment-builder").innerText.includes("Buys near the merchant") && document.querySelector("#segment-builder").innerText.includes("Matching's audience")`))
	b.step("the message template in English", b.page("/growth/campaigns", "Campaigns"),
		until(`document.querySelector("#campaign-form").innerText.includes("subscribe-message template")`))
	b.step("referral programme in English", b.page("/growth/referrals", "Referral programme"),
		until(`document.querySelector("#referral-settings").innerText.includes("Points for the friend who joins") && document.querySelector("#invitee-points").value === "50"`))
	b.step("phone", viewport(phoneWidth, phoneHeight), b.page("/growth/campaigns", "Campaigns"),
		fitsPhone())
	b.step("referral programme on a phone", b.page("/growth/referrals", "Referral programme"), fitsPhone())
	b.step("results by day on a phone", b.open(campaignURL), until(`!!document.querySelector("#day-list")`), fitsPhone())
}
