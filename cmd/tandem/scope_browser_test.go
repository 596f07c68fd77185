package main

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/identity"
)

// addMemberReader adds a staff user of unit who, beside the unit's own demo role (a team
// lead's or a city manager's), holds a custom role with consumer.member.read and
// consumer.member.write at level: what an admin who gives a lead "their team's members"
// would make. Members belong to no unit, so such a user reaches none of them. It returns
// the user's id.
func addMemberReader(t testing.TB, a *app, demo identity.Demo, login, unit, base string, level identity.Level) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	admin, err := a.identity.Principal(ctx, demo.Users["admin"])
	if err != nil {
		t.Fatal(err)
	}
	role := "members_" + string(level)
	if _, err := a.identity.CreateRole(ctx, admin, identity.RoleInput{Key: role, Name: "会员 Members (" + string(level) + ")", Scope: level,
		Permissions: []identity.Permission{identity.PermMemberRead, identity.PermMemberWrite}}); err != nil {
		t.Fatal(err)
	}
	u, err := a.identity.CreateUser(ctx, admin, identity.NewUser{Login: login, DisplayName: login, OrgUnitID: demo.Units[unit],
		Password: demoPassword, Roles: []string{base, role}})
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// A team-scoped and a city-scoped holder of consumer.member.read, in Chromium: the menu
// does not offer them the merges, the C-CRM's member pages or its growth pages (all ask
// for scope all), and a consumer's recommendations, a merchant's audience, the merges
// and the growth pages (segments, campaigns, reports, referrals), opened by their
// address, are refused as not found, in the reader's language, as the C-CRM's member
// pages refuse them; the city manager reads it on a phone.
func TestScopedStaffAreRefusedMembersInChromium(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	d, demo := seedDemoWithLogins(t, a)
	addMemberReader(t, a, demo, "sh1.members", identity.DemoSHTeam1, identity.RoleTeamLead, identity.LevelTeam)
	addMemberReader(t, a, demo, "sh.members", identity.DemoShanghai, identity.RoleCityManager, identity.LevelSubtree)
	recs, err := a.matching.Recommendations(ctx, d.consumerID, 1)
	if err != nil || len(recs) == 0 {
		t.Fatalf("recommendations: %v", err)
	}
	consumer, merchant := d.consumerID.String(), recs[0].MerchantID.String()

	b := startBrowser(t, a, desktopWidth, desktopHeight)
	b.step("team lead signs in", b.signIn("sh1.members"))
	b.step("no merges, loyalty nor growth in the menu", b.open("/"), title("仪表盘"),
		until(`document.querySelector("#nav-matching, [id^='nav-loyalty'], #nav-segments, #nav-campaigns, #nav-growth, #nav-referrals") === null`))
	b.step("segments by their address", b.open("/growth/segments"), refused("出错了", "会员不存在。"), omits("main", "marketing."))
	b.step("campaigns", b.open("/growth/campaigns"), refused("出错了", "活动不存在。"))
	b.step("growth reports", b.open("/growth/reports"), refused("出错了", "会员不存在。"))
	b.step("referrals", b.open("/growth/referrals"), refused("出错了", "会员不存在。"),
		until(`document.querySelector("main a[href^='/loyalty/members/']") === null`))
	b.step("merges by their address", b.open("/matching/merges?state=review"), refused("出错了", "没有这条合并记录。"), omits("main", "matching."))
	b.step("recommendations", b.open("/matching/consumer?id="+consumer), refused("出错了", "没有这位消费者。"))
	b.step("audience", b.page("/matching/audience?merchant="+merchant, "商户的目标人群"),
		shows("#error", "匹配模块还没有这个商户的记录"), shows("#audience", "没有数据"))
	b.step("English", b.lang("en"), b.open("/matching/consumer?id="+consumer), refused("Something went wrong", "No such consumer."))

	b.step("city manager signs in on a phone", b.signOut(), viewport(phoneWidth, phoneHeight), b.signIn("sh.members"))
	b.step("English audience", b.page("/matching/audience?merchant="+merchant, "A merchant's audience"),
		shows("#error", "Matching has no record of this merchant."), fitsPhone())
	b.step("English merges", b.open("/matching/merges?state=review"), refused("Something went wrong", "No such merge."), fitsPhone())
	b.step("English referrals", b.open("/growth/referrals"), refused("Something went wrong", "No such member."), fitsPhone())
	b.step("Chinese", b.lang("zh-CN"), b.open("/matching/consumer?id="+consumer), refused("出错了", "没有这位消费者。"), fitsPhone())
}

// refused waits for the console's error page: its heading and the refusal's message.
func refused(heading, message string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(shows("main h1", heading), shows("#error", message))
}

// The menu offers each user exactly the pages they may open, and each opens without a
// refusal: a growth operator, finance, a field rep, and a team lead given the members
// at team scope (who keeps the team lead's pages but is not offered the pages over
// every member: the loyalty, matching and growth ones).
func TestMenusOfferWhatEachUserMayOpenInChromium(t *testing.T) {
	a := testApp(t)
	_, demo := seedDemoWithLogins(t, a)
	addMemberReader(t, a, demo, "sh1.members", identity.DemoSHTeam1, identity.RoleTeamLead, identity.LevelTeam)
	teamLead := "nav-audit nav-board nav-commission nav-contracts nav-dashboard nav-imports nav-leads nav-org nav-pool nav-reports nav-rules nav-targets nav-todos nav-tokens nav-users nav-visits"
	menus := map[string]string{
		"growth": "nav-campaigns nav-dashboard nav-growth nav-loyalty-coupons nav-loyalty-liability nav-loyalty-members nav-loyalty-program " +
			"nav-matching nav-referrals nav-segments nav-todos nav-tokens",
		"finance":     "nav-audit nav-billing-orders nav-billing-refunds nav-billing-statements nav-dashboard nav-recon nav-recon-queue nav-todos nav-tokens",
		"sh1.rep":     "nav-contracts nav-dashboard nav-imports nav-leads nav-pool nav-reports nav-targets nav-todos nav-tokens nav-visits",
		"sh1.members": teamLead,
	}
	b := startBrowser(t, a, desktopWidth, desktopHeight)
	for _, login := range []string{"growth", "finance", "sh1.rep", "sh1.members"} {
		b.step(login+" signs in", b.signIn(login), title("仪表盘"))
		got := strings.Fields(b.read(`[...document.querySelectorAll("#nav a")].map(a => a.id).sort().join(" ")`))
		want := strings.Fields(menus[login])
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s's menu:\n got %v\nwant %v", login, got, want)
		}
		hrefs := strings.Fields(b.read(`[...document.querySelectorAll("#nav a")].map(a => a.getAttribute("href")).join(" ")`))
		for _, href := range hrefs {
			b.step(login+" opens "+href, b.open(href), until(`document.querySelector("#page-title") !== null`),
				until(`document.querySelector("#error") === null && document.querySelector("main h1").innerText !== "出错了"`))
		}
		b.step(login+" signs out", b.signOut())
	}
}

// seedDemoWithLogins loads the demo data and returns it with identity's demo: its
// users, units and merchants by name.
func seedDemoWithLogins(t testing.TB, a *app) (demoData, identity.Demo) {
	t.Helper()
	ctx := context.Background()
	d, err := a.seedDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	demo, err := a.identity.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	return d, demo
}
