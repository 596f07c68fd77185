package merchant_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/storage"
)

// notes records the notifications sent: a port, not our database.
type notes struct {
	mu   sync.Mutex
	sent []uuid.UUID
}

func (n *notes) Notify(_ context.Context, user uuid.UUID, _, _, _ string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, user)
	return nil
}

func (n *notes) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.sent)
}

type fieldWorld struct {
	*world
	approvals *approval.Service
	clk       *clock.Settable
	files     *storage.Local
	notes     *notes
}

// newFieldWorld is a world with local file storage, a recorded notifier and a frozen
// clock (Tuesday 1 December 2026, 10:00 in Shanghai) that tests move.
func newFieldWorld(t *testing.T, cfg merchant.Config) *fieldWorld {
	t.Helper()
	w := newWorld(t, cfg)
	files, err := storage.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewSettable()
	clk.Freeze(time.Date(2026, 12, 1, 10, 0, 0, 0, clock.Shanghai))
	n := &notes{}
	approvals := approval.New(domain.Deps{DB: w.db, Clock: clk})
	w.svc = merchant.New(domain.Deps{DB: w.db, Clock: clk}, merchant.Ports{Owners: w.owners, Files: files, Notify: n,
		Staff: merchant.IdentityStaff{Users: w.ids}, Approvals: approvals}, cfg)
	return &fieldWorld{world: w, approvals: approvals, clk: clk, files: files, notes: n}
}

func jpegPhoto(t *testing.T, shade uint8) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 32, 32))
	// A distinct picture per shade: a bar as wide as the shade, in its colour.
	for x := range int(shade%32) + 1 {
		for y := range 32 {
			img.Set(x, y, color.RGBA{R: shade * 7, G: 255 - shade*3, B: shade, A: 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func executable(t *testing.T) []byte {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 8192)
	n, _ := io.ReadFull(f, b)
	return b[:n]
}

func acc(m float64) *float64 { return &m }

func TestCheckInAccuracySpeedFlagAndCheckOut(t *testing.T) {
	t.Parallel()
	w := newFieldWorld(t, merchant.Config{})
	rep := w.p(t, "sh1.rep")
	a := claimed(t, w.world, "13800001001")
	// Worse than 100 m: refused and nothing kept.
	_, err := w.svc.CheckIn(w.ctx, rep, a.ID, merchant.CheckIn{Lat: a.Lat, Lng: a.Lng, AccuracyM: acc(150)})
	if e := wantCode(t, err, merchant.CodeInaccurate); e.Field != "accuracy_m" {
		t.Fatalf("field %q", e.Field)
	}
	// ~0.005° north is ~556 m: outside 500 m alone, inside with 60 m of reported accuracy.
	_, err = w.svc.CheckIn(w.ctx, rep, a.ID, merchant.CheckIn{Lat: a.Lat + 0.005, Lng: a.Lng, AccuracyM: acc(10)})
	wantCode(t, err, merchant.CodeTooFar)
	v := must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, a.ID, merchant.CheckIn{Lat: a.Lat + 0.005, Lng: a.Lng, AccuracyM: acc(60)}))
	if !v.Accepted || v.Flag != "" || v.AccuracyM == nil || *v.AccuracyM != 60 {
		t.Fatalf("visit %+v", v)
	}
	// A shop ~11 km away five minutes later: kept, flagged too fast.
	b := claimed(t, w.world, "13800001002")
	far := merchant.NewLead{Name: "远店 Far shop", Category: "retail", Address: "浦东", Lat: a.Lat + 0.1, Lng: a.Lng, Phone: "13800001003", City: "上海"}
	c := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, far))
	c = must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, c.ID))
	w.clk.Advance(5 * time.Minute)
	f := must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, c.ID, merchant.CheckIn{Lat: c.Lat, Lng: c.Lng, AccuracyM: acc(15)}))
	if f.Flag != "too_fast" || f.SpeedKmh == nil || *f.SpeedKmh < 120 {
		t.Fatalf("flag %+v", f)
	}
	// Back near the first shop two hours later: ~11 km in 2 h is no flag.
	w.clk.Advance(2 * time.Hour)
	ok := must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, b.ID, merchant.CheckIn{Lat: b.Lat, Lng: b.Lng}))
	if ok.Flag != "" {
		t.Fatalf("a plausible trip flagged: %+v", ok)
	}
	// Check-out: someone else's visit is not found; too far refused; then once.
	_, err = w.svc.CheckOut(w.ctx, w.p(t, "sh2.rep"), ok.ID, b.Lat, b.Lng, nil)
	wantCode(t, err, "merchant.visit_not_found")
	_, err = w.svc.CheckOut(w.ctx, rep, ok.ID, b.Lat+0.01, b.Lng, acc(5))
	wantCode(t, err, merchant.CodeTooFar)
	w.clk.Advance(40 * time.Minute)
	out := must[merchant.Visit](t)(w.svc.CheckOut(w.ctx, rep, ok.ID, b.Lat, b.Lng, acc(5)))
	if out.OutAt == nil || out.OutAt.Sub(ok.At) != 40*time.Minute || out.OutDistanceM == nil {
		t.Fatalf("checked out %+v", out)
	}
	_, err = w.svc.CheckOut(w.ctx, rep, ok.ID, b.Lat, b.Lng, nil)
	wantCode(t, err, merchant.CodeCheckedOut)
	var kept int
	if err := w.db.QueryRow(w.ctx, "SELECT count(*) FROM merchant.visits WHERE accuracy_m = 150").Scan(&kept); err != nil || kept != 0 {
		t.Fatalf("inaccurate check-in kept: %d %v", kept, err)
	}
}

func TestPlansCalendarAndRemindersOnce(t *testing.T) {
	t.Parallel()
	w := newFieldWorld(t, merchant.Config{})
	rep, lead, other := w.p(t, "sh1.rep"), w.p(t, "sh1.lead"), w.p(t, "sh2.rep")
	l := claimed(t, w.world, "13800001101")
	now := w.clk.Now()
	_, err := w.svc.PlanVisit(w.ctx, rep, l.ID, merchant.NewPlan{StartsAt: now.Add(-time.Hour), Minutes: 30, Purpose: "签约"})
	if e := wantCode(t, err, merchant.CodePlanInPast); e.Field != "starts_at" {
		t.Fatal(e)
	}
	_, err = w.svc.PlanVisit(w.ctx, rep, l.ID, merchant.NewPlan{StartsAt: now.Add(time.Hour), Minutes: 1, Purpose: "签约"})
	if errs.As(err).Field != "minutes" {
		t.Fatalf("minutes: %v", err)
	}
	pl := must[merchant.Plan](t)(w.svc.PlanVisit(w.ctx, rep, l.ID, merchant.NewPlan{StartsAt: now.Add(2 * time.Hour), Minutes: 45,
		Purpose: "带合同去签约 bring the contract", RemindMinutes: 30}))
	// Twenty more plans of the week, for the reminders' race below.
	for i := range 20 {
		must[merchant.Plan](t)(w.svc.PlanVisit(w.ctx, rep, l.ID, merchant.NewPlan{StartsAt: now.Add(time.Duration(26+i) * time.Hour),
			Minutes: 30, Purpose: "回访", RemindMinutes: 60}))
	}
	day := must[merchant.Calendar](t)(w.svc.Calendar(w.ctx, rep, merchant.CalendarQuery{}))
	if len(day.Days) != 1 || len(day.Days[0].Plans) != 1 || day.Days[0].Plans[0].ID != pl.ID || day.Days[0].Plans[0].LeadName != l.Name {
		t.Fatalf("rep's day: %+v", day)
	}
	week := must[merchant.Calendar](t)(w.svc.Calendar(w.ctx, lead, merchant.CalendarQuery{Week: true}))
	total := 0
	for _, d := range week.Days {
		total += len(d.Plans)
	}
	if len(week.Days) != 7 || week.Days[0].Date != "2026-11-30" || total != 21 {
		t.Fatalf("team lead's week (from Monday): %d days from %s, %d plans", len(week.Days), week.Days[0].Date, total)
	}
	if cal := must[merchant.Calendar](t)(w.svc.Calendar(w.ctx, other, merchant.CalendarQuery{Week: true})); len(cal.Days[1].Plans) != 0 {
		t.Fatal("another team's rep sees the plans")
	}
	// Not due yet: nothing.
	if n := must[int](t)(w.svc.SendReminders(w.ctx, 100)); n != 0 || w.notes.count() != 0 {
		t.Fatalf("%d reminders before due", n)
	}
	// Four workers at once, after every reminder is due: each goes out once.
	w.clk.Advance(3 * 24 * time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	sent := 0
	for range 4 {
		wg.Go(func() {
			n, err := w.svc.SendReminders(w.ctx, 5)
			for err == nil && n > 0 {
				mu.Lock()
				sent += n
				mu.Unlock()
				n, err = w.svc.SendReminders(w.ctx, 5)
			}
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	todos := must[[]merchant.Todo](t)(w.svc.Todos(w.ctx, rep))
	if sent != 21 || w.notes.count() != 21 || len(todos) != 21 {
		t.Fatalf("sent %d, notified %d, to-dos %d; want 21 each", sent, w.notes.count(), len(todos))
	}
	must[struct{}](t)(struct{}{}, w.svc.DoneTodo(w.ctx, rep, todos[1].ID))
	wantCode(t, w.svc.DoneTodo(w.ctx, other, todos[2].ID), "merchant.todo_not_found")
	// A check-in at the shop on the plan's day fulfils it and closes its to-do.
	w.clk.Set(pl.StartsAt)
	v := must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, l.ID, merchant.CheckIn{Lat: l.Lat, Lng: l.Lng, AccuracyM: acc(8)}))
	if v.PlanID == nil || *v.PlanID != pl.ID {
		t.Fatalf("visit fulfilled %v, want %s", v.PlanID, pl.ID)
	}
	day = must[merchant.Calendar](t)(w.svc.Calendar(w.ctx, rep, merchant.CalendarQuery{}))
	if day.Days[0].Plans[0].Status != merchant.PlanDone || len(day.Days[0].Visits) != 1 {
		t.Fatalf("day after the visit: %+v", day.Days[0])
	}
	if left := must[[]merchant.Todo](t)(w.svc.Todos(w.ctx, rep)); len(left) != 19 {
		t.Fatalf("%d to-dos left, want 19", len(left))
	}
	// Cancel: another team's rep cannot; the rep can, once.
	next := day.Days[0]
	_ = next
	pl2 := must[merchant.Plan](t)(w.svc.PlanVisit(w.ctx, rep, l.ID, merchant.NewPlan{StartsAt: w.clk.Now().Add(time.Hour), Minutes: 30, Purpose: "x"}))
	_, err = w.svc.CancelPlan(w.ctx, other, pl2.ID)
	wantCode(t, err, "merchant.visit_plan_not_found")
	must[merchant.Plan](t)(w.svc.CancelPlan(w.ctx, rep, pl2.ID))
	_, err = w.svc.CancelPlan(w.ctx, rep, pl2.ID)
	wantCode(t, err, merchant.CodePlanState)
}

func TestVisitPhotos(t *testing.T) {
	t.Parallel()
	w := newFieldWorld(t, merchant.Config{Field: merchant.FieldRules{PhotosPerVisit: 2}})
	rep := w.p(t, "sh1.rep")
	l := claimed(t, w.world, "13800001201")
	v := must[merchant.Visit](t)(w.svc.CheckIn(w.ctx, rep, l.ID, merchant.CheckIn{Lat: l.Lat, Lng: l.Lng}))
	one := jpegPhoto(t, 10)
	ph := must[merchant.Photo](t)(w.svc.AddVisitPhoto(w.ctx, rep, v.ID, bytes.NewReader(one)))
	if ph.ContentType != "image/jpeg" || ph.SizeBytes != int64(len(one)) {
		t.Fatalf("photo %+v", ph)
	}
	again := must[merchant.Photo](t)(w.svc.AddVisitPhoto(w.ctx, rep, v.ID, bytes.NewReader(one)))
	if again.ID != ph.ID {
		t.Fatal("the same photo kept twice")
	}
	_, err := w.svc.AddVisitPhoto(w.ctx, rep, v.ID, bytes.NewReader(executable(t)))
	if e := wantCode(t, err, storage.CodeExecutable); e.Field != "photo" {
		t.Fatal(e)
	}
	_, err = w.svc.AddVisitPhoto(w.ctx, rep, v.ID, bytes.NewReader(bytes.Repeat(one, 3000)))
	wantCode(t, err, storage.CodeTooLarge)
	_, err = w.svc.AddVisitPhoto(w.ctx, w.p(t, "sh2.rep"), v.ID, bytes.NewReader(jpegPhoto(t, 20)))
	wantCode(t, err, "merchant.visit_not_found")
	must[merchant.Photo](t)(w.svc.AddVisitPhoto(w.ctx, rep, v.ID, bytes.NewReader(jpegPhoto(t, 30))))
	_, err = w.svc.AddVisitPhoto(w.ctx, rep, v.ID, bytes.NewReader(jpegPhoto(t, 40)))
	wantCode(t, err, merchant.CodeTooManyPhotos)
	// Readers: the rep and their team lead; not another team's rep.
	for _, login := range []string{"sh1.rep", "sh1.lead", "sh.manager"} {
		_, rc, err := w.svc.OpenPhoto(w.ctx, w.p(t, login), ph.ID)
		if err != nil {
			t.Fatalf("%s: %v", login, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, one) {
			t.Fatalf("%s read %d bytes", login, len(got))
		}
	}
	_, _, err = w.svc.OpenPhoto(w.ctx, w.p(t, "sh2.rep"), ph.ID)
	wantCode(t, err, "merchant.photo_not_found")
	var rows int
	if err := w.db.QueryRow(w.ctx, "SELECT count(*) FROM merchant.visit_photos").Scan(&rows); err != nil || rows != 2 {
		t.Fatalf("%d photo rows %v", rows, err)
	}
}

func TestOnboardingDocumentsReachTheReviewer(t *testing.T) {
	t.Parallel()
	w := newFieldWorld(t, merchant.Config{})
	rep, reviewer := w.p(t, "sh1.rep"), w.p(t, "reviewer")
	l := negotiating(t, w.world, "13800001301")
	must[merchant.Contract](t)(w.svc.SignContract(w.ctx, w.p(t, "sh.manager"), l.ID,
		merchant.NewContract{CommissionRate: "6%", SettlementCycle: merchant.CycleT1, StartsOn: "2026-12-01", EndsOn: "2027-12-01"}))
	_, err := w.svc.AddDocument(w.ctx, rep, l.ID, "passport", "p.jpg", bytes.NewReader(jpegPhoto(t, 1)))
	if e := wantCode(t, err, merchant.CodeDocumentKey); e.Field != "doc_key" {
		t.Fatal(e)
	}
	_, err = w.svc.AddDocument(w.ctx, rep, l.ID, "legal_id", "id.jpg", bytes.NewReader(executable(t)))
	wantCode(t, err, storage.CodeExecutable)
	pdf := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<<>>\n%%EOF\n")
	lic := must[merchant.DocumentFile](t)(w.svc.AddDocument(w.ctx, rep, l.ID, "business_licence", `C:\scans\营业执照.pdf`, bytes.NewReader(pdf)))
	if lic.ContentType != "application/pdf" || lic.FileName != "营业执照.pdf" {
		t.Fatalf("licence %+v", lic)
	}
	must[merchant.DocumentFile](t)(w.svc.AddDocument(w.ctx, rep, l.ID, "food_licence", "food.jpg", bytes.NewReader(jpegPhoto(t, 2))))
	front := must[merchant.DocumentFile](t)(w.svc.AddDocument(w.ctx, rep, l.ID, "storefront", "a.jpg", bytes.NewReader(jpegPhoto(t, 3))))
	must[merchant.DocumentFile](t)(w.svc.AddDocument(w.ctx, rep, l.ID, "storefront", "b.jpg", bytes.NewReader(jpegPhoto(t, 4))))
	must[struct{}](t)(struct{}{}, w.svc.RemoveDocument(w.ctx, rep, front.ID))
	// Another team's rep neither adds nor reads.
	_, err = w.svc.AddDocument(w.ctx, w.p(t, "sh2.rep"), l.ID, "legal_id", "id.jpg", bytes.NewReader(jpegPhoto(t, 5)))
	wantCode(t, err, "merchant.lead_not_found")
	must[merchant.Onboarding](t)(w.svc.SubmitOnboarding(w.ctx, rep, l.ID))
	d := must[merchant.ApplicationDetail](t)(w.svc.GetApplication(w.ctx, reviewer, l.ID))
	byKey := map[string]merchant.Document{}
	for _, doc := range d.Documents {
		byKey[doc.Key] = doc
	}
	if len(byKey["business_licence"].Files) != 1 || len(byKey["storefront"].Files) != 1 || !byKey["legal_id"].Missing ||
		!byKey["bank_account"].Missing || byKey["food_licence"].Missing {
		t.Fatalf("the reviewer's checklist: %+v", d.Documents)
	}
	got, rc, err := w.svc.OpenDocument(w.ctx, reviewer, lic.ID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(rc)
	rc.Close()
	if got.ID != lic.ID || !bytes.Equal(body, pdf) {
		t.Fatal("the reviewer read another file")
	}
	_, _, err = w.svc.OpenDocument(w.ctx, w.p(t, "sh2.rep"), lic.ID)
	wantCode(t, err, "merchant.document_not_found")
	// Under review the rep may still add what is missing; once approved, nothing changes.
	must[merchant.DocumentFile](t)(w.svc.AddDocument(w.ctx, rep, l.ID, "legal_id", "id.jpg", bytes.NewReader(jpegPhoto(t, 6))))
	must[merchant.Approved](t)(w.svc.ApproveOnboarding(w.ctx, reviewer, l.ID, merchant.Approval{SubMchID: "1900001301"}))
	_, err = w.svc.AddDocument(w.ctx, rep, l.ID, "bank_account", "bank.jpg", bytes.NewReader(jpegPhoto(t, 7)))
	wantCode(t, err, merchant.CodeDocumentsState)
}

// liveShop signs (from the given day, for a year) and approves a shop into a live merchant.
func liveShop(t *testing.T, w *world, phone, subMchID, starts, ends string) merchant.Lead {
	t.Helper()
	l := negotiating(t, w, phone)
	must[merchant.Contract](t)(w.svc.SignContract(w.ctx, w.p(t, "sh.manager"), l.ID,
		merchant.NewContract{CommissionRate: "6%", SettlementCycle: merchant.CycleT1, StartsOn: starts, EndsOn: ends}))
	must[merchant.Onboarding](t)(w.svc.SubmitOnboarding(w.ctx, w.p(t, "sh1.rep"), l.ID))
	must[merchant.Approved](t)(w.svc.ApproveOnboarding(w.ctx, w.p(t, "reviewer"), l.ID, merchant.Approval{SubMchID: subMchID}))
	return l
}

func endedEvents(t *testing.T, w *world) []merchant.ContractEnded {
	t.Helper()
	rows, err := w.db.Query(w.ctx, "SELECT payload FROM platform.outbox WHERE topic = $1 ORDER BY id", string(merchant.TopicContractEnded))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []merchant.ContractEnded
	for rows.Next() {
		var e merchant.ContractEnded
		if err := rows.Scan(&e); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestContractRenewTerminateExpire(t *testing.T) {
	t.Parallel()
	w := newFieldWorld(t, merchant.Config{})
	mgr, rep := w.p(t, "sh.manager"), w.p(t, "sh1.rep")
	// Bad input names its field and changes nothing.
	l := negotiating(t, w.world, "13800001401")
	for _, c := range []struct {
		in          merchant.NewContract
		field, code string
	}{
		{merchant.NewContract{CommissionRate: "6%", SettlementCycle: merchant.CycleT1, StartsOn: "2027-01-01", EndsOn: "2026-01-01"}, "ends_on", "merchant.contract_dates"},
		{merchant.NewContract{CommissionRate: "150%", SettlementCycle: merchant.CycleT1, StartsOn: "2026-01-01", EndsOn: "2027-01-01"}, "commission_rate", ""},
		{merchant.NewContract{CommissionRate: "-1%", SettlementCycle: merchant.CycleT1, StartsOn: "2026-01-01", EndsOn: "2027-01-01"}, "commission_rate", ""},
		{merchant.NewContract{CommissionRate: "6%", SettlementCycle: "T+3", StartsOn: "2026-01-01", EndsOn: "2027-01-01"}, "settlement_cycle", merchant.CodeUnknownCycle},
	} {
		_, err := w.svc.SignContract(w.ctx, mgr, l.ID, c.in)
		e := errs.As(err)
		if e == nil || e.Field != c.field || (c.code != "" && e.Code != c.code) || e.Kind.HTTPStatus() >= 500 {
			t.Fatalf("%+v: %v, want field %s", c.in, err, c.field)
		}
	}
	if _, err := w.svc.GetContract(w.ctx, mgr, l.ID); errs.KindOf(err) != errs.KindNotFound {
		t.Fatalf("a refused contract was kept: %v", err)
	}

	a := liveShop(t, w.world, "13800001402", "1900001402", "2026-01-01", "2026-12-31")
	first := must[merchant.Contract](t)(w.svc.GetContract(w.ctx, rep, a.ID))
	_, err := w.svc.RenewContract(w.ctx, rep, a.ID, merchant.NewContract{CommissionRate: "7%", SettlementCycle: merchant.CycleT7, StartsOn: "2027-01-05", EndsOn: "2027-12-31"})
	if e := wantCode(t, err, merchant.CodeRenewalGap); e.Field != "starts_on" {
		t.Fatal(e)
	}
	_, err = w.svc.RenewContract(w.ctx, rep, a.ID, merchant.NewContract{CommissionRate: "1%", SettlementCycle: merchant.CycleT7, StartsOn: "2027-01-01", EndsOn: "2027-12-31"})
	wantCode(t, err, merchant.CodeRenewalDiscout)
	renewed := must[merchant.Contract](t)(w.svc.RenewContract(w.ctx, rep, a.ID, merchant.NewContract{CommissionRate: "7%", SettlementCycle: merchant.CycleT7, StartsOn: "2027-01-01", EndsOn: "2027-12-31"}))
	if renewed.RenewedFrom == nil || *renewed.RenewedFrom != first.ID || renewed.Status != merchant.ContractActive {
		t.Fatalf("renewal %+v", renewed)
	}
	hist := must[[]merchant.Contract](t)(w.svc.ContractHistory(w.ctx, rep, a.ID))
	if len(hist) != 2 || hist[0].Status != merchant.ContractRenewed || hist[1].ID != renewed.ID {
		t.Fatalf("history %+v", hist)
	}
	m := must[[]merchant.Merchant](t)(func() ([]merchant.Merchant, error) {
		ms, _, err := w.svc.ListMerchants(w.ctx, mgr, uuid.Nil, 0)
		return ms, err
	}())
	terms := must[merchant.Terms](t)(w.svc.Terms(w.ctx, m[0].ID))
	if terms.CommissionRate.String() != "0.07" || terms.Cycle != merchant.CycleT7 || !terms.Live {
		t.Fatalf("the merchant kept the old terms: %+v", terms)
	}
	// The old contract's end is not published: the shop renewed.
	if ev := endedEvents(t, w.world); len(ev) != 0 {
		t.Fatalf("renewal published an end: %+v", ev)
	}
	// Terminate: a rep may not (403, nothing changes); the city manager may, with a reason.
	_, err = w.svc.TerminateContract(w.ctx, rep, a.ID, "owner sold the shop")
	if errs.KindOf(err) != errs.KindForbidden {
		t.Fatalf("rep terminating: %v", err)
	}
	_, err = w.svc.TerminateContract(w.ctx, mgr, a.ID, " ")
	if errs.As(err).Field != "reason" {
		t.Fatalf("no reason: %v", err)
	}
	// The pool reclaims 30 days after a contract ends: from its last day while it runs,
	// from the day it was terminated once it is.
	setRules(t, w.world, "sh1.rep", merchant.PoolRules{ReclaimContractEndedDays: 30})
	if got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, mgr, a.ID)); got.ReclaimOn == nil || *got.ReclaimOn != "2028-01-30" {
		t.Fatalf("reclaim day while the renewal runs: %+v", got.ReclaimOn)
	}
	done := must[merchant.Contract](t)(w.svc.TerminateContract(w.ctx, mgr, a.ID, "owner sold the shop"))
	if done.Status != merchant.ContractTerminated || done.EndedAt == nil {
		t.Fatalf("terminated %+v", done)
	}
	if got := must[merchant.Lead](t)(w.svc.GetLead(w.ctx, mgr, a.ID)); got.ReclaimOn == nil || *got.ReclaimOn != "2026-12-31" || *got.DaysLeft != 30 {
		t.Fatalf("reclaim day after the termination (2026-12-01): %+v", got)
	}
	if terms := must[merchant.Terms](t)(w.svc.Terms(w.ctx, m[0].ID)); terms.Live {
		t.Fatal("the merchant is still live after its contract was terminated")
	}
	_, err = w.svc.TerminateContract(w.ctx, mgr, a.ID, "again")
	wantCode(t, err, merchant.CodeContractState)
	// Expiry: a contract past its last day (Shanghai) ends once, however often the task runs.
	b := liveShop(t, w.world, "13800001403", "1900001403", "2025-12-01", "2026-12-01")
	if n := must[int](t)(w.svc.ExpireContracts(w.ctx, 100)); n != 0 {
		t.Fatalf("%d expired on its last day", n)
	}
	w.clk.Advance(24 * time.Hour)
	if n := must[int](t)(w.svc.ExpireContracts(w.ctx, 100)); n != 1 {
		t.Fatalf("%d expired the day after", n)
	}
	if n := must[int](t)(w.svc.ExpireContracts(w.ctx, 100)); n != 0 {
		t.Fatalf("%d expired twice", n)
	}
	ev := endedEvents(t, w.world)
	if len(ev) != 2 || ev[0].LeadID != a.ID || ev[0].Cause != "terminated" || ev[1].LeadID != b.ID || ev[1].Cause != "expired" || ev[1].EndsOn != "2026-12-01" {
		t.Fatalf("ended events %+v", ev)
	}
	exp := must[[]merchant.Expiring](t)(w.svc.ExpiringContracts(w.ctx, mgr, 60))
	if len(exp) != 0 {
		t.Fatalf("expiring: %+v", exp)
	}
	var _ identity.Permission
}
