package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/identity"
)

// seedReconRun stores one unbalanced run (3 matched, 1 missing on our side, repaired)
// as reconciliation writes it, and returns its id.
func seedReconRun(t *testing.T, a *app) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7())
	if _, err := a.db.Exec(ctx, `INSERT INTO recon.runs (id, mchid, bill_date, attempt, source, state, bill_type,
		started_at, finished_at, bill_lines, order_fen, settlement_fen, refund_fen, requested_refund_fen, fee_milli_fen,
		net_milli_fen, ledger_records, carried_in, repaired, problem_count, problems)
		VALUES ($1, '1900000109', '2025-03-14', 2, 'file', 'unbalanced', 'ALL', now(), now(), 4, 4934, 4934, 0, 0, 2960,
		4931040, 3, 0, 1, 1, '[{"line": 9, "reason": "bad amount"}]')`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.Exec(ctx, `INSERT INTO recon.run_classes VALUES
		($1, 'matched', 3, 3, 3700, 3700, 0, 0, 2220, 3, 3700),
		($1, 'missing_ours', 1, 1, 1234, 1234, 0, 0, 740, 0, 0)`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.db.Exec(ctx, `INSERT INTO recon.exceptions (id, run_id, seq, class, kind, out_trade_no, transaction_id,
		out_refund_no, refund_id, line_no, bill_state, bill_time, bill_amount_fen, bill_fee_milli_fen, our_status, repaired_at, note)
		VALUES ($1, $2, 1, 'missing_ours', 'PAY', 'T20250314000001', '4200000000202503140001', '', '', 7, 'SUCCESS',
		'2025-03-14 10:00:00+08', 1234, 740, '', now(), 'repaired: WeChat confirmed it')`, uuid.Must(uuid.NewV7()), id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestReconciliationAPIAndConsole(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	demo, err := a.identity.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	runID := seedReconRun(t, a)
	h := a.router()
	token := func(login string) string {
		p, err := a.identity.Principal(ctx, demo.Users[login])
		if err != nil {
			t.Fatal(err)
		}
		_, secret, err := a.identity.CreateToken(ctx, p, identity.NewToken{Name: "recon test"})
		if err != nil {
			t.Fatal(err)
		}
		return secret
	}
	session := func(login string) string {
		s, err := a.identity.Login(ctx, identity.LoginAttempt{Login: login, Password: demoPassword, IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		return s.Token
	}
	call := func(path, bearer, cookie string) (int, string, http.Header) {
		req := httptest.NewRequest("GET", path, nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String(), rec.Header()
	}
	finance, rep := token("finance"), token("sh1.rep")

	// The API: finance lists and reads runs; a rep is refused.
	code, body, _ := call("/api/v1/reconciliation/runs", finance, "")
	var page struct {
		Items []struct {
			ID         string `json:"id"`
			Date       string `json:"date"`
			State      string `json:"state"`
			Exceptions int64  `json:"exceptions"`
			Classes    map[string]struct {
				Items int64 `json:"items"`
			} `json:"classes"`
		} `json:"items"`
	}
	if code != 200 || json.Unmarshal([]byte(body), &page) != nil || len(page.Items) != 1 {
		t.Fatalf("finance lists runs: %d %s", code, body)
	}
	if r := page.Items[0]; r.ID != runID.String() || r.Date != "2025-03-14" || r.State != "unbalanced" || r.Exceptions != 1 ||
		r.Classes["matched"].Items != 3 || r.Classes["missing_ours"].Items != 1 {
		t.Fatalf("run: %+v", r)
	}
	if code, body, _ := call("/api/v1/reconciliation/runs?state=balanced", finance, ""); code != 200 || !strings.Contains(body, `"items":[]`) {
		t.Fatalf("filtered by state: %d %s", code, body)
	}
	if code, body, _ := call("/api/v1/reconciliation/runs?since=14-03-2025", finance, ""); code != 400 || !strings.Contains(body, "recon.invalid_date") {
		t.Fatalf("bad date: %d %s", code, body)
	}
	code, body, _ = call("/api/v1/reconciliation/runs/"+runID.String(), finance, "")
	if code != 200 || !strings.Contains(body, `"out_trade_no":"T20250314000001"`) || !strings.Contains(body, `"repaired_at":"20`) ||
		!strings.Contains(body, `"reason":"bad amount"`) {
		t.Fatalf("finance reads a run: %d %s", code, body)
	}
	if code, body, _ := call("/api/v1/reconciliation/runs/"+uuid.NewString(), finance, ""); code != 404 || !strings.Contains(body, "recon.run_not_found") {
		t.Fatalf("unknown run: %d %s", code, body)
	}
	for _, path := range []string{"/api/v1/reconciliation/runs", "/api/v1/reconciliation/runs/" + runID.String()} {
		if code, body, _ := call(path, rep, ""); code != 403 || !strings.Contains(body, "identity.forbidden") {
			t.Fatalf("rep %s: %d %s", path, code, body)
		}
		if code, _, _ := call(path, "", ""); code != 401 {
			t.Fatalf("anonymous %s: %d", path, code)
		}
	}

	// The console: finance sees the menu entry, the runs, the run and its CSV; a rep
	// has no entry and is refused the pages.
	fs, rs := session("finance"), session("sh1.rep")
	code, body, _ = call("/recon", "", fs)
	if code != 200 || !strings.Contains(body, `id="nav-recon"`) || !strings.Contains(body, "1900000109") ||
		!strings.Contains(body, "有差异") || !strings.Contains(body, "我方缺失 1") || !strings.Contains(body, "/recon/"+runID.String()) {
		t.Fatalf("finance's runs page: %d %s", code, body)
	}
	code, body, _ = call("/recon/"+runID.String(), "", fs)
	if code != 200 || !strings.Contains(body, "T20250314000001") || !strings.Contains(body, "12.34") ||
		!strings.Contains(body, `id="recon-classes"`) || !strings.Contains(body, "bad amount") {
		t.Fatalf("finance's run page: %d %s", code, body)
	}
	code, body, hdr := call("/recon/"+runID.String()+"?format=csv", "", fs)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || !strings.HasPrefix(body, "\ufeff类别,") ||
		!strings.Contains(body, "我方缺失,支付,T20250314000001") {
		t.Fatalf("exceptions CSV: %d %s", code, body)
	}
	if code, body, _ := call("/recon/"+uuid.NewString(), "", fs); code != 404 {
		t.Fatalf("unknown run page: %d %s", code, body)
	}
	code, body, _ = call("/", "", rs)
	if code != 200 || strings.Contains(body, `id="nav-recon"`) {
		t.Fatalf("rep's menu: %d", code)
	}
	for _, path := range []string{"/recon", "/recon/" + runID.String(), "/recon/" + runID.String() + "?format=csv"} {
		if code, body, _ := call(path, "", rs); code != 403 || strings.Contains(body, "T20250314000001") || strings.Contains(body, "1900000109") {
			t.Fatalf("rep %s: %d %s", path, code, body)
		}
	}
}
