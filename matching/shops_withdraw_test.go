package matching_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
)

// A pair of shops waiting for review is withdrawn when an edit takes away the evidence
// that put it there (the name is no longer alike, the shop moved away, the phone or the
// licence changed), and waits again when the evidence comes back; a pair a reviewer
// decided stays decided whatever the edits.
func TestShopPairWithdrawnWhenAnEditRemovesItsEvidence(t *testing.T) {
	t.Parallel()
	w, _, as := staffWorld(t)
	svc := matching.New(domain.Deps{DB: w.db}, matching.Ports{Dedup: dedupRules{200, 0.5}}, matching.Config{})
	p := as("admin")
	t0 := time.Now().Add(-time.Hour).UTC()
	lead := func(name, phone, licence string, lat float64) events.LeadChanged {
		return events.LeadChanged{LeadID: uuid.Must(uuid.NewV7()), Name: name, Category: "restaurant", City: "上海", Lat: lat, Lng: 121.4737,
			Phone: phone, LicenceNo: licence, At: t0}
	}
	edit := func(l *events.LeadChanged, change func(*events.LeadChanged)) {
		t.Helper()
		change(l)
		l.At = l.At.Add(time.Minute)
		for range 2 { // redelivered
			w.must(svc.RecordLead(w.ctx, *l))
		}
	}
	state := func(x, y uuid.UUID) string {
		t.Helper()
		all, err := svc.ListShopMatches(w.ctx, p, "", 50)
		w.must(err)
		for _, m := range all {
			if (m.A == x && m.B == y) || (m.A == y && m.B == x) {
				if (m.State == matching.LinkWithdrawn) != (m.DecidedBy == "matching" && m.DecidedAt != nil) {
					t.Errorf("a withdrawn pair says who and when, and only it: %+v", m)
				}
				return m.State
			}
		}
		return "none"
	}
	named := lead("老王小笼包 人民广场店", "+8613900000101", "", 31.2304)
	namedTwin := lead("老王小笼包 人民广场", "+8613900000102", "", 31.2305)
	phoned := lead("福州路咖啡", "+8613900000103", "", 31.20)
	phonedTwin := lead("南京路面馆", "+8613900000103", "", 31.10)
	licensed := lead("徐家汇甜品", "+8613900000105", "91310000MA1FL0005X", 31.30)
	licensedTwin := lead("漕溪北路糕点", "+8613900000106", "91310000MA1FL0005X", 31.40)
	decided := lead("静安书店", "+8613900000107", "", 31.25)
	decidedTwin := lead("静安书店 南京西路", "+8613900000108", "", 31.2501)
	w.must(svc.RecordImportedLeads(w.ctx, events.LeadsImported{ImportID: uuid.Must(uuid.NewV7()),
		Leads: []events.LeadChanged{named, namedTwin, phoned, phonedTwin, licensed, licensedTwin, decided, decidedTwin}}))
	for _, pr := range [][2]events.LeadChanged{{named, namedTwin}, {phoned, phonedTwin}, {licensed, licensedTwin}, {decided, decidedTwin}} {
		if st := state(pr[0].LeadID, pr[1].LeadID); st != matching.LinkReview {
			t.Fatalf("%s and %s: %s, want review", pr[0].Name, pr[1].Name, st)
		}
	}
	all, err := svc.ListShopMatches(w.ctx, p, matching.LinkReview, 50)
	w.must(err)
	for _, m := range all {
		if m.A == decided.LeadID || m.B == decided.LeadID {
			_, err := svc.DecideShopMatch(w.ctx, p, m.ID, false)
			w.must(err)
		}
	}

	// The name is no longer alike: withdrawn; alike again: back to review.
	edit(&namedTwin, func(l *events.LeadChanged) { l.Name = "星巴克 福州路" })
	if st := state(named.LeadID, namedTwin.LeadID); st != matching.LinkWithdrawn {
		t.Errorf("after a rename: %s, want withdrawn", st)
	}
	edit(&namedTwin, func(l *events.LeadChanged) { l.Name = "老王小笼包 人民广场" })
	if st := state(named.LeadID, namedTwin.LeadID); st != matching.LinkReview {
		t.Errorf("after the name came back: %s, want review", st)
	}
	// The shop moved 2 km away (the edited one is the other of the pair): withdrawn.
	edit(&named, func(l *events.LeadChanged) { l.Lat += 0.018 })
	if st := state(named.LeadID, namedTwin.LeadID); st != matching.LinkWithdrawn {
		t.Errorf("after a move: %s, want withdrawn", st)
	}
	// The phone changed; the licence changed.
	edit(&phonedTwin, func(l *events.LeadChanged) { l.Phone = "+8613900000104" })
	if st := state(phoned.LeadID, phonedTwin.LeadID); st != matching.LinkWithdrawn {
		t.Errorf("after a phone change: %s, want withdrawn", st)
	}
	edit(&licensed, func(l *events.LeadChanged) { l.LicenceNo = "91310000MA1FL0006X" })
	if st := state(licensed.LeadID, licensedTwin.LeadID); st != matching.LinkWithdrawn {
		t.Errorf("after a licence change: %s, want withdrawn", st)
	}
	// A reviewer's rejection stays, whatever the edits.
	edit(&decidedTwin, func(l *events.LeadChanged) { l.Name = "完全不同" })
	edit(&decidedTwin, func(l *events.LeadChanged) { l.Name = "静安书店 南京西路" })
	if st := state(decided.LeadID, decidedTwin.LeadID); st != matching.LinkRejected {
		t.Errorf("a rejected pair after edits: %s, want rejected", st)
	}
	if q, err := svc.ListShopMatches(w.ctx, p, matching.LinkReview, 50); err != nil || len(q) != 0 {
		t.Errorf("the queue after the edits: %+v %v", q, err)
	}
	if q, err := svc.ListShopMatches(w.ctx, p, matching.LinkWithdrawn, 50); err != nil || len(q) != 3 {
		t.Errorf("the withdrawn pairs: %+v %v", q, err)
	}
}
