package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// Onboarding, approvals and the owner's first login in a real browser: the reviewer
// works the queue (Chinese), approves a shop and gets the owner's invitation; the
// owner sets their own password through it and signs in (English); the city manager
// approves a contract discount from the to-do list; the rep, on a phone, sees it
// approved among their requests.
func TestOnboardingInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	// ready runs a script in the page once it has a title (or is the invitation or
	// sign-in page).
	ready := func(js string) chromedp.Action[chromedp.Void] {
		return until(fmt.Sprintf(`(() => { if (!document.querySelector("#page-title, #invite-form, #login-form")) return false; %s; return true; })()`, js))
	}

	// The reviewer, in Chinese: the queue, one application, a change requested.
	b.step("reviewer signs in", b.lang("zh-CN"), b.signIn("reviewer"), until(`document.querySelector("#nav-onboarding") !== null`))
	b.step("queue", b.open("/onboarding"), shows("#page-title", "进件申请"), shows("#onb-queue", "静安咖啡"))
	b.step("application page", ready(`[...document.querySelectorAll("#onb-queue a")].find(a => a.innerText.includes("静安咖啡")).click()`),
		shows("#onb-state", "审核中"), shows("#onb-review", "待审核"), shows("#onb-documents", "营业执照"), shows("#onb-history", "提交"))
	b.step("lead readable", until(`document.querySelector("#page-title").innerText.includes("静安咖啡")`))
	// The rejected and changed demo applications are listed with every state.
	b.step("every application", b.open("/onboarding?all=true"), shows("#onb-queue", "已驳回"), shows("#onb-queue", "待修改"))
	// The same reviewer in English: the queue and the application read in English.
	b.step("queue in English", b.lang("en"), b.open("/onboarding"), shows("#page-title", "Onboarding applications"),
		ready(`[...document.querySelectorAll("#onb-queue a")].find(a => a.innerText.includes("静安咖啡")).click()`),
		shows("#onb-state", "Auditing"), shows("#onb-review", "Waiting for review"), shows("#onb-documents", "Business licence"),
		b.lang("zh-CN"))
	// Approve 静安咖啡 with a sub-merchant number: live, the owner's invitation shown once.
	b.step("approve", b.open("/onboarding?state=auditing"),
		ready(`[...document.querySelectorAll("#onb-queue a")].find(a => a.innerText.includes("静安咖啡")).click()`),
		until(`document.querySelector("#approve-form") !== null`),
		ready(`document.querySelector("#approve-form input[name=sub_mchid]").value = "1900000777"; document.querySelector("#approve").click()`),
		shows("#onb-live", "1900000777"), until(`(document.querySelector("#owner-invitation")||{innerText:""}).innerText.includes("/invite/tdi_")`))
	invitation := b.read(`document.querySelector("#owner-invitation").innerText.trim()`)
	ownerLogin := b.read(`document.querySelector("#owner-login").innerText.trim()`)
	b.step("approved, it left the queue", b.open("/onboarding"),
		until(`document.querySelector("#onb-queue") !== null && !document.querySelector("#onb-queue").innerText.includes("静安咖啡")`), b.signOut())

	// The owner, in English: sets their own password through the link, signs in.
	b.step("owner's invitation page", b.lang("en"), chromedp.Navigate(invitation), shows("h1", "Set your password"),
		ready(`document.querySelector("#invite-password").value = "Owner-own-pass-7"; document.querySelector("#invite-password2").value = "Owner-own-pass-7"; document.querySelector("#invite-submit").click()`),
		shows("#flash", "Your password is set"))
	b.step("the link works once", chromedp.Navigate(invitation), shows("#error", "unknown, used or expired"))
	b.step("owner signs in", b.signInWith(ownerLogin, "Owner-own-pass-7"),
		shows("#page-title", "Dashboard"), until(`document.querySelector("#nav-onboarding") === null`))
	b.step("owner's portal", b.open("/portal"), shows("#portal-shop", "静安咖啡"), shows("#portal-status", "Live"),
		shows("#portal-contract", "6.5%"), b.signOut())
	// The demo owner's portal: a real merchant, live, with its contract and staff.
	b.step("demo owner's portal", b.signIn("shop.owner"), b.open("/portal"),
		shows("#portal-shop", "南翔小笼"), shows("#portal-status", "Live"), shows("#portal-contract", "%"),
		shows("#portal-staff", "shop.staff"))
	b.step("demo owner's portal in Chinese", b.lang("zh-CN"), b.open("/portal"),
		shows("#portal-shop", "南翔小笼"), shows("#portal-status", "已上线"), b.signOut())

	// The city manager, in Chinese: the discount waits on the to-do list; approved.
	b.step("manager's to-dos", b.lang("zh-CN"), b.signIn("sh.manager"), b.open("/todos"),
		shows("#page-title", "待办"), shows("#todo-list", "田子坊"))
	b.step("open the request", ready(`[...document.querySelectorAll("#todo-list a")].find(a => a.innerText.includes("田子坊")).click()`),
		shows("#request-state", "待审批"))
	b.step("reject without a comment is refused", ready(`document.querySelector("#decide-form").removeAttribute("data-confirm"); document.querySelector("#reject").removeAttribute("data-confirm"); document.querySelector("#reject").click()`),
		shows("#error", "驳回请填写理由"))
	b.step("approve with a comment", ready(`document.querySelector("#decide-comment").value = "新商圈，同意"; document.querySelector("#approve").click()`),
		shows("#flash", "已同意"), until(`!document.querySelector("#todo-list").innerText.includes("田子坊")`), b.signOut())

	// The rep on a phone: their requests show the decision.
	b.step("rep on a phone", viewport(phoneWidth, phoneHeight), b.signIn("sh1.rep"),
		b.open("/todos?box=mine"), shows("#todo-list", "田子坊"), shows("#todo-list", "已同意"),
		fitsPhone())
}
