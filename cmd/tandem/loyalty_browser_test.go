package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The growth operator's console in Chromium (issue 13): members search and 360,
// tagging, a refused adjustment in Chinese, coupons with live stock and a refused
// template, tier rules refused naming the field, the liability chart, then English and
// the phone layout.
func TestLoyaltyConsoleInChromium(t *testing.T) {
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
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	shots := t.TempDir()
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			file := filepath.Join(shots, strings.ReplaceAll(name, " ", "_")+".png")
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if buf, serr := chromedp.Run(sctx, chromedp.FullScreenshot(80)); serr == nil && os.WriteFile(file, buf, 0o644) == nil {
				t.Logf("screenshot: %s", file)
			}
			scancel()
			t.Fatalf("%s: %v", name, err)
		}
	}
	// truthy waits until a JavaScript expression holds (a navigating page counts as not yet).
	truthy := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			deadline := time.Now().Add(10 * time.Second)
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
	has := func(sel, text string) chromedp.Action[chromedp.Void] {
		return truthy(fmt.Sprintf(`(e => e !== null && e.innerText.includes(%q))(document.querySelector(%q))`, text, sel))
	}
	title := func(want string) chromedp.Action[chromedp.Void] {
		return truthy(fmt.Sprintf(`(e => e !== null && e.innerText.trim().startsWith(%q))(document.querySelector("#page-title"))`, want))
	}
	// submit fills a form's fields by name from the page itself and submits it.
	submit := func(form string, fields map[string]string) chromedp.Action[chromedp.Void] {
		b, _ := json.Marshal(fields)
		return truthy(fmt.Sprintf(`(f => {
			if (!f || f.dataset.sent) return false;
			const v = %s;
			for (const k in v) { const e = f.querySelector('[name="' + k + '"]'); if (!e) return false; e.value = v[k]; }
			f.dataset.sent = "1"; f.removeAttribute("data-confirm"); f.requestSubmit(); return true;
		})(document.querySelector(%q))`, b, form))
	}
	signIn := chromedp.Steps(
		chromedp.Navigate(srv.URL+"/login"),
		truthy(fmt.Sprintf(`(() => {
			if (document.querySelector("#page-title")) return true;
			const l = document.querySelector("#login"), p = document.querySelector("#password"), b = document.querySelector("#login-submit");
			if (!l || !p || !b || b.dataset.sent) return false;
			l.value = "growth"; p.value = %q; b.dataset.sent = "1"; b.click();
			return false;
		})()`, demoPassword)),
		chromedp.WaitVisible(chromedp.CSS("#page-title")))
	nav := func(sel, want string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(truthy(fmt.Sprintf(`(e => e ? (e.click(), true) : false)(document.querySelector(%q))`, sel)), title(want))
	}

	step("growth signs in", signIn)
	step("members", nav("#nav-loyalty-members", "会员"), has("#members-list", "李娜"))
	step("search by phone", chromedp.Navigate(srv.URL+"/loyalty/members?q=13800138002"), has("#members-list", "张伟"),
		truthy(`!document.querySelector("#members-list").innerText.includes("李娜")`))
	step("360", chromedp.Navigate(srv.URL+"/loyalty/members?q=13800138001"),
		truthy(`(a => a ? (a.click(), true) : false)(document.querySelector("#members-list tbody a"))`), title("会员 360"),
		has("#member-tier-name", "金卡"), has("#member-tag-list", "高价值"), has("#member-labels", "上海"),
		has("#member-lots", "待生效"), has("#member-points", "到期"))
	step("tag by hand", submit("#tag-form", map[string]string{"tag": "浏览器测试"}), has("#flash", "标签已添加"), has("#member-tag-list", "浏览器测试"))
	step("remove the tag", submit(`#member-tag-list li:last-child form`, nil), has("#flash", "标签已移除"),
		truthy(`!document.querySelector("#member-tag-list").innerText.includes("浏览器测试")`))
	step("overdraw refused in Chinese", submit("#adjust-form", map[string]string{"delta": "-99999999", "reason": "测试"}),
		has("#error", "可用积分不足"))
	step("coupons with live stock", nav("#nav-loyalty-coupons", "优惠券"), has("#coupon-batches", "十二月拉新"), has("#coupon-batches", "996"))
	step("a percentage over 100 refused", submit("#template-form", map[string]string{"name": "坏券", "kind": "percent", "percent": "120"}),
		has("#error", "percent"))
	step("a new batch", chromedp.Navigate(srv.URL+"/loyalty/coupons"),
		submit("#batch-form", map[string]string{"name": "浏览器批次", "stock": "50"}), has("#flash", "已保存"), has("#coupon-batches", "浏览器批次"))
	step("tier rules refused naming the field", nav("#nav-loyalty-program", "积分与等级规则"),
		submit("#tiers-form", map[string]string{}), // unchanged rules save
		has("#flash", "已保存"),
		truthy(`(() => { const t = document.querySelectorAll('#tiers-form input[name="threshold"]'); t[2].value = "100"; document.querySelector("#tiers-form").requestSubmit(); return true; })()`),
		has("#error", "tiers[2].threshold"))
	step("liability chart", nav("#nav-loyalty-liability", "积分负债"),
		truthy(`document.querySelector("#liability-chart[data-ready='1'] canvas") !== null`), has("#liability-months", "20"))
	step("English", chromedp.Navigate(srv.URL+"/loyalty/members"), truthy(`(e => e ? (e.click(), true) : false)(document.querySelector("#lang-switch"))`),
		title("Members"), chromedp.Navigate(srv.URL+"/loyalty/coupons"), title("Coupons"), has("#coupon-batches", "Left"))
	step("English refusal", submit("#template-form", map[string]string{"name": "bad", "kind": "percent", "percent": "10", "cap": "-1"}),
		has("#error", "cap"))
	step("phone layout", chromedp.EmulateViewport(390, 844), chromedp.Navigate(srv.URL+"/loyalty/members?q=13800138001"),
		truthy(`(a => a ? (a.click(), true) : false)(document.querySelector("#members-list tbody a"))`), title("Member 360"),
		truthy(`document.documentElement.scrollWidth <= window.innerWidth + 1`))
}
