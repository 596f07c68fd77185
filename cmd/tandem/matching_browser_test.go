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
)

// Matching's console in Chromium, in Chinese and in English: growth reviews the merge
// queue (merges one pair, undoes a merge from the history), opens a consumer's
// recommendations and a merchant's audience, each with why; on a phone as well.
func TestMatchingConsoleInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run 'make test' (it installs it) or 'apt-get install chromium fonts-noto-cjk'")
	}
	a := testApp(t)
	demo, err := a.seedDemo(context.Background())
	if err != nil {
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

	// until waits for a JavaScript condition (a navigating page fails to evaluate: not yet).
	until := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		var last error
		for time.Now().Before(deadline) {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if last = err; err == nil && ok {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ""`))
		t.Fatalf("%s: waiting for %s (last error %v); the page reads:\n%s", what, js, last, body)
	}
	visit := func(path string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+path)); err != nil {
			t.Fatal(err)
		}
	}
	title := func(what, want string) {
		t.Helper()
		until(what, fmt.Sprintf(`(document.querySelector("#page-title")||{innerText:""}).innerText.trim() === %q`, want))
	}
	// click submits a form's button from the page itself, answering its confirm.
	click := func(what, sel string) {
		t.Helper()
		until(what, fmt.Sprintf(`(b => b ? (window.confirm = () => true, b.click(), true) : false)(document.querySelector(%q))`, sel))
	}

	visit("/login")
	until("sign in", fmt.Sprintf(`(() => {
		if (document.querySelector("#page-title")) return true;
		const l = document.querySelector("#login"), p = document.querySelector("#password"), b = document.querySelector("#login-submit");
		if (!l || !p || !b || b.dataset.sent) return false;
		l.value = "growth"; p.value = %q; b.dataset.sent = "1"; b.click(); return false;
	})()`, demoPassword))

	// The queue, from the menu: pairs with conflicting verified phones wait for review.
	until("menu", `(a => a ? (a.click(), true) : false)(document.querySelector("#nav-matching"))`)
	title("queue", "合并审核与历史")
	until("queue rows", `document.querySelectorAll("#merges tr.merge").length === 3 && document.querySelector("#merges").innerText.includes("已验证手机号不同")`)
	click("merge the pair with one side verified (the newest)", `#merges tr.merge:first-child button.approve`)
	until("merged", `(document.querySelector("#flash")||{innerText:""}).innerText.includes("已合并") && document.querySelectorAll("#merges tr.merge").length === 4`)
	// A pair with two different verified phones: two people.
	visit("/matching/merges?state=review")
	click("reject", `#merges tr.merge:first-child button.reject`)
	until("rejected", `(document.querySelector("#flash")||{innerText:""}).innerText.includes("已驳回")`)
	// History: undo an automatic merge.
	visit("/matching/merges?state=merged")
	until("history", `document.querySelector("#merges").innerText.includes("自动")`)
	click("undo", `#merges tr.merge:first-child button.undo`)
	until("undone", `(document.querySelector("#flash")||{innerText:""}).innerText.includes("合并已撤销") && document.querySelector("#merges").innerText.includes("已撤销")`)

	// A consumer's recommendations, with why; an unknown consumer gets the popular list.
	visit("/matching/consumer?id=" + demo.consumerID.String())
	title("recommendations", "消费者的推荐商户")
	until("reasons", `document.querySelectorAll("#recommendations tbody tr").length === 20 && document.querySelector("#recommendations").innerText.includes("买过「")`)
	visit("/matching/consumer?id=0190a6b2-0000-7000-8000-000000000000")
	until("cold start", `document.querySelector("#cold-start") && document.querySelector("#recommendations").innerText.includes("热门")`)

	// A merchant's audience (the merchant recommended first to the demo consumer).
	recs, err := a.matching.Recommendations(context.Background(), demo.consumerID, 1)
	if err != nil || len(recs) == 0 {
		t.Fatalf("recommendations: %v", err)
	}
	merchant := recs[0].MerchantID.String()
	visit("/matching/audience?merchant=" + merchant)
	title("audience", "商户的目标人群")
	until("audience rows", `document.querySelectorAll("#audience tbody tr").length > 5 && document.querySelector("#audience").innerText.includes("相似店铺")`)
	visit("/matching/audience?merchant=0190a6b2-0000-7000-8000-000000000000")
	until("unknown merchant", `(document.querySelector("#error")||{innerText:""}).innerText.includes("匹配模块还没有这个商户的记录")`)

	// English, and a phone.
	until("switch to English", `(a => a ? (a.click(), true) : false)(document.querySelector("#lang-switch"))`)
	title("English", "A merchant's audience")
	visit("/matching/audience?merchant=" + merchant)
	until("English reasons", `document.querySelector("#audience").innerText.includes("similar shops")`)
	if _, err := chromedp.Run(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	visit("/matching/merges")
	title("phone", "Merge review and history")
	until("fits the phone", `document.documentElement.scrollWidth <= 390 + 1 || document.querySelector(".table-wrap").scrollWidth > document.querySelector(".table-wrap").clientWidth`)
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector("#merges").innerText`))
	if err != nil || !strings.Contains(text, "Undone") {
		t.Fatalf("history in English: %q %v", text, err)
	}
}
