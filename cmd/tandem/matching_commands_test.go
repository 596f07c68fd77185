package main

import (
	"bytes"
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Every command a domain registers is in the command tree as `tandem <domain> <name>`
// with its help line, `tandem --help` lists each domain's group with its commands, and
// the tree has no domain command nobody registered: the registry is the one list.
func TestRegisteredCommandsAreTandemsCommands(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	root := rootCmd()
	var help bytes.Buffer
	root.SetOut(&help)
	root.SetArgs([]string{"--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	registered := a.registry().AllCommands()
	if len(registered) == 0 {
		t.Fatal("no domain registers a command")
	}
	groups := map[string][]string{}
	for _, dc := range registered {
		c, rest, err := root.Find([]string{dc.Domain, dc.Name})
		if err != nil || len(rest) != 0 || c.Name() != dc.Name || c.Parent().Name() != dc.Domain || c.Short != dc.Short {
			t.Errorf("tandem %s %s: found %q (%v, rest %q)", dc.Domain, dc.Name, c.CommandPath(), err, rest)
		}
		groups[dc.Domain] = append(groups[dc.Domain], dc.Name)
	}
	for dom, names := range groups {
		line := helpLine(help.String(), dom)
		if !strings.Contains(line, strings.Join(names, ", ")) {
			t.Errorf("tandem --help lists %s as %q, want its commands %q", dom, line, names)
		}
	}
	for _, g := range domainCmds() {
		for _, c := range g.Commands() {
			if !slices.Contains(groups[g.Name()], c.Name()) {
				t.Errorf("tandem %s %s is in the tree but no domain of the app registers it", g.Name(), c.Name())
			}
		}
	}
	if names := groups["matching"]; !slices.Contains(names, "backfill-shops") || !slices.Contains(names, "rebuild") {
		t.Errorf("matching's commands: %q", names)
	}
}

// helpLine is the line of the root help that lists the command name.
func helpLine(help, name string) string {
	for _, l := range strings.Split(help, "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[0] == name {
			return l
		}
	}
	return ""
}

// The shops an existing deployment had before merchant published its leads reach
// matching's record through `tandem matching backfill-shops`: every lead (live ones with
// their merchant and their owner's member), matched like the events' (a manager's
// similar-name override waits for review). Running it again, and the lead events
// arriving after it, change nothing.
func TestShopBackfillRecordsEveryShopOnceCommand(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	_, as := demoStaff(t, a)
	rep := as("sh1.rep")
	if _, err := merchant.Demo(ctx, a.merchant, merchant.DemoActors{Rep: rep, Signer: rep, Reviewer: as("reviewer")}); err != nil {
		t.Fatal(err)
	}
	first, err := a.merchant.CreateLead(ctx, rep, merchant.NewLead{Name: "老王小笼包 人民广场店", Category: "restaurant", Address: "人民广场",
		Lat: 31.2304, Lng: 121.4737, Phone: "13900007101", City: "上海"})
	if err != nil {
		t.Fatal(err)
	}
	twin, err := a.merchant.CreateLead(ctx, as("sh1.lead"), merchant.NewLead{Name: "老王小笼包 人民广场", Category: "restaurant", Address: "人民广场",
		Lat: 31.2305, Lng: 121.4737, Phone: "13900007102", City: "上海", OverrideReason: "a second counter of the same shop"})
	if err != nil {
		t.Fatal(err)
	}
	// The owner of a live shop is a member (by the lead's phone).
	var ownerPhone string
	var liveMerchant uuid.UUID
	if err := a.db.QueryRow(ctx, `SELECT l.phone, m.id FROM merchant.leads l JOIN merchant.merchants m ON m.lead_id = l.id ORDER BY m.id LIMIT 1`).
		Scan(&ownerPhone, &liveMerchant); err != nil {
		t.Fatal(err)
	}
	owner, _, err := a.consumer.Join(ctx, consumer.JoinRequest{AppID: "wx-backfill", OpenID: "o-backfill-owner", Phone: ownerPhone})
	if err != nil {
		t.Fatal(err)
	}
	var leads, live int
	if err := a.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM merchant.leads), (SELECT count(*) FROM merchant.merchants)`).Scan(&leads, &live); err != nil {
		t.Fatal(err)
	}
	if live < 2 {
		t.Fatalf("set-up: %d live merchants", live)
	}

	backfill := func() string {
		t.Helper()
		root := rootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs([]string{"matching", "backfill-shops", "--page-size", "3", "--database-url", a.cfg.DatabaseURL,
			"--redis-url", a.cfg.RedisURL, "--wxpay-keys", a.cfg.WxpayKeys, "--log-level", "error"})
		if err := root.ExecuteContext(ctx); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	state := func() string { // everything matching keeps of shops, as text
		t.Helper()
		var s string
		if err := a.db.QueryRow(ctx, `SELECT concat_ws(' | ',
			(SELECT string_agg(concat_ws(',', lead_id, merchant_id, origin, name, phone, licence_no, lat, lng, archived, seen_at), ';' ORDER BY lead_id) FROM matching.shops),
			(SELECT string_agg(concat_ws(',', id, a, b, confidence, evidence::text, state), ';' ORDER BY a, b) FROM matching.shop_matches),
			(SELECT string_agg(concat_ws(',', merchant_id, consumer_id, state), ';' ORDER BY merchant_id) FROM matching.owner_links))`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := state(); s != "" {
		t.Fatalf("matching knows shops before the backfill: %s", s)
	}
	out := backfill()
	var shops, withMerchant int
	if err := a.db.QueryRow(ctx, `SELECT count(*), count(merchant_id) FROM matching.shops`).Scan(&shops, &withMerchant); err != nil {
		t.Fatal(err)
	}
	if shops != leads || withMerchant != live || !strings.Contains(out, "shops recorded: "+strconv.Itoa(leads)+" ("+strconv.Itoa(live)+" live)") {
		t.Fatalf("after the backfill: %d shops (%d live), merchant has %d leads (%d live); it printed %q", shops, withMerchant, leads, live, out)
	}
	queue, err := a.matching.ListShopMatches(ctx, identity.System(), matching.LinkReview, 50)
	if err != nil {
		t.Fatal(err)
	}
	if len(queue) != 1 || shopPair(queue[0].A, queue[0].B) != shopPair(first.ID, twin.ID) {
		t.Fatalf("the shop queue after the backfill: %+v", queue)
	}
	owned, err := a.matching.ShopsOwnedBy(ctx, identity.System(), owner.ID)
	if err != nil || len(owned) != 1 || owned[0].MerchantID != liveMerchant || owned[0].State != matching.LinkLinked {
		t.Fatalf("the owner's shops after the backfill: %+v %v", owned, err)
	}

	once := state()
	backfill()
	if again := state(); again != once {
		t.Fatalf("a second backfill changed matching's shops:\n%s\n%s", once, again)
	}
	deliverTopics(t, a, events.TopicLeadCreated, events.TopicLeadEdited, events.TopicLeadArchived, events.TopicLeadsImported, events.TopicMerchantLive)
	if after := state(); after != once {
		t.Fatalf("the lead events after the backfill changed matching's shops:\n%s\n%s", once, after)
	}
}
