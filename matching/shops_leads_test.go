package matching_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
)

// dedupRules plays merchant's lead dedup thresholds.
type dedupRules struct{ radius, similarity float64 }

func (d dedupRules) DedupThresholds() (float64, float64) { return d.radius, d.similarity }

// Leads entered, imported and live merchants are one record of shops, matched with one
// another by lead dedup's signals and thresholds: a lead and an imported lead alike
// nearby wait for review, and are linked once the lead goes live with the other's
// licence; a lost lead is shown as lost; an older event arriving late changes nothing;
// redelivery changes nothing.
func TestShopsMatchedAcrossLeadsImportsAndMerchants(t *testing.T) {
	t.Parallel()
	w, _, as := staffWorld(t)
	// merchant's radius is 300 m here: a pair 250 m apart is matched by it.
	svc := matching.New(domain.Deps{DB: w.db}, matching.Ports{Dedup: dedupRules{300, 0.5}}, matching.Config{})
	t0 := time.Now().Add(-time.Hour).UTC()
	lead := func(name, phone, licence string, lat float64, at time.Time) events.LeadChanged {
		return events.LeadChanged{LeadID: uuid.Must(uuid.NewV7()), Name: name, Category: "restaurant", City: "上海", Lat: lat, Lng: 121.4737,
			Phone: phone, LicenceNo: licence, At: at}
	}
	entered := lead("老王小笼包 人民广场店", "+8613900000001", "", 31.2304, t0)
	imported := lead("老王小笼包 人民广场", "+862162880001", "91310000MA1FL0001X", 31.2306, t0) // ~20 m
	farther := lead("老王小笼包 人民广场店", "+8613900000003", "", 31.2304+0.00225, t0)          // ~250 m
	lost := lead("星巴克 福州路", "+8613900000004", "", 31.10, t0)
	lostTwin := lead("星巴克 福州路", "+8613900000005", "", 31.1001, t0)
	for range 2 { // redelivered
		w.must(svc.RecordLead(w.ctx, entered))
		w.must(svc.RecordImportedLeads(w.ctx, events.LeadsImported{ImportID: uuid.Must(uuid.NewV7()), Leads: []events.LeadChanged{imported, farther}}))
	}
	p := as("admin")
	pairs := func() map[[2]uuid.UUID]matching.ShopMatch {
		t.Helper()
		all, err := svc.ListShopMatches(w.ctx, p, "", 50)
		w.must(err)
		out := map[[2]uuid.UUID]matching.ShopMatch{}
		for _, m := range all {
			out[[2]uuid.UUID{m.A, m.B}] = m
		}
		return out
	}
	pair := func(ms map[[2]uuid.UUID]matching.ShopMatch, x, y uuid.UUID) (matching.ShopMatch, bool) {
		if x.String() > y.String() {
			x, y = y, x
		}
		m, ok := ms[[2]uuid.UUID{x, y}]
		return m, ok
	}
	ms := pairs()
	if len(ms) != 3 {
		t.Fatalf("%d pairs among three alike shops: %+v", len(ms), ms)
	}
	m, _ := pair(ms, entered.LeadID, imported.LeadID)
	if m.State != matching.LinkReview || m.Automatic || !kinds(m, matching.ShopLead, matching.ShopImport) || m.AMerchant != nil {
		t.Errorf("a lead and an imported lead alike nearby: %+v", m)
	}
	if m, ok := pair(ms, entered.LeadID, farther.LeadID); !ok || m.State != matching.LinkReview {
		t.Errorf("250 m apart within merchant's 300 m: %+v %v", m, ok)
	}

	// The entered lead goes live with the imported lead's licence: two signals agree.
	merchant := uuid.Must(uuid.NewV7())
	w.must(svc.RecordShop(w.ctx, events.MerchantLive{MerchantID: merchant, LeadID: entered.LeadID, Name: entered.Name, Category: "restaurant",
		Lat: entered.Lat, Lng: entered.Lng, OwnerPhone: entered.Phone, LicenceNo: "91310000MA1FL0001X", LiveAt: t0.Add(time.Minute)}))
	m, _ = pair(pairs(), entered.LeadID, imported.LeadID)
	if m.State != matching.LinkLinked || !m.Automatic || m.Confidence < matching.AutoMergeAbove || !kinds(m, matching.ShopMerchant, matching.ShopImport) {
		t.Errorf("after the lead went live with the same licence: %+v", m)
	}
	if mid := m.AMerchant; m.A != entered.LeadID {
		mid = m.BMerchant
		if mid == nil || *mid != merchant {
			t.Errorf("the live shop's merchant: %+v", m)
		}
	} else if mid == nil || *mid != merchant {
		t.Errorf("the live shop's merchant: %+v", m)
	}

	// A lead edited late with older facts changes nothing; the lost lead shows as lost.
	stale := entered
	stale.Name, stale.At = "完全不同的名字", t0.Add(-time.Hour)
	w.must(svc.RecordLead(w.ctx, stale))
	w.must(svc.RecordLead(w.ctx, lostTwin))
	lost.Archived, lost.At = true, t0.Add(time.Minute)
	w.must(svc.RecordLead(w.ctx, lost))
	ms = pairs()
	if m, _ := pair(ms, entered.LeadID, imported.LeadID); m.AName == stale.Name || m.BName == stale.Name {
		t.Errorf("an older edit arriving late renamed the shop: %+v", m)
	}
	if m, ok := pair(ms, lost.LeadID, lostTwin.LeadID); !ok || !kinds(m, matching.ShopLost, matching.ShopLead) {
		t.Errorf("a lost lead and its twin: %+v %v", m, ok)
	}
	if len(ms) != 4 {
		t.Errorf("%d pairs, want 4", len(ms))
	}
}

// kinds says whether m pairs a shop of kind x with one of kind y, in either order.
func kinds(m matching.ShopMatch, x, y string) bool {
	return (m.AKind == x && m.BKind == y) || (m.AKind == y && m.BKind == x)
}
