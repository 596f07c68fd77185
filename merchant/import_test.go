package merchant_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/xuri/excelize/v2"

	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// A CSV import: valid rows become leads of the pool, bad rows are reported with their
// row, column and reason, duplicates of the database and of earlier rows are refused,
// and the same file again imports nothing.
func TestImportCSVReportDedupIdempotent(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	rep := w.p(t, "sh1.rep")
	must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, "hz1.rep"), shop("13900009999")))
	csv := "\ufeff店名,电话,品类,地址,城市,纬度,经度,统一社会信用代码\n" +
		"甲店,13900001001,餐饮,一路1号,上海,31.20,121.40,\n" +
		"乙店,12345,餐饮,一路2号,上海,31.21,121.41,\n" + // bad phone
		"丙店,13900001003,餐饮,一路3号,上海,31.22,121.42,91350100M000100Y44\n" + // bad checksum
		"丁店,+86 139-0000-1001,餐饮,一路4号,上海,31.23,121.43,\n" + // same phone as row 2
		"戊店,13900009999,餐饮,一路5号,上海,31.24,121.44,\n" + // in the database (Hangzhou's)
		",13900001006,餐饮,一路6号,上海,31.25,121.45,\n" + // no name
		"己店,021-6288-1007,餐饮,一路7号,上海,abc,121.46,\n" + // bad lat
		"庚店,021-6288-1008,餐饮,一路8号,上海,31.27,121.47,91350100M000100Y43\n" +
		"辛店,021-6288-1010,餐饮,一路10号,上海,31.29,121.49,91350100M000100Y43\n" // same licence as row 9
	r := must[merchant.ImportReport](t)(w.svc.ImportLeads(w.ctx, rep, merchant.ImportInput{FileName: "shops.csv"}, strings.NewReader(csv)))
	want := map[int]string{3: "phone", 4: "licence_no", 5: "phone", 6: "phone", 7: "name", 8: "lat", 10: "licence_no"}
	if r.State != "done" || r.TotalRows != 9 || r.Imported != 2 || len(r.Problems) != len(want) {
		t.Fatalf("report: %+v", r)
	}
	for _, p := range r.Problems {
		if want[p.Row] != p.Column || p.Reason == "" {
			t.Fatalf("problem %+v, want column %q", p, want[p.Row])
		}
	}
	if !strings.Contains(r.Problems[3].Reason, "杭州一组") {
		t.Fatalf("the duplicate does not say who holds it: %+v", r.Problems[3])
	}
	if r.Problems[2].Reason != "the same phone as row 2" || r.Problems[6].Reason != "the same licence number as row 9" {
		t.Fatalf("a row like an earlier row of the file does not name it: %+v, %+v", r.Problems[2], r.Problems[6])
	}
	// Each refusal says why as a code too, which the console and the API word in the
	// reader's language (TestImportReasonsReadInBothLanguages checks every code's words).
	codes := map[int]merchant.ImportReasonCode{3: merchant.ImportBadPhone, 4: merchant.ImportLicenceCheck, 5: merchant.ImportSamePhoneAs,
		6: merchant.ImportDuplicate, 7: merchant.ImportRequired, 8: merchant.ImportNotANumber, 10: merchant.ImportSameLicenceAs}
	for _, p := range r.Problems {
		if p.Code != codes[p.Row] || !slices.Contains(merchant.ImportReasonCodes(), p.Code) {
			t.Errorf("row %d: code %q, want %q", p.Row, p.Code, codes[p.Row])
		}
	}
	if r.Problems[2].Params["row"] != "2" || r.Problems[3].Params["by"] != "phone" || !strings.Contains(r.Problems[3].Params["pool"], "杭州一组") {
		t.Errorf("parameters: %+v, %+v", r.Problems[2].Params, r.Problems[3].Params)
	}
	again := must[merchant.ImportReport](t)(w.svc.ImportLeads(w.ctx, rep, merchant.ImportInput{FileName: "shops-copy.csv"}, strings.NewReader(csv)))
	if !again.Repeated || again.ID != r.ID {
		t.Fatalf("re-upload: %+v", again)
	}
	pool, _, _ := w.svc.ListLeads(w.ctx, rep, merchant.LeadFilter{PoolOnly: true})
	if len(pool) != 2 {
		t.Fatalf("%d leads in the pool after two uploads", len(pool))
	}
	if got := must[merchant.ImportReport](t)(w.svc.GetImport(w.ctx, w.p(t, "sh1.lead"), r.ID)); got.Imported != 2 || got.DoneRows != 9 {
		t.Fatalf("progress: %+v", got)
	}
	if _, err := w.svc.GetImport(w.ctx, w.p(t, "hz.lead"), r.ID); err == nil {
		t.Fatal("another city reads the import")
	}
}

// An Excel import with English headers, through the API.
func TestImportExcelAPI(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	f := excelize.NewFile()
	rows := [][]any{{"name", "phone", "category", "city", "lat", "lng"}}
	for i := range 30 {
		rows = append(rows, []any{fmt.Sprintf("Shop %02d", i), fmt.Sprintf("139%08d", 2000+i), "cafe", "上海", 31.0 + float64(i)*0.01, 121.4})
	}
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	r := must[merchant.ImportReport](t)(w.svc.ImportLeads(w.ctx, w.p(t, "sh1.lead"), merchant.ImportInput{FileName: "shops.xlsx"}, &buf))
	if r.Imported != 30 || len(r.Problems) != 0 {
		t.Fatalf("xlsx: %+v", r)
	}
	_, err := w.svc.ImportLeads(w.ctx, w.p(t, "sh1.rep"), merchant.ImportInput{FileName: "shops.txt"}, strings.NewReader("x"))
	wantCode(t, err, "invalid_input")
}

// A file over the inline size is queued: the upload answers at once, the worker's task
// imports it (with its levels), the report and the progress say so, and a second run
// finds nothing to do. Routed by the rules, the leads of a rule's territory go to its
// team's reps.
func TestImportQueuedByRules(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	mgr := w.p(t, "sh.manager")
	must[merchant.AssignmentRule](t)(w.svc.SaveAssignmentRule(w.ctx, mgr, uuid.Nil, merchant.RuleInput{Position: 1, Name: "浦东",
		Districts: []string{"浦东新区"}, TeamUnitID: w.demo.Units["上海二组 SH Team 2"], Method: merchant.MethodLoad, Capacity: 3, Enabled: true}))
	var b strings.Builder
	b.WriteString("name,phone,category,city,address,lat,lng,level\n")
	n := 0
	for b.Len() <= merchant.InlineImportBytes {
		addr := "黄浦区中山东一路"
		if n < 5 {
			addr = "浦东新区世纪大道"
		}
		fmt.Fprintf(&b, "Shop %05d with a longish name for the size,137%08d,cafe,上海,%s%d号,%.5f,121.0,%s\n", n, n, addr, n, 20+float64(n)*0.01, []string{"a", "B", ""}[n%3])
		n++
	}
	fmt.Fprintf(&b, "Bad level,13900000000,cafe,上海,x,,,AB\n")
	r := must[merchant.ImportReport](t)(w.svc.ImportLeads(w.ctx, mgr, merchant.ImportInput{FileName: "big.csv", ByRules: true}, strings.NewReader(b.String())))
	if r.State != merchant.ImportQueued || r.Imported != 0 {
		t.Fatalf("not queued: %+v", r)
	}
	// The upload published merchant.import_queued with itself; delivering it runs the
	// import, and the minute's take-up task then finds nothing left.
	queued := outboxPayloads[merchant.ImportQueuedEvent](t, w, merchant.TopicImportQueued)
	if len(queued) != 1 || queued[0].ImportID != r.ID {
		t.Fatalf("queued events: %+v", queued)
	}
	var sub outbox.Subscription
	for _, s := range domain.Collect(w.svc).Subscriptions() {
		if s.Topic == merchant.TopicImportQueued {
			sub = s
		}
	}
	payload, _ := json.Marshal(queued[0])
	if err := outbox.Deliver(w.ctx, w.db, sub, events.Envelope{ID: uuid.New(), Topic: merchant.TopicImportQueued,
		Key: r.ID.String(), Payload: payload}); err != nil {
		t.Fatal(err)
	}
	if got := must[int](t)(w.svc.RunImports(w.ctx)); got != 0 {
		t.Fatalf("ran %d imports again", got)
	}
	r = must[merchant.ImportReport](t)(w.svc.GetImport(w.ctx, mgr, r.ID))
	if r.State != merchant.ImportDone || r.Imported != n || r.TotalRows != n+1 || r.Assigned != 3 || len(r.Problems) != 1 ||
		r.Problems[0].Column != "level" || r.Problems[0].Row != n+2 {
		t.Fatalf("report: %+v", r)
	}
	list := must[[]merchant.ImportReport](t)(w.svc.ListImports(w.ctx, mgr))
	if len(list) != 1 || list[0].ID != r.ID {
		t.Fatalf("imports page: %+v", list)
	}
	team2, _, _ := w.svc.ListLeads(w.ctx, w.p(t, "admin"), merchant.LeadFilter{Query: "浦东新区"})
	held := 0
	for _, l := range team2 {
		if *l.OrgUnitID != w.demo.Units["上海二组 SH Team 2"] {
			t.Fatalf("a Pudong lead is not team 2's: %+v", l)
		}
		if l.OwnerID != nil {
			held++
		}
	}
	if len(team2) != 5 || held != 3 {
		t.Fatalf("%d Pudong leads, %d held", len(team2), held)
	}
	if _, err := w.svc.ImportLeads(w.ctx, w.p(t, "sh1.rep"), merchant.ImportInput{FileName: "x.csv", ByRules: true}, strings.NewReader("a")); errs.CodeOf(err) != "identity.forbidden" {
		t.Fatalf("a rep routes by the rules: %v", err)
	}
}

// A similar name close by is a duplicate within the file as against the database: a
// row like an earlier row of the file within 200 m is refused naming that row, one
// like a shop of the database names who holds it; the same name 1 km away, or another
// name next door, is imported. Symmetric: the refusal does not depend on which of the
// two rows has the longer name.
func TestImportSimilarNameNearby(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	rep := w.p(t, "sh1.rep")
	must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, "hz1.rep"), merchant.NewLead{Name: "静安咖啡 Jing'an Coffee", Category: "cafe",
		Address: "南京西路1266号", Lat: 31.2287, Lng: 121.4534, Phone: "021-6288-0000", City: "上海"}))
	csv := "name,phone,category,city,address,lat,lng\n" +
		"老王烧烤(徐汇店),13900007001,餐饮,上海,漕溪北路1号,31.2000,121.4000\n" +
		"老王烧烤（徐汇店）,13900007002,餐饮,上海,漕溪北路3号,31.2005,121.4000\n" + // ~55 m from row 2: refused
		"老王烧烤(徐汇店),13900007003,餐饮,上海,漕溪北路99号,31.2100,121.4000\n" + // 1.1 km away: another branch
		"小李面馆,13900007004,餐饮,上海,漕溪北路2号,31.2001,121.4001\n" + // next door, another name
		"静安咖啡 Jingan Coffee,13900007005,cafe,上海,南京西路1268号,31.2290,121.4535\n" + // the database's, ~35 m
		"川味小馆,13900007006,餐饮,上海,x路1号,31.3000,121.5000\n" +
		"川味小馆 总店,13900007007,餐饮,上海,x路2号,31.3001,121.5001\n" // the longer name after the shorter: refused too
	r := must[merchant.ImportReport](t)(w.svc.ImportLeads(w.ctx, rep, merchant.ImportInput{FileName: "near.csv"}, strings.NewReader(csv)))
	if r.State != merchant.ImportDone || r.Imported != 4 || len(r.Problems) != 3 {
		t.Fatalf("report: %+v", r)
	}
	want := []struct {
		row    int
		reason string
	}{{3, "a similar name close to row 2"}, {6, "held by the pool 杭州一组"}, {8, "a similar name close to row 7"}}
	for i, p := range r.Problems {
		if p.Row != want[i].row || p.Column != "name" || !strings.Contains(p.Reason, want[i].reason) {
			t.Fatalf("problem %d: %+v, want row %d %q", i, p, want[i].row, want[i].reason)
		}
	}
	// The imported leads reached the stage "lead" once each in the reports' rollups (kept
	// per statement, over the rows the import added at once).
	cohorts := must[[]merchant.CohortRow](t)(w.svc.Cohorts(w.ctx, w.p(t, "sh.manager"), merchant.ReportQuery{}))
	if len(cohorts) != 1 || cohorts[0].Reached[merchant.StageLead] != 4 {
		t.Fatalf("cohorts %+v", cohorts)
	}
}

// The leads' pool and the history's lead are checked once per statement (merchant
// migration 013) instead of by per-row foreign keys: a row naming no pool or no lead is
// still refused, and the statement changes nothing.
func TestLeadPoolAndHistoryLeadChecked(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	l := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, w.p(t, "sh1.rep"), shop("13900008801")))
	for _, q := range []string{
		`UPDATE merchant.leads SET pool_id = gen_random_uuid() WHERE id = $1`,
		`INSERT INTO merchant.leads (id, name, category, address, lat, lng, phone_raw, phone, city, stage, created_by, created_at, updated_at, pool_id)
		 SELECT gen_random_uuid(), name, category, address, lat, lng, phone_raw, '+8613900008802', city, stage, created_by, now(), now(), gen_random_uuid()
		 FROM merchant.leads WHERE id = $1`,
		`INSERT INTO merchant.stage_history (id, lead_id, from_stage, to_stage, reason, by_user, at)
		 VALUES (gen_random_uuid(), $1, NULL, 'lead', 'x', gen_random_uuid(), now()), (gen_random_uuid(), gen_random_uuid(), NULL, 'lead', 'x', gen_random_uuid(), now())`,
		`INSERT INTO merchant.lead_owner_history (id, lead_id, event, reason, by_user, at)
		 VALUES (gen_random_uuid(), $1, 'created', 'x', gen_random_uuid(), now()), (gen_random_uuid(), gen_random_uuid(), 'created', 'x', gen_random_uuid(), now())`,
	} {
		var pgErr *pgconn.PgError
		if _, err := w.db.Exec(w.ctx, q, l.ID); !errors.As(err, &pgErr) || pgErr.Code != "23503" {
			t.Fatalf("%s: %v, want a foreign key violation", q, err)
		}
	}
	var history, leads int
	if err := w.db.QueryRow(w.ctx, `SELECT (SELECT count(*) FROM merchant.stage_history WHERE lead_id = $1) + (SELECT count(*) FROM merchant.lead_owner_history WHERE lead_id = $1),
  (SELECT count(*) FROM merchant.leads l JOIN merchant.pools p ON p.id = l.pool_id)`, l.ID).Scan(&history, &leads); err != nil {
		t.Fatal(err)
	}
	if history != 2 || leads != 1 {
		t.Fatalf("history rows %d (want the 2 of the create), leads in a pool %d", history, leads)
	}
}

// The import's set-based dedup (exact keys joined, the similar names probed in chunks
// on several connections) refuses exactly the rows the create's per-row check
// (CheckDuplicates, asked before the import for each row) says duplicate a shop of
// the database, with the same column and holder, and imports all the others; rows
// like an earlier row of the file are refused naming it. The file spans more than one
// probe chunk, and mixes phones written as landlines, licence numbers, similar names
// close by and far away, rows with no place, and rows like both a shop and a row.
// The same holds when the pool has no connection to spare for the probes (one
// connection, the import's): the probes then run on the import's own.
func TestImportDedupVerdictsMatchCreate(t *testing.T) {
	t.Parallel()
	for _, oneConn := range []bool{false, true} {
		t.Run(fmt.Sprintf("one connection %v", oneConn), func(t *testing.T) {
			t.Parallel()
			w, clk := poolWorld(t, merchant.Config{})
			svc := w.svc
			if oneConn {
				cfg := w.db.Config().Copy()
				cfg.MaxConns = 1
				small := must[*pgxpool.Pool](t)(pgxpool.NewWithConfig(w.ctx, cfg))
				t.Cleanup(small.Close)
				svc = merchant.New(domain.Deps{DB: small, Clock: clk}, merchant.Ports{Owners: w.owners, Staff: merchant.IdentityStaff{Users: w.ids}}, merchant.Config{})
			}
			importVerdictsMatchCreate(t, w, svc)
		})
	}
}

func importVerdictsMatchCreate(t *testing.T, w *world, svc *merchant.Service) {
	rep, other := w.p(t, "sh1.rep"), w.p(t, "hz1.rep")
	db := []merchant.NewLead{
		{Name: "静安咖啡 Jing'an Coffee", Category: "cafe", Address: "南京西路1266号", Lat: 31.2287, Lng: 121.4534, Phone: "021-6288-0000", City: "上海", LicenceNo: "91350100M000100Y43"},
		{Name: "老王烧烤(徐汇店)", Category: "餐饮", Address: "漕溪北路1号", Lat: 31.2000, Lng: 121.4000, Phone: "13900007001", City: "上海"},
		{Name: "老王烧烤 总店", Category: "餐饮", Address: "漕溪北路5号", Lat: 31.2003, Lng: 121.4000, Phone: "13900007009", City: "上海"},
		{Name: "川味小馆", Category: "餐饮", Address: "x路1号", Lat: 31.3000, Lng: 121.5000, Phone: "13900007006", City: "上海"},
	}
	for i, in := range db {
		l := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, []*identity.Principal{rep, other}[i%2], in))
		if i == 0 {
			must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, l.ID))
		}
	}
	type row struct {
		in     merchant.NewLead
		inFile string // the reason when refused for an earlier row of the file
	}
	var rows []row
	add := func(name, phone, licence string, lat, lng float64, inFile string) {
		rows = append(rows, row{merchant.NewLead{Name: name, Category: "cafe", Address: "路", City: "上海", Phone: phone, LicenceNo: licence, Lat: lat, Lng: lng}, inFile})
	}
	// Distinct shops on a grid 330 m apart, far from the database's: more than one chunk.
	for i := range 2100 {
		add(fmt.Sprintf("店 %04d 号", i), fmt.Sprintf("1370000%04d", i), "", 30.0+float64(i/50)*0.003, 120.0+float64(i%50)*0.003, "")
	}
	add("Another name", "+86 21 6288 0000", "", 31.5, 121.9, "")                                             // the database's landline
	add("Yet another", "13900001111", "91350100m000100y43", 31.6, 121.9, "")                                 // its licence
	add("静安咖啡 Jingan Coffee", "13900001112", "", 31.2290, 121.4535, "")                                      // its name, 35 m away
	add("静安咖啡 Jingan Coffee", "13900007009", "", 31.2290, 121.4535, "")                                      // … with another shop's phone
	add("老王烧烤（徐汇店）", "13900001113", "", 31.2001, 121.4000, "")                                               // like two shops: the most alike
	add("老王烧烤(徐汇店)", "13900001114", "", 31.2100, 121.4000, "")                                               // 1.1 km away: another branch
	add("川味小馆", "13900001115", "", 0, 0, "")                                                                 // no place: not compared
	add("川味小馆 分店", "13900001116", "", 31.3001, 121.5001, "")                                                 // the database's, and …
	add("川味小馆 分店", "13900001117", "", 31.3002, 121.5001, "")                                                 // … this one's too (the row before left)
	add("小李面馆", "13900001118", "", 30.5, 120.5, "")                                                          // a new shop …
	add("小李面馆", "13900001119", "", 30.5001, 120.5, "a similar name close to row "+strconv.Itoa(len(rows)+1)) // … and again
	add("Twice", "13900001118", "", 35, 115, "the same phone as row "+strconv.Itoa(len(rows)))
	var b strings.Builder
	b.WriteString("name,phone,category,city,address,lat,lng,licence_no\n")
	want := map[int]merchant.ImportProblem{}
	for i, r := range rows {
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%.6f,%.6f,%s\n", r.in.Name, r.in.Phone, r.in.Category, r.in.City, r.in.Address, r.in.Lat, r.in.Lng, r.in.LicenceNo)
		n := i + 2
		if r.inFile != "" {
			want[n] = merchant.ImportProblem{Row: n, Column: map[bool]string{true: "phone", false: "name"}[strings.Contains(r.inFile, "phone")], Reason: r.inFile}
			continue
		}
		dups := must[[]merchant.Duplicate](t)(w.svc.CheckDuplicates(w.ctx, rep, r.in))
		if len(dups) == 0 {
			continue
		}
		d := dups[0]
		holder := "the pool " + d.Pool
		if d.HeldBy != "" {
			holder = d.HeldBy + " of " + d.Team
		}
		column := d.Reason
		if d.Reason == merchant.DupNearby {
			column = "name"
		}
		want[n] = merchant.ImportProblem{Row: n, Column: column, Reason: "held by " + holder}
	}
	if len(want) != 9 {
		t.Fatalf("the create's check finds %d duplicates in the file, the test means 9: %+v", len(want), want)
	}
	r := must[merchant.ImportReport](t)(svc.ImportLeads(w.ctx, rep, merchant.ImportInput{FileName: "mixed.csv"}, strings.NewReader(b.String())))
	if r.State != merchant.ImportDone || r.TotalRows != len(rows) || r.Imported != len(rows)-len(want) || len(r.Problems) != len(want) {
		t.Fatalf("report: state %s, %d rows, %d imported, %d problems (want %d): %+v", r.State, r.TotalRows, r.Imported, len(r.Problems), len(want), r.Problems)
	}
	for _, p := range r.Problems {
		wp, ok := want[p.Row]
		if !ok || p.Column != wp.Column || !strings.Contains(p.Reason, wp.Reason) {
			t.Errorf("row %d: the import says %s: %q; the per-row check says %+v", p.Row, p.Column, p.Reason, wp)
		}
		if strings.HasPrefix(wp.Reason, "a similar name") && (p.Code != merchant.ImportSimilarNameAs || p.Params["row"] != strconv.Itoa(p.Row-1)) {
			t.Errorf("row %d: code %q %v", p.Row, p.Code, p.Params)
		}
	}
}
