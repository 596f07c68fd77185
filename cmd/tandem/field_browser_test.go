package main

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// geolocate makes the page's navigator.geolocation answer a fixed position: the phone
// standing at a shop, with the accuracy it reports.
func geolocate(lat, lng, accuracy float64) chromedp.Action[chromedp.Void] {
	return do(fmt.Sprintf(`navigator.geolocation.getCurrentPosition = (ok) => setTimeout(() => ok({coords: {latitude: %f, longitude: %f, accuracy: %f}}), 10)`,
		lat, lng, accuracy))
}

// pickFile puts a file made in the page into a file input and fires its change event,
// as choosing a photo on the phone does: kind "jpeg" draws a photo on a canvas, "exe"
// is a Windows program renamed to a .jpg.
func pickFile(input, kind string) chromedp.Action[chromedp.Void] {
	return do(fmt.Sprintf(`(async () => {
		const input = document.querySelector(%q);
		let file;
		if (%q === "exe") {
			const b = new Uint8Array(256); b.set([0x4d, 0x5a, 0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff]);
			file = new File([b], "photo.jpg", {type: "image/jpeg"});
		} else {
			const c = document.createElement("canvas"); c.width = 640; c.height = 480;
			const g = c.getContext("2d"); g.fillStyle = "#c0392b"; g.fillRect(0, 0, 640, 480); g.fillStyle = "#fff"; g.fillRect(80, 300, 480, 60);
			const blob = await new Promise(r => c.toBlob(r, "image/jpeg", 0.9));
			file = new File([blob], "门头.jpg", {type: "image/jpeg"});
		}
		const dt = new DataTransfer(); dt.items.add(file); input.files = dt.files;
		input.dispatchEvent(new Event("change", {bubbles: true}));
	})()`, input, kind))
}

// selectByText chooses the option of a select whose text contains want.
func selectByText(sel, want string) chromedp.Action[chromedp.Void] {
	return until(fmt.Sprintf(`(s => { if (!s) return false; const o = [...s.options].find(o => o.text.includes(%q)); if (!o) return false; s.value = o.value; return true; })(document.querySelector(%q))`, want, sel))
}

// Field work in a real browser: a rep on a phone (Chinese, then English) works their
// day — to-dos from reminders, a check-in from the phone's position, a photo shrunk on
// the phone, a check-out, a planned visit, an imprecise position refused — and uploads
// the missing onboarding document (a renamed program refused); the reviewer (English)
// reads the documents; the city manager (Chinese, desktop) reads the dashboard with
// its charts and CSV, the targets, the team's week, the renewal list, then (English)
// the dashboard, CSV, targets and commission again and terminates a contract; a
// merchant owner sees none of it.
func TestFieldWorkInChromium(t *testing.T) {
	a := testApp(t)
	if _, err := a.seedDemo(context.Background()); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, phoneWidth, phoneHeight)

	// The rep on a phone, in Chinese.
	b.step("rep signs in", b.lang("zh-CN"), b.signIn("sh1.rep"), until(`document.querySelector("#nav-visits") !== null`))
	b.step("the day", b.nav("#nav-visits", "拜访日程"), shows("#todos", "补拍门头照片"), shows("#calendar", "补拍门头照片"), fitsPhone())
	b.step("check in at the shop", selectByText("#checkin-lead", "外滩面馆"), geolocate(31.2390, 121.4903, 12),
		do(`document.querySelector("#checkin-note").value = "老板在店"`), jsClick("#checkin-here"),
		shows("#flash", "已签到"), shows("#calendar", "±12 m"))
	visit := b.read(`[...document.querySelectorAll("[data-visit]")].find(v => v.innerText.includes("±12 m")).dataset.visit`)
	b.step("a photo, shrunk on the phone", pickFile(fmt.Sprintf(`[data-visit="%s"] input[name=photo]`, visit), "jpeg"),
		shows("#flash", "照片已上传"), until(fmt.Sprintf(`document.querySelectorAll('[data-visit="%s"] .photos img').length === 1`, visit)),
		do(fmt.Sprintf(`fetch(document.querySelector('[data-visit="%s"] .photos img').src).then(r => window.photoType = r.status + " " + r.headers.get("content-type"))`, visit)),
		until(`window.photoType === "200 image/jpeg"`))
	b.step("a renamed program is refused", pickFile(fmt.Sprintf(`[data-visit="%s"] input[name=photo]`, visit), "exe"),
		shows("#error", "这是一个程序"))
	b.step("check out", b.open("/visits"), geolocate(31.2391, 121.4903, 8),
		jsClick(fmt.Sprintf(`[data-visit="%s"] .checkout-form button`, visit)), shows("#flash", "已签退"),
		until(fmt.Sprintf(`document.querySelector('[data-visit="%s"] .checkout-form') === null`, visit)))
	// The demo's visits were a plausible day; ~7 km across town within minutes is not.
	b.step("an impossible trip", b.open("/visits"), selectByText("#checkin-lead", "徐家汇甜品"), geolocate(31.1956, 121.4375, 10),
		jsClick("#checkin-here"), shows("#flash", "已签到"))
	b.step("an imprecise position is refused", selectByText("#checkin-lead", "静安咖啡"), geolocate(31.2287, 121.4534, 400),
		jsClick("#checkin-here"), shows("#error", "定位精度不足"))
	b.step("plan a visit", b.open("/visits"), do(`document.querySelector("#plan-card").open = true`), selectByText("#plan-lead", "静安咖啡"),
		submit("#plan-form", map[string]string{"starts_at": "2031-03-04T10:30", "minutes": "40", "purpose": "送合同", "remind_minutes": "60"}),
		shows("#flash", "拜访已加入日程"), shows("#calendar", "送合同"), fitsPhone())
	b.step("the missing storefront photo", b.open("/contracts"), shows("#to-onboard", "外滩面馆"),
		do(`[...document.querySelectorAll("#to-onboard a")].find(a => a.innerText.includes("外滩面馆")).click()`),
		shows("#page-title", "外滩面馆"), shows(`[data-doc="storefront"]`, "缺少"), fitsPhone())
	b.step("upload it", selectByText("#document-key", "门头"), pickFile("#document-file", "jpeg"),
		until(`document.querySelector("#document-file").files.length === 1`), do(`document.querySelector("#document-form").requestSubmit()`), shows("#flash", "资料已上传"),
		omits(`[data-doc="storefront"]`, "缺少"))
	b.step("in English", b.lang("en"), b.open("/visits"), title("Visit calendar"), shows("#todos", "To-dos"), fitsPhone(), b.signOut())

	// The reviewer, in English: the application with its documents, readable.
	b.step("reviewer", viewport(desktopWidth, desktopHeight), b.signIn("reviewer"), b.open("/onboarding"),
		do(`[...document.querySelectorAll("#onb-queue a")].find(a => a.innerText.includes("静安咖啡")).click()`),
		shows(`#onb-documents [data-doc="business_licence"]`, "Business licence"),
		until(`document.querySelectorAll("#onb-documents img").length >= 3`))
	b.step("the reviewer opens a document", do(`fetch(document.querySelector("#onb-documents img").src).then(r => window.docType = r.status + " " + r.headers.get("content-type"))`),
		until(`window.docType === "200 image/jpeg"`))
	b.step("the changed application lacks nothing now", b.open("/onboarding?all=true"),
		do(`[...document.querySelectorAll("#onb-queue a")].find(a => a.innerText.includes("外滩面馆")).click()`),
		shows(`#onb-documents [data-doc="storefront"]`, "Storefront"), omits(`#onb-documents [data-doc="storefront"]`, "missing"), b.signOut())

	// The city manager on a desktop, in Chinese: the dashboard and its exports.
	b.step("city manager's dashboard", b.lang("zh-CN"), b.signIn("sh.manager"), b.nav("#nav-reports", "销售报表"),
		until(`document.querySelector("#report-funnel canvas") !== null`), until(`document.querySelector("#report-visits canvas") !== null`),
		shows("#report-leaderboard", "张销售"), shows("#report-conversion", "→"), shows("#report-breakdown", "上海一组"))
	b.step("a report's CSV", do(`fetch(document.querySelector("#report-funnel a.csv").href).then(r => r.text()).then(t => window.csv = t)`),
		until(`(window.csv || "").includes("阶段") && window.csv.includes("已上线")`))
	b.step("targets", b.nav("#nav-targets", "月度目标与达成"), shows("#attainment", "张销售"), shows("#attainment", "上海一组"),
		until(`document.querySelector("#attainment-chart canvas") !== null`))
	b.step("the team's week", b.open("/visits?span=week"), shows("#calendar", "补拍门头照片"), shows("#calendar", "张销售"),
		shows("#flagged", "张销售"), shows("#flagged", "徐家汇甜品"), omits("#flagged", "田子坊"), omits("#flagged", "南翔小笼"))
	b.step("renewals", b.nav("#nav-contracts", "合同与进件资料"), shows("#expiring", "小杨生煎"),
		do(`[...document.querySelectorAll("#expiring a")].find(a => a.innerText.includes("小杨生煎")).click()`),
		shows("#contract-history", "已续签"), until(`document.querySelector("#terminate-form") !== null`))
	b.step("commission", b.nav("#nav-commission", "销售提成"), shows("#commission-runs", "待审批"))

	// The same city manager in English: the dashboard, a CSV, targets and commission,
	// then a contract terminated with a reason, which the lead's pool sees: the shop is
	// now reclaimed 30 days after the termination instead of after the renewal's end.
	b.step("dashboard in English", b.lang("en"), b.nav("#nav-reports", "Sales reports"),
		until(`document.querySelector("#report-funnel canvas") !== null`), until(`document.querySelector("#report-visits canvas") !== null`),
		shows("#report-leaderboard", "张销售"), shows("#report-breakdown", "SH Team 1"), omits("main", "阶段"))
	b.step("a CSV in English", do(`window.csv = ""; fetch(document.querySelector("#report-funnel a.csv").href).then(r => r.text()).then(t => window.csv = t)`),
		until(`window.csv.includes("Stage") && window.csv.includes("Live") && !window.csv.includes("已上线")`))
	b.step("targets in English", b.nav("#nav-targets", "Monthly targets and attainment"), shows("#attainment", "SH Team 1"),
		until(`document.querySelector("#attainment-chart canvas") !== null`))
	b.step("commission in English", b.nav("#nav-commission", "Sales commission"), shows("#commission-runs", "Awaiting approval"))
	b.step("the contract to terminate", b.nav("#nav-contracts", ""), shows("#expiring", "小杨生煎"),
		do(`[...document.querySelectorAll("#expiring a")].find(a => a.innerText.includes("小杨生煎")).click()`),
		shows("#page-title", "小杨生煎"), until(`document.querySelector("#terminate-form") !== null`))
	lead := b.read(`location.pathname.split("/").pop()`)
	b.step("before: reclaimed after the renewal's end", b.open("/leads/"+lead), shows("#days-left", "75 days before reclaim"))
	b.step("terminate without a reason", b.open("/contracts/"+lead), confirmClick("#terminate"), shows("#error", ""),
		omits("#contract-history", "Terminated"))
	b.step("terminate with a reason", do(`document.querySelector("#terminate-reason").value = "Owner sold the shop"`),
		confirmClick("#terminate"), shows("#flash", "Contract updated"), shows("#contract-history", "Terminated"),
		shows("#contract-history", "Owner sold the shop"), until(`document.querySelector("#terminate-form") === null`))
	b.step("the pool sees the contract ended", b.open("/leads/"+lead), shows("#days-left", "30 days before reclaim"), b.signOut())

	// A merchant owner sees no sales pages.
	b.step("owner", b.lang("en"), b.signIn("shop.owner"), until(`document.querySelector("#nav-reports") === null && document.querySelector("#nav-visits") === null`),
		b.open("/reports"), shows("#error", ""), b.signOut())
}
