package consumer_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
)

func (w *world) staff(t *testing.T, login string) *identity.Principal {
	t.Helper()
	demo, err := w.ids.SeedDemo(w.ctx, "Tandem-demo-2025")
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.ids.Principal(w.ctx, demo.Users[login])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMember360SearchProfileLabelsAndTags(t *testing.T) {
	t.Parallel()
	w, _ := newWorldAt(t, sh(2026, 6, 1, 10))
	growth := w.staff(t, "growth")
	id := w.join(t, "o-360")
	other, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: "o-360b", Phone: "13700001111"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.svc.SetProfile(w.ctx, growth, id, consumer.Profile{Name: "李雷", Gender: "male", Birthday: "1995-07-01", City: "上海"}); err != nil {
		t.Fatal(err)
	}
	if e := errs.As(w.svc.SetProfile(w.ctx, growth, id, consumer.Profile{Gender: "x"})); e == nil || e.Field != "gender" {
		t.Fatalf("a bad gender: %v", e)
	}
	for q, want := range map[string]uuid.UUID{"李": id, "1391": id, "5678": id, "1370000": other.ID, id.String(): id} {
		ms, err := w.svc.SearchMembers(w.ctx, growth, consumer.MemberSearch{Query: q}, 10)
		if err != nil || len(ms) != 1 || ms[0].ID != want {
			t.Fatalf("search %q: %+v, %v", q, ms, err)
		}
	}
	if err := w.svc.AddTag(w.ctx, growth, id, "VIP"); err != nil {
		t.Fatal(err)
	}
	res, err := w.svc.ImportTags(w.ctx, growth, "春节活动", "cny.csv", []string{"13912345678", other.ID.String(), "13000000000", ""})
	if err != nil || res.Tagged != 2 || len(res.Unknown) != 1 || res.Unknown[0] != "13000000000" {
		t.Fatalf("import: %+v, %v", res, err)
	}
	if n, err := w.svc.TagByRule(w.ctx, "高价值", "segment:1", []uuid.UUID{id, id}); err != nil || n != 1 {
		t.Fatalf("rule tag: %d, %v", n, err)
	}
	// A tag's members, alone or with a search: what the tags page links to.
	for search, want := range map[consumer.MemberSearch][]uuid.UUID{
		{Tag: "春节活动"}: {other.ID, id}, {Tag: "VIP"}: {id}, {Query: "李", Tag: "春节活动"}: {id}, {Query: "李", Tag: "高价值"}: {id},
		{Query: "1370000", Tag: "VIP"}: nil, {Tag: "nobody has it"}: nil,
	} {
		ms, err := w.svc.SearchMembers(w.ctx, growth, search, 10)
		got := make([]uuid.UUID, len(ms))
		for i, m := range ms {
			got[i] = m.ID
		}
		slices.SortFunc(got, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		slices.SortFunc(want, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("search %+v: %v, want %v (%v)", search, got, want, err)
		}
	}
	m, err := w.svc.Member360(w.ctx, growth, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Tags) != 3 || m.Tags[0].Source != consumer.TagManual || m.Tags[0].AddedBy != "growth" || m.Tags[1].SourceRef != "cny.csv" || m.Tags[2].Source != consumer.TagRule {
		t.Fatalf("tags %+v", m.Tags)
	}
	want := []consumer.Label{{Key: "gender", Value: "male"}, {Key: "city", Value: "上海"}, {Key: "age_band", Value: "25-34"}}
	if len(m.Labels) != 3 || m.Labels[0] != want[0] || m.Labels[1] != want[1] || m.Labels[2] != want[2] {
		t.Fatalf("labels %+v", m.Labels)
	}
	if err := w.svc.RemoveTag(w.ctx, growth, id, "VIP"); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.RemoveTag(w.ctx, growth, id, "VIP"); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("removing twice: %v", err)
	}
	if tags, _ := w.svc.MemberTags(w.ctx, id); len(tags) != 2 {
		t.Fatalf("after removal: %+v", tags)
	}
	if err := w.svc.AddTag(w.ctx, w.staff(t, "sh1.rep"), id, "x"); errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("a rep tags a member: %v", err)
	}
}

func TestLiabilityReport(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 1, 5, 10))
	growth := w.staff(t, "growth")
	a := w.join(t, "o-l1")
	mb, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: "o-l2", Phone: "13600002222"})
	if err != nil {
		t.Fatal(err)
	}
	b := mb.ID
	for _, c := range []struct {
		id  uuid.UUID
		pts int64
	}{{a, 100}, {b, 50}} {
		if _, err := w.svc.CreditPoints(w.ctx, consumer.CreditRequest{ConsumerID: c.id, Points: c.pts, SourceKey: uuid.NewString(), Reason: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(40 * 24 * time.Hour)
	if _, err := w.svc.CreditForPayment(w.ctx, consumer.Payment{OrderID: uuid.New(), ConsumerID: a, AmountFen: 2000}); err != nil {
		t.Fatal(err)
	}
	l, err := w.svc.Liability(w.ctx, growth)
	if err != nil {
		t.Fatal(err)
	}
	if l.Outstanding != 150 || l.Pending != 20 || l.Members != 2 || len(l.ByMonth) != 2 ||
		l.ByMonth[0] != (consumer.LiabilityMonth{Month: "2027-01", Points: 150, Members: 2}) || l.ByMonth[1].Points != 20 {
		t.Fatalf("liability %+v", l)
	}
}

// A member's entries read newest first by when they happened, whatever order they
// were written in (the demo back-dates a member's history): on the 360, to the member
// and page by page through the staff API's cursor, each entry once, ties by id.
func TestEntriesAreInTimeOrderAndPageStably(t *testing.T) {
	t.Parallel()
	w, clk := newWorldAt(t, sh(2026, 6, 10, 10))
	growth := w.staff(t, "growth")
	id := w.join(t, "o-ledger")
	written := map[string]time.Time{ // in the order written
		"june 10": sh(2026, 6, 10, 10), "june 1": sh(2026, 6, 1, 10), "june 5 a": sh(2026, 6, 5, 10), "june 5 b": sh(2026, 6, 5, 10),
	}
	for _, reason := range []string{"june 10", "june 1", "june 5 a", "june 5 b"} {
		clk.Freeze(written[reason])
		if _, err := w.svc.Adjust(w.ctx, growth, id, 10, reason, reason); err != nil {
			t.Fatal(err)
		}
	}
	clk.Freeze(sh(2026, 6, 11, 10))
	want := []string{"june 10", "june 5 b", "june 5 a", "june 1"}
	reasons := func(es []consumer.Entry) []string {
		out := make([]string, len(es))
		for i, e := range es {
			out[i] = e.Reason
		}
		return out
	}
	m, err := w.svc.Member360(w.ctx, growth, id)
	if err != nil || !slices.Equal(reasons(m.Entries), want) {
		t.Fatalf("the 360's entries: %v, want %v (%v)", reasons(m.Entries), want, err)
	}
	if mine, err := w.svc.MyLedger(w.ctx, id, uuid.Nil, 10); err != nil || !slices.Equal(reasons(mine), want) {
		t.Fatalf("the member's own entries: %v, want %v (%v)", reasons(mine), want, err)
	}
	var paged []string
	before := uuid.Nil
	for range 5 {
		page, err := w.svc.Ledger(w.ctx, growth, id, before, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, reasons(page)...)
		before = page[len(page)-1].ID
	}
	if !slices.Equal(paged, want) {
		t.Fatalf("paged by 2: %v, want %v", paged, want)
	}
	other, _, err := w.svc.Join(w.ctx, consumer.JoinRequest{AppID: appID, OpenID: "o-ledger-2", Phone: "13700002222"})
	if err != nil {
		t.Fatal(err)
	}
	if page, err := w.svc.Ledger(w.ctx, growth, other.ID, m.Entries[0].ID, 10); err != nil || len(page) != 0 {
		t.Fatalf("a cursor from another member's entries: %v, %v", page, err)
	}
}
