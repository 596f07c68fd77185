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
)

// Onboarding, approvals and the owner's first login in a real browser: the reviewer
// works the queue (Chinese), approves a shop and gets the owner's invitation; the
// owner sets their own password through it and signs in (English); the city manager
// approves a contract discount from the to-do list; the rep, on a phone, sees it
// approved among their requests.
func TestOnboardingInChromium(t *testing.T) {
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
	shots := t.TempDir()

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			file := filepath.Join(shots, strings.NewReplacer(" ", "_", "/", "_").Replace(name)+".png")
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if buf, serr := chromedp.Run(sctx, chromedp.FullScreenshot(80)); serr == nil && os.WriteFile(file, buf, 0o644) == nil {
				t.Logf("screenshot: %s", file)
			}
			scancel()
			t.Fatalf("%s: %v", name, err)
		}
	}
	// until waits for a JavaScript expression to hold (a navigating page counts as not yet).
	until := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			var last error
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
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
		return until(fmt.Sprintf(`(e => e !== null && e.innerText.includes(%q))(document.querySelector(%q))`, text, sel))
	}
	// page runs a script in the page once it has a title (the form fills and clicks
	// happen from the page itself, so a replaced page never leaves stale node ids).
	page := func(js string) chromedp.Action[chromedp.Void] {
		return until(fmt.Sprintf(`(() => { if (!document.querySelector("#page-title, #invite-form, #login-form")) return false; %s; return true; })()`, js))
	}
	signIn := func(login, password string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Navigate(srv.URL+"/login"),
			until(fmt.Sprintf(`(() => {
				if (document.querySelector("#page-title")) return true;
				const l = document.querySelector("#login"), p = document.querySelector("#password"), b = document.querySelector("#login-submit");
				if (!l || !p || !b || b.dataset.sent) return false;
				l.value = %q; p.value = %q; b.dataset.sent = "1"; b.click();
				return false;
			})()`, login, password)))
	}
	signOut := chromedp.Steps(chromedp.Navigate(srv.URL+"/"), page(`document.querySelector("#logout").click()`), until(`document.querySelector("#login") !== null`))
	lang := func(want string) chromedp.Action[chromedp.Void] {
		return chromedp.Navigate(srv.URL + "/lang/" + want + "?back=/")
	}

	// The reviewer, in Chinese: the queue, one application, a change requested.
	step("reviewer signs in", lang("zh-CN"), signIn("reviewer", demoPassword), until(`document.querySelector("#nav-onboarding") !== null`))
	step("queue", chromedp.Navigate(srv.URL+"/onboarding"), has("#page-title", "进件申请"), has("#onb-queue", "静安咖啡"))
	step("application page", page(`[...document.querySelectorAll("#onb-queue a")].find(a => a.innerText.includes("静安咖啡")).click()`),
		has("#onb-state", "审核中"), has("#onb-review", "待审核"), has("#onb-documents", "营业执照"), has("#onb-history", "提交"))
	step("lead readable", until(`document.querySelector("#page-title").innerText.includes("静安咖啡")`))
	// The rejected and changed demo applications are listed with every state.
	step("every application", chromedp.Navigate(srv.URL+"/onboarding?all=true"), has("#onb-queue", "已驳回"), has("#onb-queue", "待修改"))
	// Approve 静安咖啡 with a sub-merchant number: live, the owner's invitation shown once.
	step("approve", chromedp.Navigate(srv.URL+"/onboarding?state=auditing"),
		page(`[...document.querySelectorAll("#onb-queue a")].find(a => a.innerText.includes("静安咖啡")).click()`),
		until(`document.querySelector("#approve-form") !== null`),
		page(`document.querySelector("#approve-form input[name=sub_mchid]").value = "1900000777"; document.querySelector("#approve").click()`),
		has("#onb-live", "1900000777"), until(`(document.querySelector("#owner-invitation")||{innerText:""}).innerText.includes("/invite/tdi_")`))
	var invitation, ownerLogin string
	step("read the invitation", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		s, err := chromedp.Evaluate[string](`document.querySelector("#owner-invitation").innerText.trim()`)(ctx, tg)
		if err != nil {
			return err
		}
		invitation = s
		ownerLogin, err = chromedp.Evaluate[string](`document.querySelector("#owner-login").innerText.trim()`)(ctx, tg)
		return err
	}))
	step("approved, it left the queue", chromedp.Navigate(srv.URL+"/onboarding"),
		until(`document.querySelector("#onb-queue") !== null && !document.querySelector("#onb-queue").innerText.includes("静安咖啡")`), signOut)

	// The owner, in English: sets their own password through the link, signs in.
	step("owner's invitation page", lang("en"), chromedp.Navigate(invitation), has("h1", "Set your password"),
		page(`document.querySelector("#invite-password").value = "Owner-own-pass-7"; document.querySelector("#invite-password2").value = "Owner-own-pass-7"; document.querySelector("#invite-submit").click()`),
		has("#flash", "Your password is set"))
	step("the link works once", chromedp.Navigate(invitation), has("#error", "unknown, used or expired"))
	step("owner signs in", signIn(ownerLogin, "Owner-own-pass-7"),
		has("#page-title", "Dashboard"), until(`document.querySelector("#nav-onboarding") === null`))
	step("owner's portal", chromedp.Navigate(srv.URL+"/portal"), has("#portal-shop", "静安咖啡"), has("#portal-status", "Live"),
		has("#portal-contract", "6.5%"), signOut)
	// The demo owner's portal: a real merchant with its staff.
	step("demo owner's portal", signIn("shop.owner", demoPassword), chromedp.Navigate(srv.URL+"/portal"),
		has("#portal-shop", "南翔小笼"), has("#portal-staff", "shop.staff"), signOut)

	// The city manager, in Chinese: the discount waits on the to-do list; approved.
	step("manager's to-dos", lang("zh-CN"), signIn("sh.manager", demoPassword), chromedp.Navigate(srv.URL+"/todos"),
		has("#page-title", "待办"), has("#todo-list", "田子坊"))
	step("open the request", page(`[...document.querySelectorAll("#todo-list a")].find(a => a.innerText.includes("田子坊")).click()`),
		has("#request-state", "待审批"))
	step("reject without a comment is refused", page(`document.querySelector("#decide-form").removeAttribute("data-confirm"); document.querySelector("#reject").removeAttribute("data-confirm"); document.querySelector("#reject").click()`),
		has("#error", "驳回请填写理由"))
	step("approve with a comment", page(`document.querySelector("#decide-comment").value = "新商圈，同意"; document.querySelector("#approve").click()`),
		has("#flash", "已同意"), until(`!document.querySelector("#todo-list").innerText.includes("田子坊")`), signOut)

	// The rep on a phone: their requests show the decision.
	step("rep on a phone", chromedp.EmulateViewport(390, 844), signIn("sh1.rep", demoPassword),
		chromedp.Navigate(srv.URL+"/todos?box=mine"), has("#todo-list", "田子坊"), has("#todo-list", "已同意"),
		until(`document.documentElement.scrollWidth <= 390 || getComputedStyle(document.querySelector("#todo-list .table-wrap")).overflowX !== "visible"`))
}
