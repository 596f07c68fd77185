package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
)

// leadsCatalogue reads the leads pages' messages in one language, so the steps expect
// what the page says in that language; tr fills a message's {{.Name}} fields.
func leadsCatalogue(t *testing.T, lang string) func(key string, args ...any) string {
	t.Helper()
	b, err := os.ReadFile("../../merchant/console/leads/" + lang + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var msgs map[string]string
	if err := json.Unmarshal(b, &msgs); err != nil {
		t.Fatal(err)
	}
	return func(key string, args ...any) string {
		s, ok := msgs[key]
		if !ok {
			t.Fatalf("no message %s in %s", key, lang)
		}
		for i := 0; i+1 < len(args); i += 2 {
			s = strings.ReplaceAll(s, "{{."+fmt.Sprint(args[i])+"}}", fmt.Sprint(args[i+1]))
		}
		return s
	}
}

// Leads and pools in a real browser (issue 12), in Chinese and in English: the rep on a
// 390×844 phone claims from the pool, sees the days left, checks in from the browser's
// position, logs a follow-up, meets the holding cap with its numbers, gets a dedup hint
// naming the holder, saves a view of their leads and exports them to Excel; the team
// lead on a desktop sees the cap refuse an assignment, raises it in the pool's rules,
// assigns from the board, finds the leads handed over by a disabled rep, sets a reclaim
// rule for level A leads and sees the days before reclaim of the held ones follow it,
// sets a "contract ended N days ago" rule and sees it bring forward the reclaim of the
// shop whose contract ended (only that one), writes an assignment rule and imports a
// file routed by it, with its report.
func TestPoolsInChromium(t *testing.T) {
	for _, lang := range []string{"zh-CN", "en"} {
		t.Run(lang, func(t *testing.T) { poolsInChromium(t, lang) })
	}
}

func poolsInChromium(t *testing.T, lang string) {
	tr := leadsCatalogue(t, lang)
	ctx0 := context.Background()
	a := testApp(t)
	d, as := demoStaff(t, a)
	rep, hz := as("sh1.rep"), as("hz1.rep")
	var poolID string
	for i, name := range []string{"小杨生煎 Yang's", "静安咖啡 Jing'an Coffee", "老弄堂面馆 Old Lane"} {
		l, err := a.merchant.CreateLead(ctx0, rep, merchant.NewLead{Name: name, Category: "restaurant", Address: "黄河路90号",
			Lat: 31.2351 + float64(i)*0.01, Lng: 121.4736, Phone: fmt.Sprintf("1380013800%d", i+1), City: "上海"})
		if err != nil {
			t.Fatal(err)
		}
		poolID = l.PoolID.String()
		// Level A, as an import with a level column makes them (a pool lead is edited
		// only once claimed): the level rule the team lead sets below applies to them.
		if _, err := a.db.Exec(ctx0, `UPDATE merchant.leads SET level = 'A' WHERE id = $1`, l.ID); err != nil {
			t.Fatal(err)
		}
	}
	zwg, err := a.merchant.CreateLead(ctx0, hz, merchant.NewLead{Name: "知味观 Zhiweiguan", Category: "restaurant", Address: "仁和路83号",
		Lat: 30.2590, Lng: 120.1640, Phone: "13900571000", City: "杭州"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.merchant.Claim(ctx0, hz, zwg.ID); err != nil {
		t.Fatal(err)
	}
	// A rep of team 1 who leaves: disabled, their lead is handed over (the subscriber of
	// identity's event, called as the worker would).
	gone, err := a.identity.CreateUser(ctx0, as("admin"), identity.NewUser{Login: "sh1.gone", DisplayName: "离职销售 Gone", Kind: identity.KindStaff,
		OrgUnitID: d.Units[identity.DemoSHTeam1], Password: "Gone-password-123", Roles: []string{identity.RoleSalesRep}})
	if err != nil {
		t.Fatal(err)
	}
	goneP, err := a.identity.Principal(ctx0, gone.ID)
	if err != nil {
		t.Fatal(err)
	}
	left, err := a.merchant.CreateLead(ctx0, goneP, merchant.NewLead{Name: "交接面馆 Handed Noodles", Category: "restaurant", Address: "福州路1号",
		Lat: 31.2001, Lng: 121.4001, Phone: "13800138099", City: "上海"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.merchant.Claim(ctx0, goneP, left.ID); err != nil {
		t.Fatal(err)
	}
	off := true
	if _, err := a.identity.UpdateUser(ctx0, as("admin"), gone.ID, identity.UserPatch{Disabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.merchant.HandOverOnStaffChange(ctx0, events.StaffChanged{UserID: gone.ID, Disabled: true}); err != nil {
		t.Fatal(err)
	}
	ended := signedShop(t, a, d, as)
	if _, err := a.merchant.SetPoolRules(ctx0, identity.System(), uuid.MustParse(poolID), "上海一组 SH Team 1",
		merchant.PoolRules{HoldingCap: 1, DailyQuota: 10, ReclaimFollowUpDays: 7, RemindDays: 2}); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t, a, phoneWidth, phoneHeight)
	claimFirst := `[...document.querySelectorAll("#pool-list li")].find(li => !li.innerText.includes("交接")).querySelector("button.claim").click()`
	tickPoolLead := fmt.Sprintf(`[...document.querySelectorAll("#col-lead label.board-card")].find(l => l.innerText.includes(%q) && !l.innerText.includes("交接")).querySelector("input").click();
		document.querySelector("#assign-reason").value = "her street"`, tr("leads.in_pool"))

	// The rep, on a phone.
	b.step("rep signs in on a phone", viewport(phoneWidth, phoneHeight), b.signIn("sh1.rep"), b.lang(lang))
	b.step("the pool: masked phones, only their team's", b.open("/leads/pool"),
		shows("#page-title", tr("leads.pool_title")), shows("#pool-list", "138****8001"), until(`!document.body.innerText.includes("知味观")`), fitsPhone())
	b.step("claim: the lead with days left", do(claimFirst), shows("#flash", tr("leads.claimed")), shows("#days-left", tr("leads.days_left_n", "N", 7)))
	b.step("check in where the browser stands", do(`navigator.geolocation.getCurrentPosition = ok => ok({coords: {latitude: 31.2351, longitude: 121.4736}})`),
		do(`document.querySelector("#checkin-locate").click()`), shows("#flash", tr("leads.checked_in")), shows("#timeline", tr("leads.kind_check_in")))
	b.step("log a follow-up", do(`document.querySelector("#followup-note").value = "老板下周回复"`), do(`document.querySelector("#followup-save").click()`),
		shows("#flash", tr("leads.followed_up")), shows("#timeline", "老板下周回复"))
	b.step("the cap refuses, with its numbers", b.open("/leads/pool"), shows("#page-title", tr("leads.pool_title")),
		do(claimFirst), shows("#error", tr("refusal.merchant.holding_cap", "Held", 1, "Cap", 1)))
	b.step("my leads, sorted by name: save the view", b.open("/leads?sort=name"), shows("#leads-list", tr("leads.days_left_n", "N", 7)), fitsPhone(),
		submit("#save-view", map[string]string{"view_name": "按店名 by name"}), shows("#flash", tr("leads.view_saved")),
		shows("#saved-views", "按店名 by name"), until(`document.querySelector("#saved-views a[aria-current]").innerText.includes("按店名")`))
	b.step("export my leads to Excel", do(`fetch(document.querySelector("#leads-xlsx").href).then(r => document.body.dataset.xlsx = r.status + " " + r.headers.get("content-type"))`),
		until(`document.body.dataset.xlsx === "200 `+merchant.XLSXContentType+`"`))
	b.step("a new lead: the dedup hint names the holder", b.open("/leads/new"),
		do(`const i = document.querySelector("#lead-phone"); i.value = "+86 139 0057 1000"; i.dispatchEvent(new Event("input", {bubbles: true}))`),
		shows("#dup-hints", "杭州一组 HZ Team 1"), shows("#dup-hints", "周销售"))
	b.step("rep signs out", b.signOut())

	// The team lead, on a desktop.
	b.step("team lead signs in on a desktop", viewport(desktopWidth, desktopHeight), b.signIn("sh1.lead"), b.lang(lang),
		b.open("/leads/board"), shows("#page-title", tr("leads.board_title")))
	b.step("the leads a disabled rep left are listed", shows("#handed-over", tr("leads.handed_over_title")), shows("#handed-over", "交接面馆"))
	b.step("the cap refuses the assignment", shows("#col-lead", tr("leads.in_pool")), do(tickPoolLead),
		do(`document.querySelector("#assign").click()`), shows("#error", tr("refusal.merchant.holding_cap", "Held", 1, "Cap", 1)))
	b.step("raise the cap in the pool's rules", b.open("/leads/pools/"+poolID), shows("#page-title", tr("leads.rules_title")),
		do(`document.querySelector("#rule-cap").value = "5"`), do(`document.querySelector("#rules-save").click()`), shows("#flash", tr("leads.rules_saved")))
	b.step("assign from the board", b.open("/leads/board"), shows("#col-lead", tr("leads.in_pool")), do(tickPoolLead),
		do(`document.querySelector("#assign").click()`), shows("#flash", tr("leads.assigned")), shows("#col-lead", "张销售"))
	b.step("the held leads: the pool's 7 days before reclaim", b.open("/leads"),
		shows("#leads-list", tr("leads.days_left_n", "N", 7)))
	b.step("a level rule: level A reclaimed after 3 days without a follow-up", b.open("/leads/pools/"+poolID),
		shows("#level-rules", tr("leads.level_n", "L", "A")),
		do(`document.querySelector("#level-A-on").checked = true; document.querySelector("#level-A-follow-up").value = "3"`),
		do(`document.querySelector("#rules-save").click()`), shows("#flash", tr("leads.rules_saved")),
		until(`document.querySelector("#level-A-on").checked && document.querySelector("#level-A-follow-up").value === "3"`))
	b.step("the held level-A leads now have 3 days", b.open("/leads"), shows("#leads-list", tr("leads.days_left_n", "N", 3)),
		omits("#leads-list", tr("leads.days_left_n", "N", 7)))
	b.step("a contract-ended rule: level A reclaimed 12 days after the contract ended", b.open("/leads/pools/"+poolID),
		do(`document.querySelector("[name=level_A_contract_ended]").value = "12"`),
		do(`document.querySelector("#rules-save").click()`), shows("#flash", tr("leads.rules_saved")),
		until(`document.querySelector("[name=level_A_contract_ended]").value === "12"`))
	endedRow := func(text string) string {
		return fmt.Sprintf(`[...document.querySelectorAll("#leads-list tr")].some(r => r.innerText.includes("合约到期店") && r.innerText.includes(%q))`, text)
	}
	b.step("the shop whose contract ended 10 days ago: 2 days left; the others keep 3", b.open("/leads"),
		until(endedRow(tr("leads.days_left_n", "N", 2))), shows("#leads-list", tr("leads.days_left_n", "N", 3)),
		b.open("/leads/"+ended.String()), shows("#days-left", tr("leads.days_left_n", "N", 2)))
	b.step("an assignment rule: 黄河路 to the team, by load", b.nav("#nav-rules", tr("leads.rules_page_title")),
		shows("#rules-table", tr("leads.rules_none")),
		do(`document.querySelector("#rule-method").value = "load"`),
		submit("#rule-form", map[string]string{"name": "黄河路 Huanghe Rd", "districts": "黄河路", "capacity": "5", "position": "1"}),
		shows("#flash", tr("leads.rule_saved")), shows("#rules-table", "黄河路 Huanghe Rd"), shows("#rules-table", tr("leads.method_load")))
	b.step("import a file routed by the rules", b.nav("#nav-imports", tr("leads.imports_title")),
		do(`const dt = new DataTransfer();
			dt.items.add(new File(["店名,电话,品类,城市,地址\n黄河路一号店,13800139001,餐饮,上海,黄河路1号\n黄河路二号店,13800139002,餐饮,上海,黄河路2号\n重复店,13800138001,餐饮,上海,黄河路3号\n"], "shops.csv", {type: "text/csv"}));
			document.querySelector("#import-file").files = dt.files;
			document.querySelector("#import-by-rules").checked = true;
			document.querySelector("#import-form").requestSubmit()`),
		shows("#flash", tr("leads.import_started")), until(`document.querySelector("#import-state").dataset.state === "done"`),
		shows("#import-status", tr("leads.import_assigned_n", "N", 2)), shows("#import-problems", tr("leads.import_col_phone")), shows("#import-problems", "4"))
	// The report says why in the reader's language, on the page and in its download.
	dup := map[string]string{"zh-CN": "这家店已存在（电话相同）", "en": "this shop already exists (the same phone)"}[lang]
	b.step("the report's reasons and download", shows("#import-problems", dup),
		do(`fetch(document.querySelector("#import-report-csv").href).then(r => r.text()).then(t => window.reportCSV = t)`),
		until(fmt.Sprintf(`(window.reportCSV || "").includes(%q) && window.reportCSV.includes(%q)`, dup, tr("leads.import_reason"))))
	b.step("the imports page lists it", b.open("/leads/imports"), shows("#imports-table", "shops.csv"), shows("#imports-table", tr("leads.import_state_done")))
}

// signedShop makes a level-A shop of SH team 1 held by a rep of its own (so the other
// rep's holding cap is not touched), signed with a contract whose last day was 10 days
// ago (Shanghai): no rule of the pool looks at that until one counts from a contract's end.
func signedShop(t *testing.T, a *app, d identity.Demo, as func(string) *identity.Principal) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	u, err := a.identity.CreateUser(ctx, as("admin"), identity.NewUser{Login: "sh1.signer", DisplayName: "签约销售 Signer", Kind: identity.KindStaff,
		OrgUnitID: d.Units[identity.DemoSHTeam1], Password: "Signer-password-123", Roles: []string{identity.RoleSalesRep}})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := a.identity.Principal(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	l, err := a.merchant.CreateLead(ctx, rep, merchant.NewLead{Name: "合约到期店 Ended Contract", Category: "restaurant", Address: "南京东路300号",
		Lat: 31.2401, Lng: 121.4801, Phone: "13800138077", City: "上海"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.Exec(ctx, `UPDATE merchant.leads SET level = 'A' WHERE id = $1`, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.merchant.Claim(ctx, rep, l.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.merchant.CheckIn(ctx, rep, l.ID, merchant.CheckIn{Lat: l.Lat, Lng: l.Lng, Note: "at the door"}); err != nil {
		t.Fatal(err)
	}
	for _, st := range []merchant.Stage{merchant.StageContacted, merchant.StageVisited, merchant.StageNegotiating} {
		if _, err := a.merchant.MoveStage(ctx, rep, l.ID, st, "progress"); err != nil {
			t.Fatal(err)
		}
	}
	today := time.Now().In(clock.Shanghai)
	if _, err := a.merchant.SignContract(ctx, as("sh.manager"), l.ID, merchant.NewContract{CommissionRate: "6%", SettlementCycle: merchant.CycleT1,
		StartsOn: today.AddDate(-1, 0, 0).Format(time.DateOnly), EndsOn: today.AddDate(0, 0, -10).Format(time.DateOnly)}); err != nil {
		t.Fatal(err)
	}
	return l.ID
}
