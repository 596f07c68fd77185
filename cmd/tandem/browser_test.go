package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The console in a real browser: it signs in as an admin and as a sales rep, walks the
// pages, switches the language, and checks the phone layout.
func TestConsoleInChromium(t *testing.T) {
	start := time.Now()
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	textIs := func(sel, want string) chromedp.Action[chromedp.Void] {
		return until(fmt.Sprintf(`%s.trim() === %q`, text(sel), want))
	}

	// The admin, in Chinese (the default).
	b.step("admin signs in", b.signIn("admin"), textIs("#page-title", "仪表盘"))
	b.step("dashboard chart", until(`document.querySelector("#signins-chart[data-ready='1'] canvas") !== null`))
	b.step("users page", b.nav("#nav-users", "员工"), shows("#users-list", "sh1.rep"), shows("#users-list", "13812345678"))
	b.step("users filter (htmx)",
		chromedp.SendKeys(chromedp.CSS(`#users-list input[name="q"]`), "hz"),
		chromedp.Click(chromedp.CSS(`#users-list button[type="submit"]`)),
		until(`location.search.includes("q=hz") && !document.querySelector("#users-list tbody").innerText.includes("sh1.rep")`),
		shows("#users-list", "hz1.rep"))
	b.step("org tree", b.nav("#nav-org", "组织架构"), shows("#org-tree", "上海一组 SH Team 1"))
	b.step("roles", b.nav("#nav-roles", "角色权限"), shows("#roles-table", "merchant.lead.read"))
	b.step("tokens: create one, shown once", b.nav("#nav-tokens", "API 令牌"),
		chromedp.SendKeys(chromedp.CSS("#token-name"), "browser test"),
		chromedp.Click(chromedp.CSS("#token-create")),
		until(`(document.querySelector("#token-secret")||{innerText:""}).innerText.startsWith("tdm_")`))
	b.step("audit log", b.nav("#nav-audit", "审计日志"), shows("#audit-list", "identity.token.create"))
	b.step("switch to English", jsClick("#lang-switch"), until(`document.querySelector("#page-title").innerText.trim() === "Audit log"`))
	b.step("English sticks", b.open("/"), textIs("#page-title", "Dashboard"))
	b.step("queues dashboard", b.open("/admin/queues"), until(`document.readyState === "complete" && !document.body.innerText.includes("identity.")`))
	b.step("sign out", b.open("/"), jsClick("#logout"), until(`document.querySelector("#login") !== null`))

	// A sales rep: a smaller menu, refused pages, their own tokens.
	b.step("rep signs in", b.signIn("sh1.rep"), textIs("#page-title", "Dashboard"))
	b.step("rep's menu", until(`document.querySelector("#nav-tokens") !== null && document.querySelector("#nav-users") === null && document.querySelector("#nav-audit") === null && document.querySelector("#nav-queues") === null`))
	b.step("rep refused users", b.open("/users"), shows("#error", "You do not have permission"))
	b.step("rep refused queues", b.open("/admin/queues"), until(`document.body.innerText.includes("identity.forbidden")`))
	b.step("rep's tokens", b.open("/tokens"), textIs("#page-title", "API tokens"),
		chromedp.SendKeys(chromedp.CSS("#token-name"), "field phone"),
		chromedp.Click(chromedp.CSS("#token-create")),
		until(`(document.querySelector("#token-secret")||{innerText:""}).innerText.startsWith("tdm_")`),
		until(`!document.querySelector("#tokens-list").innerText.includes("browser test")`))
	b.step("back to Chinese", jsClick("#lang-switch"), until(`document.querySelector("#page-title").innerText.trim() === "API 令牌"`))
	b.step("phone layout: the menu folds", viewport(phoneWidth, phoneHeight), b.open("/"),
		until(`getComputedStyle(document.querySelector("#nav")).display === "none"`),
		chromedp.Click(chromedp.CSS(".menu-label")),
		until(`getComputedStyle(document.querySelector("#nav")).display !== "none"`))
	t.Logf("browser test took %s", time.Since(start).Round(time.Millisecond))
}
