package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// deliverTopics hands every event of topics in the outbox, oldest first, to matching's
// subscribers of it, twice (delivery is at least once).
func deliverTopics(t *testing.T, a *app, topics ...events.Topic) int {
	t.Helper()
	ctx := context.Background()
	names := make([]string, len(topics))
	for i, tp := range topics {
		names[i] = string(tp)
	}
	rows, err := a.db.Query(ctx, `SELECT id, topic, aggregate_key, payload FROM platform.outbox WHERE topic = ANY($1) ORDER BY id`, names)
	if err != nil {
		t.Fatal(err)
	}
	var es []events.Envelope
	for rows.Next() {
		var e events.Envelope
		var payload []byte
		if err := rows.Scan(&e.ID, &e.Topic, &e.Key, &payload); err != nil {
			t.Fatal(err)
		}
		e.Payload, e.OccurredAt = json.RawMessage(payload), time.Now()
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		for _, s := range a.matching.Subscriptions() {
			if s.Topic != e.Topic {
				continue
			}
			for range 2 {
				if err := outbox.Run(ctx, a.db, s, e); err != nil {
					t.Fatalf("%s on %s: %v", s.Subscriber, e.Topic, err)
				}
			}
		}
	}
	return len(es)
}

// Leads entered and imported in merchant reach matching's shop record through the
// outbox and are matched with each other by lead dedup's signals: a manager's
// similar-name override of a lead, and of an imported lead, wait for review.
func TestLeadsAndImportsMatchedAsShops(t *testing.T) {
	t.Parallel()
	a := testApp(t)
	ctx := context.Background()
	_, as := demoStaff(t, a)
	rep, lead := as("sh1.rep"), as("sh1.lead")
	first, err := a.merchant.CreateLead(ctx, rep, merchant.NewLead{Name: "老王小笼包 人民广场店", Category: "restaurant", Address: "人民广场",
		Lat: 31.2304, Lng: 121.4737, Phone: "13900007001", City: "上海"})
	if err != nil {
		t.Fatal(err)
	}
	twin, err := a.merchant.CreateLead(ctx, lead, merchant.NewLead{Name: "老王小笼包 人民广场", Category: "restaurant", Address: "人民广场",
		Lat: 31.2305, Lng: 121.4737, Phone: "13900007002", City: "上海", OverrideReason: "a second counter of the same shop"})
	if err != nil {
		t.Fatal(err)
	}
	csv := "name,phone,category,city,lat,lng\n星巴克 福州路,13900007003,cafe,上海,31.2350,121.4800\n"
	if _, err := a.merchant.ImportLeads(ctx, rep, merchant.ImportInput{FileName: "shops.csv"}, strings.NewReader(csv)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.merchant.RunImports(ctx); err != nil {
		t.Fatal(err)
	}
	imported, err := a.merchant.CreateLead(ctx, lead, merchant.NewLead{Name: "星巴克 福州路店", Category: "cafe", Address: "福州路",
		Lat: 31.2351, Lng: 121.4800, Phone: "13900007004", City: "上海", OverrideReason: "a kiosk beside it"})
	if err != nil {
		t.Fatal(err)
	}
	if n := deliverTopics(t, a, events.TopicLeadCreated, events.TopicLeadEdited, events.TopicLeadArchived, events.TopicLeadsImported); n != 4 {
		t.Fatalf("%d lead events, want 3 creates and 1 import", n)
	}
	queue, err := a.matching.ListShopMatches(ctx, identity.System(), matching.LinkReview, 50)
	if err != nil {
		t.Fatal(err)
	}
	var leads, withImport bool
	for _, m := range queue {
		leads = leads || (shopPair(m.A, m.B) == shopPair(first.ID, twin.ID) && shopKinds(m) == "lead+lead")
		withImport = withImport || ((m.A == imported.ID || m.B == imported.ID) && shopKinds(m) == "import+lead")
	}
	if !leads || !withImport || len(queue) != 2 {
		t.Fatalf("the shop queue: %+v", queue)
	}
}

func shopPair(x, y uuid.UUID) [2]uuid.UUID {
	if x.String() > y.String() {
		x, y = y, x
	}
	return [2]uuid.UUID{x, y}
}

func shopKinds(m matching.ShopMatch) string {
	if m.AKind < m.BKind {
		return m.AKind + "+" + m.BKind
	}
	return m.BKind + "+" + m.AKind
}
