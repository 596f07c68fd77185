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

// The console in a real browser: Debian's Chromium, headless, driven by chromedp,
// against the whole application on loopback. It signs in as an admin and as a sales
// rep, walks the pages, switches the language, and checks the phone layout. A failed
// step leaves a screenshot in the test's temp directory.
func TestConsoleInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run 'make test' (it installs it) or 'apt-get install chromium fonts-noto-cjk'")
	}
	start := time.Now()
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.router())
	defer srv.Close()

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(alloc)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	shots := t.TempDir()

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			file := filepath.Join(shots, strings.NewReplacer(" ", "_", "/", "_", ":", "_").Replace(name)+".png")
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if buf, serr := chromedp.Run(sctx, chromedp.FullScreenshot(80)); serr == nil && os.WriteFile(file, buf, 0o644) == nil {
				t.Logf("screenshot: %s", file)
			}
			scancel()
			t.Fatalf("%s: %v", name, err)
		}
	}
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	textOf := func(sel string, check func(string) error) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			got, err := chromedp.Text(css(sel))(ctx, tg)
			if err != nil {
				return err
			}
			return check(strings.TrimSpace(got))
		})
	}
	textIs := func(sel, want string) chromedp.Action[chromedp.Void] {
		return textOf(sel, func(got string) error {
			if got != want {
				return fmt.Errorf("%s reads %q, want %q", sel, got, want)
			}
			return nil
		})
	}
	contains := func(sel, want string) chromedp.Action[chromedp.Void] {
		return textOf(sel, func(got string) error {
			if !strings.Contains(got, want) {
				return fmt.Errorf("%s lacks %q: %q", sel, want, got)
			}
			return nil
		})
	}
	// truthy waits until a JavaScript expression holds; while a page is navigating the
	// evaluation fails, which counts as "not yet".
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
	// signIn fills and submits the form from the page itself, retried until it is done:
	// a page that is still being replaced (the redirect of a sign-out) makes chromedp's
	// node ids stale for a moment. A page with a title is a signed-in page.
	signIn := func(login string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Navigate(srv.URL+"/login"),
			truthy(fmt.Sprintf(`(() => {
				if (document.querySelector("#page-title")) return true;
				const l = document.querySelector("#login"), p = document.querySelector("#password"), b = document.querySelector("#login-submit");
				if (!l || !p || !b || b.dataset.sent) return false;
				l.value = %q; p.value = %q; b.dataset.sent = "1"; b.click();
				return false;
			})()`, login, demoPassword)),
			chromedp.WaitVisible(css("#page-title")),
		)
	}
	// jsClick clicks from the page itself: right after a navigation that a click (not
	// chromedp) started, chromedp's node ids can be stale for a moment.
	jsClick := func(sel string) chromedp.Action[chromedp.Void] {
		return truthy(fmt.Sprintf(`(e => e ? (e.click(), true) : false)(document.querySelector(%q))`, sel))
	}
	// open follows a navigation link (it must be in the menu) and waits for its page.
	open := func(nav, title string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(
			chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				href, err := chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).getAttribute("href")`, nav))(ctx, tg)
				if err != nil {
					return fmt.Errorf("menu entry %s: %w", nav, err)
				}
				_, err = chromedp.Navigate(srv.URL+href)(ctx, tg)
				return err
			}),
			truthy(fmt.Sprintf(`document.querySelector("#page-title") !== null && document.querySelector("#page-title").innerText.trim() === %q`, title)))
	}

	// The admin, in Chinese (the default).
	step("admin signs in", signIn("admin"), textIs("#page-title", "仪表盘"))
	step("dashboard chart", truthy(`document.querySelector("#signins-chart[data-ready='1'] canvas") !== null`))
	step("users page", open("#nav-users", "员工"), contains("#users-list", "sh1.rep"), contains("#users-list", "13812345678"))
	step("users filter (htmx)",
		chromedp.SendKeys(css(`#users-list input[name="q"]`), "hz"),
		chromedp.Click(css(`#users-list button[type="submit"]`)),
		truthy(`location.search.includes("q=hz") && !document.querySelector("#users-list tbody").innerText.includes("sh1.rep")`),
		contains("#users-list", "hz1.rep"))
	step("org tree", open("#nav-org", "组织架构"), contains("#org-tree", "上海一组 SH Team 1"))
	step("roles", open("#nav-roles", "角色权限"), contains("#roles-table", "merchant.lead.read"))
	step("tokens: create one, shown once", open("#nav-tokens", "API 令牌"),
		chromedp.SendKeys(css("#token-name"), "browser test"),
		chromedp.Click(css("#token-create")),
		truthy(`(document.querySelector("#token-secret")||{innerText:""}).innerText.startsWith("tdm_")`))
	step("audit log", open("#nav-audit", "审计日志"), contains("#audit-list", "identity.token.create"))
	step("switch to English", jsClick("#lang-switch"), truthy(`document.querySelector("#page-title").innerText.trim() === "Audit log"`))
	step("English sticks", chromedp.Navigate(srv.URL+"/"), textIs("#page-title", "Dashboard"))
	step("queues dashboard", chromedp.Navigate(srv.URL+"/admin/queues"), truthy(`document.readyState === "complete" && !document.body.innerText.includes("identity.")`))
	step("sign out", chromedp.Navigate(srv.URL+"/"), chromedp.Click(css("#logout")), chromedp.WaitVisible(css("#login")))

	// A sales rep: a smaller menu, refused pages, their own tokens.
	step("rep signs in", signIn("sh1.rep"), textIs("#page-title", "Dashboard"))
	step("rep's menu", truthy(`document.querySelector("#nav-tokens") !== null && document.querySelector("#nav-users") === null && document.querySelector("#nav-audit") === null && document.querySelector("#nav-queues") === null`))
	step("rep refused users", chromedp.Navigate(srv.URL+"/users"), contains("#error", "You do not have permission"))
	step("rep refused queues", chromedp.Navigate(srv.URL+"/admin/queues"), truthy(`document.body.innerText.includes("identity.forbidden")`))
	step("rep's tokens", chromedp.Navigate(srv.URL+"/tokens"), textIs("#page-title", "API tokens"),
		chromedp.SendKeys(css("#token-name"), "field phone"),
		chromedp.Click(css("#token-create")),
		truthy(`(document.querySelector("#token-secret")||{innerText:""}).innerText.startsWith("tdm_")`),
		truthy(`!document.querySelector("#tokens-list").innerText.includes("browser test")`))
	step("back to Chinese", jsClick("#lang-switch"), truthy(`document.querySelector("#page-title").innerText.trim() === "API 令牌"`))
	step("phone layout: the menu folds", chromedp.EmulateViewport(390, 844), chromedp.Navigate(srv.URL+"/"),
		truthy(`getComputedStyle(document.querySelector("#nav")).display === "none"`),
		chromedp.Click(css(".menu-label")),
		truthy(`getComputedStyle(document.querySelector("#nav")).display !== "none"`))
	t.Logf("browser test took %s", time.Since(start).Round(time.Millisecond))
}
