package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Leads and pools in a real browser (issue 12): the rep on a 390×844 phone in Chinese
// claims from the pool, sees the days left, checks in from the browser's position,
// logs a follow-up, meets the holding cap with its numbers, and gets a dedup hint
// naming the holder; the team lead on a desktop in English sees the cap refuse an
// assignment, raises it in the pool's rules and assigns from the board.
func TestPoolsInChromium(t *testing.T) {
	ctx0 := context.Background()
	a := testApp(t)
	d, err := a.identity.SeedDemo(ctx0, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	as := func(login string) *identity.Principal {
		p, err := a.identity.Principal(ctx0, d.Users[login])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	rep, hz := as("sh1.rep"), as("hz1.rep")
	var poolID string
	for i, name := range []string{"小杨生煎 Yang's", "静安咖啡 Jing'an Coffee", "老弄堂面馆 Old Lane"} {
		l, err := a.merchant.CreateLead(ctx0, rep, merchant.NewLead{Name: name, Category: "restaurant", Address: "黄河路90号",
			Lat: 31.2351 + float64(i)*0.01, Lng: 121.4736, Phone: fmt.Sprintf("1380013800%d", i+1), City: "上海"})
		if err != nil {
			t.Fatal(err)
		}
		poolID = l.PoolID.String()
	}
	zwg, err := a.merchant.CreateLead(ctx0, hz, merchant.NewLead{Name: "知味观 Zhiweiguan", Category: "restaurant", Address: "仁和路83号",
		Lat: 30.2590, Lng: 120.1640, Phone: "13900571000", City: "杭州"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.merchant.Claim(ctx0, hz, zwg.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.merchant.SetPoolRules(ctx0, identity.System(), uuid.MustParse(poolID), "上海一组 SH Team 1",
		merchant.PoolRules{HoldingCap: 1, DailyQuota: 10, ReclaimFollowUpDays: 7, RemindDays: 2}); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, phoneWidth, phoneHeight)
	claimFirst := `document.querySelector("#pool-list button.claim").click()`
	tickPoolLead := `[...document.querySelectorAll("#col-lead label.board-card")].find(l => l.innerText.includes("in the pool")).querySelector("input").click();
		document.querySelector("#assign-reason").value = "her street"`

	// The rep, on a phone, in Chinese.
	b.step("rep signs in on a phone", viewport(phoneWidth, phoneHeight), b.signIn("sh1.rep"))
	b.step("the pool: masked phones, only their team's", b.open("/leads/pool"),
		shows("#page-title", "公海"), shows("#pool-list", "138****8001"), until(`!document.body.innerText.includes("知味观")`),
		until(`document.documentElement.scrollWidth <= 390`))
	b.step("claim: the lead with days left", do(claimFirst), shows("#flash", "已领取"), shows("#days-left", "距掉保还有 7 天"))
	b.step("check in where the browser stands", do(`navigator.geolocation.getCurrentPosition = ok => ok({coords: {latitude: 31.2351, longitude: 121.4736}})`),
		do(`document.querySelector("#checkin-locate").click()`), shows("#flash", "已签到"), shows("#timeline", "签到"))
	b.step("log a follow-up", do(`document.querySelector("#followup-note").value = "老板下周回复"`), do(`document.querySelector("#followup-save").click()`),
		shows("#flash", "跟进已保存"), shows("#timeline", "老板下周回复"))
	b.step("the cap refuses, with its numbers, in Chinese", b.open("/leads/pool"), shows("#page-title", "公海"),
		do(claimFirst), shows("#error", "你已持有 1 条未关闭线索，上限为 1 条"))
	b.step("my leads", b.open("/leads"), shows("#leads-list", "距掉保还有 7 天"))
	b.step("a new lead: the dedup hint names the holder", b.open("/leads/new"),
		do(`const i = document.querySelector("#lead-phone"); i.value = "+86 139 0057 1000"; i.dispatchEvent(new Event("input", {bubbles: true}))`),
		shows("#dup-hints", "杭州一组 HZ Team 1的周销售"))
	b.step("rep signs out", b.signOut())

	// The team lead, on a desktop, in English.
	b.step("team lead signs in on a desktop", viewport(desktopWidth, desktopHeight), b.signIn("sh1.lead"),
		b.open("/lang/en?back=/leads/board"), shows("#page-title", "Team leads by stage"))
	b.step("the cap refuses the assignment, in English", shows("#col-lead", "in the pool"),
		do(tickPoolLead),
		do(`document.querySelector("#assign").click()`), shows("#error", "you hold 1 open leads, the cap is 1"))
	b.step("raise the cap in the pool's rules", b.open("/leads/pools/"+poolID), shows("#page-title", "Pool rules"),
		do(`document.querySelector("#rule-cap").value = "5"`), do(`document.querySelector("#rules-save").click()`), shows("#flash", "Rules saved"))
	b.step("assign from the board", b.open("/leads/board"), shows("#col-lead", "in the pool"),
		do(tickPoolLead),
		do(`document.querySelector("#assign").click()`), shows("#flash", "Leads assigned"), shows("#col-lead", "张销售"))
}
