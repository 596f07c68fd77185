package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
)

// The edge's input contract, driven through the real router with the real PostgreSQL:
// every request body the OpenAPI document describes, bound by the one JSON binder.
// `go test` runs the seed corpus (a valid body per route and, for every text field,
// NUL, invalid UTF-8, one character too many, the WeChat Pay bounds of every amount,
// wrong types); `go test -fuzz FuzzEdgeJSONBodies ./cmd/tandem` searches further.
// Whatever the body: never a 500 (nor any 5xx but a dependency's 503/504), and a 4xx adds or removes no row in any table
// (beyond refusals kept on purpose, edgeRecordedRefusals).
func FuzzEdgeJSONBodies(f *testing.F) {
	e := newEdgeWorld(f)
	e.checkContract(f)
	for i, op := range e.ops {
		for _, body := range op.seeds() {
			f.Add(uint8(i), []byte(body))
		}
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, body []byte) {
		e.drive(t, e.ops[int(opIndex)%len(e.ops)], body)
	})
}

// drive sends body to op and holds the answer to the contract: no 5xx but a
// dependency's, and a 4xx changes no table.
func (e *edgeWorld) drive(t *testing.T, op edgeOp, body []byte) {
	t.Helper()
	before := e.rowCounts(t)
	status, answer := e.send(op, op.url, body)
	// 503 and 504 are WeChat (not running in this test) being unreachable: a
	// dependency's answer, not a failure of the edge.
	if status >= 500 && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
		t.Fatalf("%s %s answered %d to %q: %s", op.method, op.path, status, body, answer)
	}
	if status < 400 || status >= 500 {
		return
	}
	after := e.rowCounts(t)
	allowed := edgeRecordedRefusals[errorCode(answer)]
	for table, n := range after {
		if n != before[table] && !slices.Contains(allowed, table) {
			t.Fatalf("%s %s answered %d (%s) to %q, yet %s went from %d to %d rows", op.method, op.path, status, answer, body, table, before[table], n)
		}
	}
}

// edgeRecordedRefusals: the 4xx answers that keep a record by design. Every refusal
// identity audits is left out of the count (auditedRefusal); a check-in too far away
// is kept as refused.
var edgeRecordedRefusals = map[string][]string{
	"merchant.checkin_too_far": {"merchant.visits"},
}

// auditedRefusal: the audit actions of refusals (denied grants and scopes, failed
// and refused sign-ins, lockouts), which a 4xx writes on purpose.
const auditedRefusal = `action LIKE 'denied.%' OR action IN ('auth.login_failed', 'auth.login_refused', 'auth.account_locked')`

type edgeWorld struct {
	app    *app
	h      http.Handler
	authz  *authzWorld
	ops    []edgeOp
	params []edgeParam
	tables []string
}

// edgeOp is one documented operation with a JSON request body.
type edgeOp struct {
	method, path, url string // url: path with a real id in place of {id}
	as                string // "" none, "consumer", else a staff login with a token
	schema            *oaSchema
	ids               map[string]string // body property → a real value (edgeFixtures)
}

// edgeParam is one documented path or query parameter of an operation.
type edgeParam struct {
	method, path, url, as, name, in string
}

type oaSchema struct {
	Ref        string               `yaml:"$ref"`
	Type       string               `yaml:"type"`
	Format     string               `yaml:"format"`
	Pattern    string               `yaml:"pattern"`
	Enum       []any                `yaml:"enum"`
	Example    any                  `yaml:"example"`
	MaxLength  *int                 `yaml:"maxLength"`
	Properties map[string]*oaSchema `yaml:"properties"`
	Items      *oaSchema            `yaml:"items"`
}

type oaParam struct {
	Ref    string    `yaml:"$ref"`
	Name   string    `yaml:"name"`
	In     string    `yaml:"in"`
	Schema *oaSchema `yaml:"schema"`
}

type oaOperation struct {
	Security    *[]map[string][]string `yaml:"security"`
	Parameters  []oaParam              `yaml:"parameters"`
	RequestBody *struct {
		Content map[string]struct {
			Schema *oaSchema `yaml:"schema"`
		} `yaml:"content"`
	} `yaml:"requestBody"`
}

type oaDoc struct {
	Paths      map[string]map[string]oaOperation `yaml:"paths"`
	Components struct {
		Schemas    map[string]*oaSchema `yaml:"schemas"`
		Parameters map[string]oaParam   `yaml:"parameters"`
	} `yaml:"components"`
}

func newEdgeWorld(t testing.TB) *edgeWorld {
	// Thousands of requests from one token in a few seconds: the contract, not the rate limit.
	t.Setenv("TANDEM_TOKEN_RATE", "100000000")
	a := testApp(t)
	e := &edgeWorld{app: a, authz: newAuthzWorld(t, a)}
	e.h = a.router()
	fx := newEdgeFixtures(t, a, e.authz)
	var doc oaDoc
	if err := yaml.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	resolve := func(s *oaSchema) *oaSchema {
		for s != nil && s.Ref != "" {
			s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
		}
		return s
	}
	var resolveAll func(s *oaSchema) *oaSchema
	done := map[*oaSchema]bool{} // schemas may refer to themselves (a tree, a thread of notes)
	resolveAll = func(s *oaSchema) *oaSchema {
		s = resolve(s)
		if s == nil || done[s] {
			return s
		}
		done[s] = true
		for k, p := range s.Properties {
			s.Properties[k] = resolveAll(p)
		}
		s.Items = resolveAll(s.Items)
		return s
	}
	for _, path := range slices.Sorted(maps.Keys(doc.Paths)) {
		for _, method := range slices.Sorted(maps.Keys(doc.Paths[path])) {
			op := doc.Paths[path][method]
			as := "admin"
			if op.Security != nil {
				as = ""
				for _, s := range *op.Security {
					if _, ok := s["consumer"]; ok {
						as = "consumer"
					}
				}
			}
			url := e.pathWithIDs(t, path, fx)
			method = strings.ToUpper(method)
			if who, ok := fx.as[method+" "+path]; ok {
				as = who
			}
			for _, p := range op.Parameters {
				if p.Ref != "" {
					p = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")]
				}
				if p.In == "path" || p.In == "query" {
					e.params = append(e.params, edgeParam{method: method, path: path, url: url, as: as, name: p.Name, in: p.In})
				}
			}
			if op.RequestBody == nil {
				continue
			}
			if _, ok := op.RequestBody.Content["application/json"]; !ok {
				continue // an upload (multipart/form-data): the JSON fuzz has nothing to send
			}
			schema := resolveAll(op.RequestBody.Content["application/json"].Schema)
			if schema == nil {
				t.Fatalf("%s %s: a request body without a JSON schema", method, path)
			}
			e.ops = append(e.ops, edgeOp{method: method, path: path, url: url, as: as, schema: schema, ids: fx.bodies[method+" "+path]})
		}
	}
	if len(e.ops) < 20 {
		t.Fatalf("only %d documented request bodies", len(e.ops))
	}
	rows, err := a.db.Query(context.Background(), `SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema', 'public') ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		e.tables = append(e.tables, name)
	}
	if rows.Close(); len(e.tables) < 30 {
		t.Fatalf("only %d tables: %v", len(e.tables), e.tables)
	}
	return e
}

// edgeFixtures are the real objects behind the documented paths and body ids, made
// through the services (or found in the demo data), so that every documented body
// reaches its binder and, when good, its service, instead of stopping at a 404.
type edgeFixtures struct {
	// paths: a path's prefix ("/api/v1/approvals/") or suffix ("/move") → the id in
	// place of its {id}; a suffix wins over a prefix.
	paths map[string]string
	// bodies: an operation → body property → a real value for it (a uuid field names
	// a real row; an invitation token is a live one).
	bodies map[string]map[string]string
	// as: an operation sent by another login than the admin.
	as map[string]string
}

func newEdgeFixtures(t testing.TB, a *app, w *authzWorld) edgeFixtures {
	t.Helper()
	ctx := context.Background()
	one := func(query string, args ...any) string {
		t.Helper()
		var id string
		if err := a.db.QueryRow(ctx, query, args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return id
	}
	principal := func(login string) *identity.Principal {
		t.Helper()
		p, err := a.identity.Principal(ctx, w.demo.Users[login])
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	admin := principal("admin")
	now := a.clock.Now()
	lead := uuid.MustParse(w.leads["sh1.rep"])

	// sh1.rep's lead: a planned visit (fulfilled by sh1.rep's check-in: a plan is its
	// rep's) and the admin's open visit (checked out by the admin: a visit is its visitor's).
	plan, err := a.merchant.PlanVisit(ctx, principal("sh1.rep"), lead, merchant.NewPlan{StartsAt: now.Add(24 * time.Hour), Minutes: 30, Purpose: "edge"})
	if err != nil {
		t.Fatal(err)
	}
	visit, err := a.merchant.CheckIn(ctx, admin, lead, merchant.CheckIn{Lat: 31.23, Lng: 121.47})
	if err != nil {
		t.Fatal(err)
	}
	// Yesterday's statement of the live merchant, issued by the admin (finance at scope all).
	yesterday := now.In(clock.Shanghai).AddDate(0, 0, -1).Format(time.DateOnly)
	st, err := a.billing.IssueStatement(ctx, admin, uuid.MustParse(w.liveMerchant), billing.CycleT1, yesterday)
	if err != nil {
		t.Fatal(err)
	}
	// A payment exception billing reported, filed in reconciliation's queue by its subscriber.
	exc := uuid.Must(uuid.NewV7())
	payload, err := json.Marshal(events.PaymentException{ExceptionID: exc, Kind: "second_transaction", MchID: "1900000109",
		OutTradeNo: "TDEDGE1", TransactionID: "4200000001", AmountFen: 100, Detail: "edge", At: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range a.recon.Subscriptions() {
		if sub.Topic == events.TopicPaymentException {
			if err := outbox.Run(ctx, a.db, sub, events.Envelope{ID: uuid.Must(uuid.NewV7()), Topic: sub.Topic, Key: exc.String(), Payload: payload}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A new staff user with an open invitation (accepting it sets that user's password only).
	invitee, err := a.identity.CreateUser(ctx, admin, identity.NewUser{Login: "edge.invitee", DisplayName: "edge", Kind: identity.KindStaff,
		OrgUnitID: w.demo.Units[identity.DemoSHTeam1], Password: demoPassword})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := a.identity.Invite(ctx, admin, invitee.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	root, err := a.identity.RootOrgUnit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	consumerID := one(`SELECT consumer_id::text FROM billing.orders WHERE id = $1`, w.order)
	moved := w.demo.Units[identity.DemoSHTeam1] // moved to where it is
	// The demo's onboarding waiting for review, and a signed contract of another lead.
	reviewed := one(`SELECT lead_id::text FROM merchant.onboarding WHERE state = 'auditing' AND review = 'pending' ORDER BY submitted_at LIMIT 1`)
	segment := one(`SELECT id::text FROM marketing.segments ORDER BY id LIMIT 1`)
	sh1 := w.demo.Units[identity.DemoSHTeam1].String()
	team := map[string]string{"owner_unit_id": sh1, "team_unit_id": sh1}
	return edgeFixtures{
		paths: map[string]string{
			"/api/v1/approvals/":                 w.approval,
			"/api/v1/billing/statements/":        st.ID.String(),
			"/api/v1/merchant/pools/":            w.pools["sh1.rep"],
			"/api/v1/merchant/visits/":           visit.ID.String(),
			"/api/v1/reconciliation/queue/":      one(`SELECT id::text FROM recon.queue_items WHERE item_key = $1`, exc.String()),
			"/api/v1/consumer/coupon-batches/":   one(`SELECT id::text FROM consumer.coupon_batches ORDER BY created_at LIMIT 1`),
			"/api/v1/org-units/":                 w.demo.Units[slices.Sorted(maps.Keys(w.demo.Units))[0]].String(),
			"/move":                              moved.String(),
			"/contract/terminate":                one(`SELECT lead_id::text FROM merchant.contracts WHERE lead_id <> $1 ORDER BY signed_at LIMIT 1`, reviewed),
			"/api/v1/marketing/campaigns/":       one(`SELECT id::text FROM marketing.campaigns ORDER BY id LIMIT 1`),
			"/api/v1/marketing/segments/":        segment,
			"/api/v1/merchant/assignment-rules/": one(`SELECT id::text FROM merchant.assignment_rules ORDER BY id LIMIT 1`),
			"/onboarding/reject":                 reviewed,
			"/onboarding/request-change":         reviewed,
		},
		bodies: map[string]map[string]string{
			"POST /api/v1/org-units":                           {"parent_id": root.ID.String()},
			"POST /api/v1/org-units/{id}/move":                 {"parent_id": one(`SELECT parent_id::text FROM identity.org_units WHERE id = $1`, moved)},
			"POST /api/v1/consumer/coupon-batches":             {"template_id": one(`SELECT id::text FROM consumer.coupon_templates ORDER BY id LIMIT 1`)},
			"POST /api/v1/consumer/coupon-batches/{id}/issues": {"consumer_id": consumerID},
			"POST /api/v1/consumer/me/coupons":                 {"batch_id": one(`SELECT id::text FROM consumer.coupon_batches WHERE claimable ORDER BY created_at LIMIT 1`)},
			"PUT /api/v1/billing/me/orders/{id}/coupons":       {"coupon_ids": one(`SELECT id::text FROM consumer.coupons WHERE consumer_id = $1 AND state = 'available' ORDER BY issued_at LIMIT 1`, consumerID)},
			"POST /api/v1/merchant/leads/{id}/check-ins":       {"plan_id": plan.ID.String()},
			"POST /api/v1/marketing/campaigns":                 {"segment_id": segment},
			"POST /api/v1/marketing/campaigns/{id}/audience":   {"segment_id": segment},
			"POST /api/v1/merchant/assignment-rules":           team,
			"PUT /api/v1/merchant/assignment-rules/{id}":       team,
			"POST /api/v1/merchant/commission":                 {"org_unit_id": sh1},
			"PUT /api/v1/merchant/targets":                     {"subject_id": w.demo.Users["sh1.rep"].String()},
			"POST /api/v1/invitations/accept":                  {"token": inv.Token},
		},
		as: map[string]string{"POST /api/v1/merchant/leads/{id}/check-ins": "sh1.rep"},
	}
}

// edgeNoSuchID names no row: a uuid in a body the world has no real one for, and the
// {id} of an operation without a body (whose answer is a 404 at most).
const edgeNoSuchID = "0190a6b2-0000-7000-8000-000000000000"

// pathWithIDs puts a real object behind every {id} (and {user}), so that a request
// reaches the binder (and, when its body is good, the service) instead of stopping at a 404.
func (e *edgeWorld) pathWithIDs(t testing.TB, path string, fx edgeFixtures) string {
	path = strings.ReplaceAll(path, "{user}", e.authz.demo.Users["sh1.rep"].String())
	if !strings.Contains(path, "{id}") {
		return path
	}
	w := e.authz
	var id string
	for key, fid := range fx.paths { // a suffix ("/move") before a prefix ("/api/v1/org-units/")
		if strings.HasSuffix(path, key) || (id == "" && strings.HasPrefix(path, key)) {
			id = fid
		}
	}
	switch {
	case id != "":
	case strings.HasPrefix(path, "/api/v1/users/"):
		id = w.demo.Users["sh1.rep"].String()
	case strings.HasPrefix(path, "/api/v1/roles/"):
		for key, rid := range w.roles {
			if key != "admin" {
				id = rid
				break
			}
		}
	case strings.HasPrefix(path, "/api/v1/tokens/"):
		id = w.tokenIDs["sh1.rep"]
	case strings.HasPrefix(path, "/api/v1/merchant/leads/"):
		id = w.leads["sh1.rep"]
	case strings.HasPrefix(path, "/api/v1/merchant/reps/"):
		id = w.demo.Users["sh1.rep"].String()
	case strings.HasPrefix(path, "/api/v1/merchant/merchants/"), strings.HasPrefix(path, "/api/v1/billing/merchants/"):
		if err := e.app.db.QueryRow(context.Background(), `SELECT id::text FROM merchant.merchants LIMIT 1`).Scan(&id); err != nil {
			t.Fatal(err)
		}
	case strings.HasPrefix(path, "/api/v1/consumer/members/"):
		if err := e.app.db.QueryRow(context.Background(), `SELECT id::text FROM consumer.members LIMIT 1`).Scan(&id); err != nil {
			t.Fatal(err)
		}
	case strings.HasPrefix(path, "/api/v1/billing/"):
		id = w.order
	}
	if id == "" {
		id = edgeNoSuchID // no such row: the path can give a 404 at most
	}
	return strings.ReplaceAll(path, "{id}", id)
}

func (e *edgeWorld) send(op edgeOp, url string, body []byte) (int, []byte) {
	req := httptest.NewRequest(op.method, url, strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	if op.as != "" {
		req.Header.Set("Authorization", "Bearer "+e.authz.tokens[op.as])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func (e *edgeWorld) rowCounts(t testing.TB) map[string]int64 {
	t.Helper()
	parts := make([]string, len(e.tables))
	for i, name := range e.tables {
		parts[i] = fmt.Sprintf("SELECT '%s', count(*) FROM %s", name, name)
		if name == "audit.entries" {
			parts[i] += " WHERE NOT (" + auditedRefusal + ")"
		}
	}
	rows, err := e.app.db.Query(context.Background(), strings.Join(parts, " UNION ALL "))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			t.Fatal(err)
		}
		out[name] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func errorCode(body []byte) string {
	var b httpx.ErrorBody
	_ = json.Unmarshal(body, &b)
	return b.Error.Code
}

func errorOfBody(body []byte) httpx.ErrorObject {
	var b httpx.ErrorBody
	_ = json.Unmarshal(body, &b)
	return b.Error
}

// textField is a text property of a body, by its path in the binder's naming
// ("roles[0]"), with the document's maxLength.
type textField struct {
	path      string
	maxLength int
	money     bool
}

// textFields lists the text properties of s the binder checks (not uuids nor
// timestamps: those are parsed, never stored as text).
func textFields(s *oaSchema, path string) []textField {
	var out []textField
	if s == nil || strings.Count(path, ".")+strings.Count(path, "[") > 3 {
		return nil // a schema that refers to itself: deep enough
	}
	switch s.Type {
	case "object":
		for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out = append(out, textFields(s.Properties[k], p)...)
		}
	case "array":
		if s.Items != nil {
			out = append(out, textFields(s.Items, path+"[0]")...)
		}
	case "string":
		if s.Format == "uuid" || s.Format == "date-time" {
			return nil
		}
		f := textField{path: path, maxLength: -1, money: strings.Contains(s.Pattern, `\.[0-9]`)}
		if s.MaxLength != nil {
			f.maxLength = *s.MaxLength
		}
		out = append(out, f)
	}
	return out
}

// example is a plausible value of s, the document's example where it gives one for
// an object (a segment's rule, an area); ids are real where the world has one (op.ids).
func (op edgeOp) example(s *oaSchema) any { return op.exampleAt(s, 0, true) }

// generated is example with every property of every object present, so that each
// text field can be aimed at by its path (bodyWith).
func (op edgeOp) generated(s *oaSchema) any { return op.exampleAt(s, 0, false) }

func (op edgeOp) exampleAt(s *oaSchema, depth int, documented bool) any {
	if s == nil || depth > 4 {
		return nil // a schema that refers to itself: deep enough
	}
	switch s.Type {
	case "object":
		if ex, ok := s.Example.(map[string]any); ok && documented {
			var v any // a copy: the caller may change it
			b, _ := json.Marshal(ex)
			_ = json.Unmarshal(b, &v)
			return v
		}
		m := map[string]any{}
		for k, p := range s.Properties {
			m[k] = op.exampleAt(p, depth+1, documented)
			if id, ok := op.ids[k]; ok && depth == 0 {
				if m[k] = id; p != nil && p.Type == "array" {
					m[k] = []any{id}
				}
			}
		}
		return m
	case "array":
		if s.Items == nil {
			return []any{}
		}
		return []any{op.exampleAt(s.Items, depth+1, documented)}
	case "integer":
		return 1
	case "number":
		if f, ok := s.Example.(float64); ok {
			return f
		}
		return 1.5
	case "boolean":
		return false
	}
	switch {
	case len(s.Enum) > 0:
		return fmt.Sprint(s.Enum[0])
	case s.Example != nil:
		return fmt.Sprint(s.Example)
	case s.Format == "uuid":
		return edgeNoSuchID
	case s.Format == "date":
		return "2026-12-01"
	case s.Format == "date-time":
		return "2026-12-01T10:00:00+08:00"
	case s.Format == "uri":
		return "https://example.com/hook"
	}
	return "x"
}

// bodyWith is the generated body with the text at path replaced by raw (a JSON string
// literal, written as is so that it may hold bytes json.Marshal would mend).
func (op edgeOp) bodyWith(path, raw string) string {
	const mark = "\x01edge-mark\x01"
	v := op.generated(op.schema)
	var set func(v any, path string) any
	set = func(v any, path string) any {
		head, rest, _ := strings.Cut(path, ".")
		if name, _, ok := strings.Cut(head, "["); ok { // textFields only ever names [0]
			m := v.(map[string]any)
			arr := m[name].([]any)
			if rest == "" {
				arr[0] = mark
			} else {
				arr[0] = set(arr[0], rest)
			}
			return m
		}
		m := v.(map[string]any)
		if rest == "" {
			m[head] = mark
		} else {
			m[head] = set(m[head], rest)
		}
		return m
	}
	v = set(v, path)
	b, _ := json.Marshal(v)
	markJSON, _ := json.Marshal(mark)
	return strings.Replace(string(b), string(markJSON), raw, 1)
}

// numberFields lists the top-level number properties of s.
func numberFields(s *oaSchema) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
		if t := s.Properties[k].Type; t == "integer" || t == "number" {
			out = append(out, k)
		}
	}
	return out
}

func (op edgeOp) seeds() []string {
	base, _ := json.Marshal(op.example(op.schema))
	out := []string{string(base), "", "null", "[]", `{"no_such_field":1}`, string(base) + "{}", `{"a":`}
	for _, k := range numberFields(op.schema) {
		for _, n := range []string{"9223372036854775807", "-9223372036854775808", "9223372036854775808", "1e308", "-1e308", "0", "-1", "1.5", `"1"`, "null"} {
			out = append(out, op.bodyWith(k, n))
		}
	}
	for _, f := range textFields(op.schema, "") {
		out = append(out,
			op.bodyWith(f.path, `"a\u0000b"`),
			op.bodyWith(f.path, "\"\xff\xfe\""),
			op.bodyWith(f.path, `1`),
			op.bodyWith(f.path, `"`+strings.Repeat("长", max(f.maxLength, 0)+1)+`"`),
		)
		if f.money {
			for _, amount := range []string{"92233720368547758.07", "21474836.48", "21474836.47", "0.00", "-1.00", "0.01", "1e3"} {
				out = append(out, op.bodyWith(f.path, `"`+amount+`"`))
			}
		}
	}
	return out
}

// reachesService: the answer to a documented example body came from past the binder
// (a service's answer, or its Validate's), not from a path naming nothing (404) nor
// from a body the handler's type cannot take.
func reachesService(status int, answer []byte) bool {
	switch errorCode(answer) {
	case "invalid_json", "invalid_body", "unknown_field", "unsupported_media_type":
		return false
	}
	return status != http.StatusNotFound
}

// checkContract holds every documented body and parameter to the contract, with the
// exact code and field: the document's maxLength is the binder's. Every documented
// body must reach its service with the document's example (ids made real by
// newEdgeFixtures), so that none is left undriven.
func (e *edgeWorld) checkContract(t testing.TB) {
	want := func(op edgeOp, url, body string, status int, code, field string) {
		t.Helper()
		got, answer := e.send(op, url, []byte(body))
		if ans := errorOfBody(answer); got != status || ans.Code != code || ans.Field != field {
			t.Errorf("%s %s %.120q: %d %s, want %d %s naming %q", op.method, op.path, body, got, answer, status, code, field)
		}
	}
	// tooLong accepts the binder's text_too_long or the domain's own, stricter limit
	// (invalid_input), as long as the answer is a 400 naming the field.
	tooLong := func(op edgeOp, body, field string) {
		t.Helper()
		got, answer := e.send(op, op.url, []byte(body))
		if ans := errorOfBody(answer); got != 400 || ans.Field != field || (ans.Code != httpx.CodeTextTooLong && ans.Code != "invalid_input") {
			t.Errorf("%s %s %.120q: %d %s, want 400 naming %q", op.method, op.path, body, got, answer, field)
		}
	}
	var undocumented []string
	fields := 0
	for _, op := range e.ops {
		base, _ := json.Marshal(op.example(op.schema))
		if strings.Contains(op.url, edgeNoSuchID) {
			t.Errorf("%s %s: no real object behind the path (add one to newEdgeFixtures)", op.method, op.path)
			continue
		}
		if status, answer := e.send(op, op.url, base); !reachesService(status, answer) {
			// The document's body does not decode into the handler's, or the path names
			// nothing in this world (a fixture is missing in newEdgeFixtures): its fields
			// cannot be aimed at one by one, and the fuzz would only ever see a 404.
			t.Errorf("%s %s: the document's example body %.200s stops at %d %s", op.method, op.url, base, status, answer)
			continue
		}
		for _, f := range textFields(op.schema, "") {
			fields++
			if f.maxLength < 0 {
				// The binder's default limit holds; the document does not say so
				// (TestEveryDocumentedStringHasAMaxLength refuses that).
				undocumented = append(undocumented, op.method+" "+op.path+" "+f.path)
				f.maxLength = httpx.DefaultMaxLen
			}
			want(op, op.url, op.bodyWith(f.path, `"a\u0000b"`), 400, httpx.CodeInvalidText, f.path)
			want(op, op.url, op.bodyWith(f.path, "\"ok\xffok\""), 400, httpx.CodeInvalidText, f.path)
			tooLong(op, op.bodyWith(f.path, `"`+strings.Repeat("长", f.maxLength+1)+`"`), f.path)
			// Exactly maxLength characters pass the contract (the domain may still refuse).
			body := op.bodyWith(f.path, `"`+strings.Repeat("长", f.maxLength)+`"`)
			if _, answer := e.send(op, op.url, []byte(body)); errorOfBody(answer).Field == f.path &&
				(errorCode(answer) == httpx.CodeTextTooLong || errorCode(answer) == httpx.CodeInvalidText) {
				t.Errorf("%s %s: %s of maxLength %d characters refused: %s", op.method, op.path, f.path, f.maxLength, answer)
			}
			if f.money {
				for _, amount := range []string{"92233720368547758.07", "21474836.48", "0.00", "-0.01"} {
					want(op, op.url, op.bodyWith(f.path, `"`+amount+`"`), 400, httpx.CodeAmountOutOfRange, f.path)
				}
			}
		}
	}
	if len(undocumented) > 0 {
		t.Logf("%d text fields have no maxLength in openapi.yaml (the binder's %d holds): %v", len(undocumented), httpx.DefaultMaxLen, undocumented)
	}
	for _, p := range e.params {
		op := edgeOp{method: p.method, path: p.path, as: p.as}
		u := p.url
		if p.in == "path" {
			u = strings.Replace(p.path, "{"+p.name+"}", url.PathEscape("a\x00b"), 1)
		} else {
			u += "?" + url.Values{p.name: {"a\x00b"}}.Encode()
		}
		body := ""
		if p.method != "GET" && p.method != "DELETE" {
			body = "{}"
		}
		want(op, u, body, 400, httpx.CodeInvalidText, p.name)
	}
	// The cases issue 11 found, by name.
	for _, op := range e.ops {
		switch op.method + " " + op.path {
		case "POST /api/v1/merchant/leads":
			want(op, op.url, op.bodyWith("name", `"`+strings.Repeat("店", 100_000)+`"`), 400, httpx.CodeTextTooLong, "name")
		case "POST /api/v1/billing/me/orders":
			want(op, op.url, op.bodyWith("amount", `"92233720368547758.07"`), 400, httpx.CodeAmountOutOfRange, "amount")
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	names := map[string]bool{}
	for _, op := range e.ops {
		names[op.method+" "+op.path] = true
	}
	t.Logf("edge contract: %d documented request bodies, every one driven past its binder, with %d text fields, %d path and query parameters", len(names), fields, len(e.params))
}
