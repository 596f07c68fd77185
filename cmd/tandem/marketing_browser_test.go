package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The growth operator's day in Chromium: build a segment and watch the live count
// change, save it, open the demo campaign's results, read the reports' charts, in
// Chinese and in English, and on a phone.
func TestGrowthConsoleInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run 'make test' (it installs it) or 'apt-get install chromium fonts-noto-cjk'")
	}
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.router())
	defer srv.Close()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), chromedp.ExecPath(chromium), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
	defer cancel()
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	truthy := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			deadline := time.Now().Add(15 * time.Second)
			var last error
			for time.Now().Before(deadline) {
				ok, err := chromedp.Evaluate[bool](js)(ctx, tg)
				if err == nil && ok {
					return nil
				}
				last = err
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(50 * time.Millisecond):
				}
			}
			return fmt.Errorf("waiting for %s (last error %v)", js, last)
		})
	}
	title := func(want string) chromedp.Action[chromedp.Void] {
		return truthy(fmt.Sprintf(`(document.querySelector("#page-title")||{innerText:""}).innerText.trim() === %q`, want))
	}
	page := func(path, want string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Navigate(srv.URL+path), title(want))
	}
	js := func(code string) chromedp.Action[chromedp.Void] {
		return truthy("(() => { " + code + "; return true })()")
	}

	step("growth signs in", chromedp.Navigate(srv.URL+"/login"), truthy(fmt.Sprintf(`(() => {
		if (document.querySelector("#page-title")) return true;
		const l = document.querySelector("#login"), p = document.querySelector("#password"), b = document.querySelector("#login-submit");
		if (!l || !p || !b || b.dataset.sent) return false;
		l.value = "growth"; p.value = %q; b.dataset.sent = "1"; b.click();
		return false;
	})()`, demoPassword)))
	step("growth menu", truthy(`!!(document.querySelector("#nav-segments") && document.querySelector("#nav-campaigns") && document.querySelector("#nav-growth"))`))
	step("segments page (zh)", page("/growth/segments", "人群"), truthy(`document.querySelector("#segment-list").innerText.includes("流失召回")`))
	var shanghai string
	step("live count of a city", js(`const s = document.querySelector('select[name="city"]'); s.value = "上海"; s.dispatchEvent(new Event("change", {bubbles: true}))`),
		truthy(`document.querySelector("#count-members") !== null`),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			shanghai, err = chromedp.Evaluate[string](`document.querySelector("#count-members").innerText`)(ctx, tg)
			return err
		}))
	step("a second condition narrows it", js(`const s = document.querySelector('select[name="tier_at_least"]'); s.value = "gold"; s.dispatchEvent(new Event("change", {bubbles: true}))`),
		truthy(fmt.Sprintf(`!!document.querySelector("#count-members") && document.querySelector("#count-members").innerText !== %q && +document.querySelector("#count-members").innerText < %s`, shanghai, shanghai)))
	step("a bad rule is named", js(`const t = document.querySelector('textarea[name="rule_json"]'); t.value = '{"field":"tag","values":["没有这个标签"]}'; t.dispatchEvent(new Event("change", {bubbles: true}))`),
		truthy(`!!document.querySelector("#count-error") && document.querySelector("#count-error").innerText.includes("规则有误") && document.querySelector("#count-error").innerText.includes("没有这个标签")`))
	step("save the segment", js(`document.querySelector('textarea[name="rule_json"]').value = ""; document.querySelector("#segment-name").value = "上海金卡"; document.querySelector("#save-segment").click()`),
		truthy(`!!document.querySelector("#flash") && document.querySelector("#segment-list").innerText.includes("上海金卡")`))
	step("campaigns (zh)", page("/growth/campaigns", "营销活动"), truthy(`document.querySelector("#campaign-list").innerText.includes("满30减5")`))
	step("the demo campaign's results", js(`[...document.querySelectorAll("#campaign-list a")].find(a => a.innerText.includes("满30减5")).click()`),
		title("满30减5 咖啡回访"), truthy(`document.querySelector("#run-list tbody").innerText.includes("100%")`),
		truthy(`document.querySelector("#campaign-state").innerText.trim() === "已完成"`))
	step("a campaign without budget is refused", page("/growth/campaigns", "营销活动"),
		js(`document.querySelector('#campaign-form input[name="name"]').value = "no budget"; document.querySelector("#campaign-budget").value = ""; document.querySelector('#campaign-form input[name="unit_cost"]').value = "5"; document.querySelector('#campaign-form input[name="coupon_batch"]').value = "B1"; document.querySelector("#create-campaign").click()`),
		truthy(`!!document.querySelector("#error") && document.querySelector("#error").innerText.includes("预算")`))
	step("reports with charts", page("/growth/reports", "增长报表"),
		truthy(`!!(document.querySelector("#rfm-chart[data-ready='1'] canvas") && document.querySelector("#funnel-chart[data-ready='1'] canvas") && document.querySelector("#cohort-chart[data-ready='1'] canvas"))`))
	step("English", chromedp.Navigate(srv.URL+"/lang/en?back=/growth/reports"), title("Growth reports"))
	step("segments in English", page("/growth/segments", "Segments"), truthy(`document.querySelector("#live-count").innerText.includes("count updates")`))
	step("phone", chromedp.EmulateViewport(390, 844), page("/growth/campaigns", "Campaigns"),
		truthy(`document.documentElement.scrollWidth <= 400 || getComputedStyle(document.querySelector(".table-wrap")).overflowX !== "visible"`))
}
