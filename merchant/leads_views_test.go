package merchant_test

import (
	"bytes"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/tandemcrm/tandem/merchant"
)

// A saved view is its user's own, keeps filters and sort (checked as the list checks
// them), and lists what its user may see; the export streams an Excel workbook of the
// same leads.
func TestSavedViewsSortAndExcelExport(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	rep := w.p(t, "sh1.rep")
	ls := leads(t, w, "sh1.rep", 400, 3)
	for i, name := range []string{"乙 B", "甲 A", "丙 C"} {
		must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, ls[i].ID))
		n := name
		must[merchant.Lead](t)(w.svc.EditLead(w.ctx, rep, ls[i].ID, merchant.LeadPatch{Name: &n}))
	}
	_, err := w.svc.SaveView(w.ctx, rep, "bad", merchant.ViewFilters{Sort: "phone"})
	if e := wantCode(t, err, "invalid_input"); e.Field != "sort" {
		t.Fatalf("field %q", e.Field)
	}
	v := must[merchant.SavedView](t)(w.svc.SaveView(w.ctx, rep, "mine by name", merchant.ViewFilters{Held: true, Sort: "-name"}))
	again := must[merchant.SavedView](t)(w.svc.SaveView(w.ctx, rep, "mine by name", merchant.ViewFilters{Held: true, Sort: "name"}))
	if again.ID != v.ID || len(must[[]merchant.SavedView](t)(w.svc.SavedViews(w.ctx, rep))) != 1 {
		t.Fatal("a view of the same name is not replaced")
	}
	if _, err := w.svc.GetView(w.ctx, w.p(t, "sh2.rep"), v.ID); err == nil {
		t.Fatal("another rep opens the view")
	}
	f := must[merchant.SavedView](t)(w.svc.GetView(w.ctx, rep, v.ID)).Filters.Filter()
	f.Limit = 2
	page, next, err := w.svc.ListLeads(w.ctx, rep, f)
	if err != nil || len(page) != 2 || page[0].Name != "丙 C" && page[0].Name != "乙 B" && page[0].Name != "甲 A" {
		t.Fatalf("page 1: %v %v", page, err)
	}
	f.After = next
	rest, _, _ := w.svc.ListLeads(w.ctx, rep, f)
	names := []string{page[0].Name, page[1].Name, rest[0].Name}
	if names[0] > names[1] || names[1] > names[2] {
		t.Fatalf("not sorted by name over pages: %v", names)
	}
	var buf bytes.Buffer
	err = merchant.WriteXLSX(&buf, []string{"name"}, func(row func([]string) error) error {
		return w.svc.EachLead(w.ctx, rep, merchant.LeadFilter{HeldOnly: true, Sort: "name"}, func(l merchant.Lead) error { return row([]string{l.Name}) })
	})
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := x.GetRows("Sheet1")
	if len(rows) != 4 || rows[0][0] != "name" || rows[1][0] != names[0] {
		t.Fatalf("workbook: %v", rows)
	}
	if err := w.svc.DeleteView(w.ctx, w.p(t, "sh2.rep"), v.ID); err == nil {
		t.Fatal("another rep deletes the view")
	}
	if err := w.svc.DeleteView(w.ctx, rep, v.ID); err != nil {
		t.Fatal(err)
	}
}
