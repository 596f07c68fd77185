package merchant_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/events"
)

// An import is made leads in chunks, each committed on its own on two connections; a
// runner stopped between chunks (its context cancelled, or its connections
// terminated) leaves the import queued with the chunks it committed, and the next run
// goes on from there: every valid row becomes a lead exactly once, with one event, and
// every refused row is reported once. A row like an earlier row of another chunk (the
// same phone, a similar name nearby) is refused naming that row, as in one chunk.
func TestImportResumedFromItsLastChunk(t *testing.T) {
	t.Parallel()
	for _, stop := range []string{"cancel", "terminate"} {
		t.Run(stop, func(t *testing.T) {
			t.Parallel()
			w, _ := poolWorld(t, merchant.Config{ImportChunkRows: 3})
			rep := w.p(t, "sh1.rep")
			must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, "hz1.rep"), shop("13900009999")))
			var b strings.Builder
			b.WriteString("name,phone,category,city,address,lat,lng\n")
			want := map[int]string{} // refused rows: their column
			for i := range 30 {
				row := i + 2
				name, phone, lat := fmt.Sprintf("店%02d号", i), fmt.Sprintf("139%08d", 7000+i), 30+float64(i)*0.1
				switch row {
				case 20: // the phone of row 3 (another chunk)
					phone, want[row] = fmt.Sprintf("139%08d", 7001), "phone"
				case 25: // a similar name 30 m from row 4 (another chunk)
					name, lat, want[row] = "店02号", 30+0.2+0.0003, "name"
				case 11: // the database's
					phone, want[row] = "13900009999", "phone"
				case 14: // bad phone
					phone, want[row] = "12345", "phone"
				}
				fmt.Fprintf(&b, "%s,%s,餐饮,上海,某路%d号,%.5f,121.0\n", name, phone, i, lat)
			}
			ctx, cancel := context.WithCancel(w.ctx)
			defer cancel()
			var once sync.Once
			w.svc.SetAfterImportChunk(func(int) {
				once.Do(func() {
					if stop == "cancel" {
						cancel()
						return
					}
					cancel()
					if _, err := w.db.Exec(w.ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
						t.Error(err)
					}
				})
			})
			if _, err := w.svc.ImportLeads(ctx, rep, merchant.ImportInput{FileName: "chunks.csv"}, strings.NewReader(b.String())); err == nil {
				t.Fatal("the stopped import reports no error")
			}
			w.svc.SetAfterImportChunk(nil)
			var id uuid.UUID
			var state string
			var imported, done int
			if err := w.db.QueryRow(w.ctx, `SELECT id, state, imported, cardinality(chunks_done) FROM merchant.imports`).Scan(&id, &state, &imported, &done); err != nil {
				t.Fatal(err)
			}
			if state != merchant.ImportQueued || done < 1 || done >= 10 || imported < 3 {
				t.Fatalf("after the stop: state %s, %d imported, %d chunks done", state, imported, done)
			}
			if n := must[int](t)(w.svc.RunImports(w.ctx)); n != 1 {
				t.Fatalf("resumed %d imports", n)
			}
			r := must[merchant.ImportReport](t)(w.svc.GetImport(w.ctx, rep, id))
			if r.State != merchant.ImportDone || r.TotalRows != 30 || r.Imported != 30-len(want) || len(r.Problems) != len(want) || r.Error != "" {
				t.Fatalf("report: %+v", r)
			}
			for _, p := range r.Problems {
				if want[p.Row] != p.Column {
					t.Fatalf("problem %+v, want column %q", p, want[p.Row])
				}
			}
			if r.Problems[2].Reason != "the same phone as row 3" || r.Problems[3].Reason != "a similar name close to row 4" {
				t.Fatalf("a row like a row of another chunk: %+v", r.Problems)
			}
			var leads, phones, staged int
			if err := w.db.QueryRow(w.ctx, `SELECT count(*), count(DISTINCT phone), (SELECT count(*) FROM merchant.import_staged)
FROM merchant.leads WHERE phone_raw LIKE '139%'`).Scan(&leads, &phones, &staged); err != nil {
				t.Fatal(err)
			}
			if leads != 30-len(want)+1 || phones != leads || staged != 0 {
				t.Fatalf("%d leads, %d phones, %d rows left staged", leads, phones, staged)
			}
			seen := map[uuid.UUID]int{}
			for _, e := range outboxPayloads[events.LeadsImported](t, w, events.TopicLeadsImported) {
				for _, l := range e.Leads {
					seen[l.LeadID]++
				}
			}
			if len(seen) != r.Imported {
				t.Fatalf("%d leads published, %d imported", len(seen), r.Imported)
			}
			for l, n := range seen {
				if n != 1 {
					t.Fatalf("lead %s published %d times", l, n)
				}
			}
		})
	}
}
