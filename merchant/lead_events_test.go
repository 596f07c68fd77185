package merchant_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/events"
)

// outboxPayloads are the payloads published under topic, oldest first.
func outboxPayloads[T any](t *testing.T, w *world, topic events.Topic) []T {
	t.Helper()
	rows, err := w.db.Query(w.ctx, "SELECT payload FROM platform.outbox WHERE topic = $1 ORDER BY id", string(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var raw []byte
		var v T
		if err := rows.Scan(&raw); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// Every change of what identifies a lead as a shop is published with the change: a
// create, an edit, a move to lost and back, and an import (one event per batch, the
// leads in the file's order); a refused create publishes nothing.
func TestLeadsArePublishedAsShops(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	rep := w.p(t, "sh1.rep")
	in := shop("13900005001")
	in.LicenceNo = "91350100M000100Y43"
	l := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, in))
	if _, err := w.svc.CreateLead(w.ctx, rep, shop("13900005001")); err == nil {
		t.Fatal("a duplicate was created")
	}
	created := outboxPayloads[events.LeadChanged](t, w, events.TopicLeadCreated)
	if len(created) != 1 || created[0].LeadID != l.ID || created[0].Phone != "+8613900005001" ||
		created[0].LicenceNo != "91350100M000100Y43" || created[0].Lat != in.Lat || created[0].Archived || created[0].At.IsZero() {
		t.Fatalf("created: %+v", created)
	}

	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, l.ID))
	name := "测试店 改名"
	must[merchant.Lead](t)(w.svc.EditLead(w.ctx, rep, l.ID, merchant.LeadPatch{Name: &name}))
	must[merchant.Lead](t)(w.svc.MoveStage(w.ctx, rep, l.ID, merchant.StageLost, "closed for good"))
	must[merchant.Lead](t)(w.svc.MoveStage(w.ctx, rep, l.ID, merchant.StageLead, "reopened"))
	edited := outboxPayloads[events.LeadChanged](t, w, events.TopicLeadEdited)
	archived := outboxPayloads[events.LeadChanged](t, w, events.TopicLeadArchived)
	if len(edited) != 2 || edited[0].Name != name || edited[1].Archived || len(archived) != 1 || !archived[0].Archived || archived[0].Name != name {
		t.Fatalf("edited %+v, archived %+v", edited, archived)
	}

	// An import of 1,002 shops and one refused row: two events.
	var csv strings.Builder
	csv.WriteString("name,phone,category,city,lat,lng\n")
	fmt.Fprintf(&csv, "Dup,13900005001,cafe,上海,30.0,120.0\n")
	for i := range 1002 {
		fmt.Fprintf(&csv, "Shop %d,139%08d,cafe,上海,%f,121.4\n", i, 10000+i, 30.0+float64(i)*0.01)
	}
	r := must[merchant.ImportReport](t)(w.svc.ImportLeads(w.ctx, rep, merchant.ImportInput{FileName: "shops.csv"}, strings.NewReader(csv.String())))
	if r.Imported != 1002 {
		t.Fatalf("import: %+v", r)
	}
	batches := outboxPayloads[events.LeadsImported](t, w, events.TopicLeadsImported)
	if len(batches) != 2 || batches[0].ImportID != r.ID || len(batches[0].Leads) != events.LeadsImportedBatch || batches[1].Batch != 1 ||
		len(batches[1].Leads) != 2 || batches[0].Leads[0].Name != "Shop 0" || batches[1].Leads[1].Name != "Shop 1001" {
		t.Fatalf("import batches: %d, %+v", len(batches), batches[len(batches)-1])
	}
	seen := map[uuid.UUID]bool{}
	for _, b := range batches {
		for _, l := range b.Leads {
			if l.LeadID == uuid.Nil || l.Phone == "" || l.City != "上海" || l.Category != "cafe" || l.Lng != 121.4 || l.At.IsZero() || seen[l.LeadID] {
				t.Fatalf("imported lead %+v", l)
			}
			seen[l.LeadID] = true
		}
	}
	if rt, lo := w.svc.DedupThresholds(); rt != 200 || lo != 0.5 {
		t.Fatalf("dedup thresholds %v %v", rt, lo)
	}
}
