package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandemcrm/tandem/reconciliation"
)

// The exceptions queue in Chromium: finance finds a reconciliation exception in the
// queue, assigns it to themselves, writes a note and resolves it; a merchant owner
// has no queue in the menu and is refused it.
func TestFinanceQueueInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run 'make test' (it installs it) or 'apt-get install chromium fonts-noto-cjk'")
	}
	a := testApp(t)
	ctx0 := context.Background()
	if _, err := a.seedDemo(ctx0); err != nil {
		t.Fatal(err)
	}
	// A day whose bill has a payment we do not: one queue item.
	bill := "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额," +
		"微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n" +
		"`2025-03-14 09:00:00,`wxd678efh567hg6787,`1900000109,`0,`,`4200000042,`TDQUEUE42,`oUser,`JSAPI,`SUCCESS,`OTHERS,`CNY,`42.00,`0.00," +
		"`0,`0,`0.00,`0.00,`,`,`Tandem,`,`0.25000,`0.60%,`42.00,`0.00,`\n" +
		"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`42.00,`0.00,`0.00,`0.25000,`42.00,`0.00\n"
	if _, err := a.recon.RunFile(ctx0, "1900000109", "2025-03-14", strings.NewReader(bill), reconciliation.Records{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.router())
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx0, chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(390, 844)) // the field phone
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	// until waits for a JavaScript expression to hold (a navigating page counts as not yet).
	until := func(js string) chromedp.Action[chromedp.Void] {
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
	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	signIn := func(login string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Navigate(srv.URL+"/login"), until(fmt.Sprintf(`(() => {
			if (document.querySelector("#page-title")) return true;
			const l = document.querySelector("#login"), p = document.querySelector("#password"), b = document.querySelector("#login-submit");
			if (!l || !p || !b || b.dataset.sent) return false;
			l.value = %q; p.value = %q; b.dataset.sent = "1"; b.click();
			return false;
		})()`, login, demoPassword)))
	}
	// submit fills a form's field (if any) and submits it from the page, skipping
	// its data-confirm question.
	submit := func(form, field, value string) chromedp.Action[chromedp.Void] {
		return until(fmt.Sprintf(`(() => {
			const f = document.querySelector(%q);
			if (!f || f.dataset.sent) return false;
			if (%q) f.querySelector("[name=" + %q + "]").value = %q;
			f.dataset.sent = "1"; f.submit(); return true;
		})()`, form, field, field, value))
	}
	text := func(sel string) string {
		return fmt.Sprintf(`(document.querySelector(%q)||{innerText:""}).innerText`, sel)
	}

	step("finance signs in", signIn("finance"))
	step("the queue is in the menu", until(`document.querySelector("#nav-recon-queue") !== null`))
	step("the queue lists the exception", chromedp.Navigate(srv.URL+"/recon/queue"),
		until(text("#recon-queue")+`.includes("TDQUEUE42") && `+text("#recon-queue")+`.includes("missing_ours")`))
	step("its page", until(`(a => a ? (a.click(), true) : false)([...document.querySelectorAll("#recon-queue a")].find(a => a.href.includes("/recon/queue/")))`),
		until(text("#item-order")+` === "TDQUEUE42"`))
	step("assign to me", submit("#item-assign", "", ""), until(text("#item-assignee")+` === "我"`))
	step("a note", submit("#item-note", "note", "问过商户，补单中"), until(text("#item-notes")+`.includes("问过商户，补单中")`))
	step("resolve", submit("#item-resolve", "resolution", "手工补单 118 号"),
		until(text("#item-state")+` === "已解决" && `+text("#item-resolution")+` === "手工补单 118 号"`))
	step("no longer open", chromedp.Navigate(srv.URL+"/recon/queue"), until(`document.readyState === "complete" && !`+text("#recon-queue")+`.includes("TDQUEUE42")`))
	step("sign out", chromedp.Navigate(srv.URL+"/"), until(`(b => b ? (b.click(), true) : false)(document.querySelector("#logout"))`),
		until(`document.querySelector("#login") !== null`))

	step("a merchant owner signs in", signIn("shop.owner"))
	step("no queue in the owner's menu", until(`document.querySelector("#page-title") !== null && document.querySelector("#nav-recon-queue") === null`))
	step("the owner is refused the queue", chromedp.Navigate(srv.URL+"/recon/queue"), until(`document.querySelector("#error") !== null`))
}
