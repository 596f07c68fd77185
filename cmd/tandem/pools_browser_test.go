package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run 'make test' (it installs it) or 'apt-get install chromium fonts-noto-cjk'")
	}
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
	srv := httptest.NewServer(a.router())
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx0, chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	shots := t.TempDir()
	// until waits for a JavaScript expression to hold (a page being replaced counts as "not yet").
	until := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			var last error
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				ok, err := chromedp.Evaluate[bool](js)(ctx, tg)
				if err == nil && ok {
					return nil
				}
				last = err
			}
			return fmt.Errorf("waiting for %s (last error %v)", js, last)
		})
	}
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			if buf, serr := chromedp.Run(ctx, chromedp.FullScreenshot(80)); serr == nil {
				file := filepath.Join(shots, strings.ReplaceAll(name, " ", "_")+".png")
				if os.WriteFile(file, buf, 0o644) == nil {
					t.Logf("screenshot: %s", file)
				}
			}
			t.Fatalf("%s: %v", name, err)
		}
	}
	has := func(sel, text string) string {
		return fmt.Sprintf(`(e => e !== null && e.innerText.includes(%q))(document.querySelector(%q))`, text, sel)
	}
	do := func(js string) chromedp.Action[chromedp.Void] { return until("(() => {" + js + "; return true})()") }
	signIn := func(login string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Navigate(srv.URL+"/login"), until(fmt.Sprintf(`(() => {
			if (document.querySelector("#page-title")) return true;
			const l = document.querySelector("#login"), p = document.querySelector("#password"), b = document.querySelector("#login-submit");
			if (!l || !p || !b || b.dataset.sent) return false;
			l.value = %q; p.value = %q; b.dataset.sent = "1"; b.click(); return false;
		})()`, login, demoPassword)))
	}
	claimFirst := `document.querySelector("#pool-list button.claim").click()`
	tickPoolLead := `[...document.querySelectorAll("#col-lead label.board-card")].find(l => l.innerText.includes("in the pool")).querySelector("input").click();
		document.querySelector("#assign-reason").value = "her street"`

	// The rep, on a phone, in Chinese.
	step("rep signs in on a phone", chromedp.EmulateViewport(390, 844), signIn("sh1.rep"))
	step("the pool: masked phones, only their team's", chromedp.Navigate(srv.URL+"/leads/pool"),
		until(has("#page-title", "公海")), until(has("#pool-list", "138****8001")), until(`!document.body.innerText.includes("知味观")`),
		until(`document.documentElement.scrollWidth <= 390`))
	step("claim: the lead with days left", do(claimFirst), until(has("#flash", "已领取")), until(has("#days-left", "距掉保还有 7 天")))
	step("check in where the browser stands", do(`navigator.geolocation.getCurrentPosition = ok => ok({coords: {latitude: 31.2351, longitude: 121.4736}})`),
		do(`document.querySelector("#checkin-locate").click()`), until(has("#flash", "已签到")), until(has("#timeline", "签到")))
	step("log a follow-up", do(`document.querySelector("#followup-note").value = "老板下周回复"`), do(`document.querySelector("#followup-save").click()`),
		until(has("#flash", "跟进已保存")), until(has("#timeline", "老板下周回复")))
	step("the cap refuses, with its numbers, in Chinese", chromedp.Navigate(srv.URL+"/leads/pool"), until(has("#page-title", "公海")),
		do(claimFirst), until(has("#error", "你已持有 1 条未关闭线索，上限为 1 条")))
	step("my leads", chromedp.Navigate(srv.URL+"/leads"), until(has("#leads-list", "距掉保还有 7 天")))
	step("a new lead: the dedup hint names the holder", chromedp.Navigate(srv.URL+"/leads/new"),
		do(`const i = document.querySelector("#lead-phone"); i.value = "+86 139 0057 1000"; i.dispatchEvent(new Event("input", {bubbles: true}))`),
		until(has("#dup-hints", "杭州一组 HZ Team 1的周销售")))
	step("rep signs out", do(`document.querySelector("#logout").click()`), until(`document.querySelector("#login") !== null`))

	// The team lead, on a desktop, in English.
	step("team lead signs in on a desktop", chromedp.EmulateViewport(1280, 900), signIn("sh1.lead"),
		chromedp.Navigate(srv.URL+"/lang/en?back=/leads/board"), until(has("#page-title", "Team leads by stage")))
	step("the cap refuses the assignment, in English", until(has("#col-lead", "in the pool")),
		do(tickPoolLead),
		do(`document.querySelector("#assign").click()`), until(has("#error", "you hold 1 open leads, the cap is 1")))
	step("raise the cap in the pool's rules", chromedp.Navigate(srv.URL+"/leads/pools/"+poolID), until(has("#page-title", "Pool rules")),
		do(`document.querySelector("#rule-cap").value = "5"`), do(`document.querySelector("#rules-save").click()`), until(has("#flash", "Rules saved")))
	step("assign from the board", chromedp.Navigate(srv.URL+"/leads/board"), until(has("#col-lead", "in the pool")),
		do(tickPoolLead),
		do(`document.querySelector("#assign").click()`), until(has("#flash", "Leads assigned")), until(has("#col-lead", "张销售")))
}
