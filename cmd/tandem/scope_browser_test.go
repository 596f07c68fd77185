package main

import (
	"context"
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
// offers them matching (they hold the permission), but a consumer's recommendations, a
// merchant's audience and the merges are refused as not found, in the reader's language,
// as the C-CRM's member pages refuse them; the city manager reads it on a phone.
func TestScopedStaffAreRefusedMembersInChromium(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	d, err := a.seedDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	demo, err := a.identity.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	addMemberReader(t, a, demo, "sh1.members", identity.DemoSHTeam1, identity.RoleTeamLead, identity.LevelTeam)
	addMemberReader(t, a, demo, "sh.members", identity.DemoShanghai, identity.RoleCityManager, identity.LevelSubtree)
	recs, err := a.matching.Recommendations(ctx, d.consumerID, 1)
	if err != nil || len(recs) == 0 {
		t.Fatalf("recommendations: %v", err)
	}
	consumer, merchant := d.consumerID.String(), recs[0].MerchantID.String()

	b := startBrowser(t, a, desktopWidth, desktopHeight)
	b.step("team lead signs in", b.signIn("sh1.members"))
	b.step("merges from the menu", jsClick("#nav-matching"), refused("出错了", "没有这条合并记录。"), omits("main", "matching."))
	b.step("recommendations", b.open("/matching/consumer?id="+consumer), refused("出错了", "没有这位消费者。"))
	b.step("audience", b.page("/matching/audience?merchant="+merchant, "商户的目标人群"),
		shows("#error", "匹配模块还没有这个商户的记录"), shows("#audience", "没有数据"))
	b.step("English", b.lang("en"), b.open("/matching/consumer?id="+consumer), refused("Something went wrong", "No such consumer."))

	b.step("city manager signs in on a phone", b.signOut(), viewport(phoneWidth, phoneHeight), b.signIn("sh.members"))
	b.step("English audience", b.page("/matching/audience?merchant="+merchant, "A merchant's audience"),
		shows("#error", "Matching has no record of this merchant."), fitsPhone())
	b.step("English merges", b.open("/matching/merges?state=review"), refused("Something went wrong", "No such merge."), fitsPhone())
	b.step("Chinese", b.lang("zh-CN"), b.open("/matching/consumer?id="+consumer), refused("出错了", "没有这位消费者。"), fitsPhone())
}

// refused waits for the console's error page: its heading and the refusal's message.
func refused(heading, message string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(shows("main h1", heading), shows("#error", message))
}
