package merchant_test

import (
	"net/http"
	"testing"

	"github.com/tandemcrm/tandem/merchant"
)

// Edit (scoped, audited, deduplicated), search, filters and the timeline, through the API.
func TestEditSearchTimelineAPI(t *testing.T) {
	t.Parallel()
	w, _ := poolWorld(t, merchant.Config{})
	call := api(t, w)
	rep := w.p(t, "sh1.rep")
	a := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, merchant.NewLead{Name: "南翔小笼 Nanxiang", Category: "restaurant",
		Address: "豫园路85号", Lat: 31.2272, Lng: 121.492, Phone: "13800138000", City: "上海"}))
	b := must[merchant.Lead](t)(w.svc.CreateLead(w.ctx, rep, merchant.NewLead{Name: "小杨生煎 Yang's", Category: "restaurant",
		Address: "黄河路90号", Lat: 31.2351, Lng: 121.4736, Phone: "021-6322-0000", City: "上海"}))
	must[merchant.Lead](t)(w.svc.Claim(w.ctx, rep, a.ID))
	id := a.ID.String()
	// Another team's rep may not edit; the owner may; a duplicate phone is refused.
	if st, _ := call("sh2.rep", "PATCH", "/api/v1/merchant/leads/"+id, map[string]any{"name": "x"}); st != http.StatusNotFound {
		t.Fatalf("other team edits: %d", st)
	}
	if st, body := call("sh1.rep", "PATCH", "/api/v1/merchant/leads/"+id, map[string]any{"address": "豫园路87号", "phone": "+86 21 6322 0000"}); st != http.StatusConflict {
		t.Fatalf("duplicate edit: %d %v", st, body)
	}
	if st, body := call("sh1.rep", "PATCH", "/api/v1/merchant/leads/"+id, map[string]any{"address": "豫园路87号"}); st != http.StatusOK || body["address"] != "豫园路87号" {
		t.Fatalf("edit: %d %v", st, body)
	}
	if auditCount(t, w, "merchant.lead.edit") != 1 {
		t.Fatal("edit not audited")
	}
	// Search by a name fragment, an address fragment and phone digits; filter by stage and holding.
	for q, want := range map[string]string{"南翔": id, "黄河路": b.ID.String(), "6322": b.ID.String(), "0013 8000": id} {
		st, body := call("sh1.rep", "GET", "/api/v1/merchant/leads?q="+urlq(q), nil)
		items := body["items"].([]any)
		if st != http.StatusOK || len(items) != 1 || items[0].(map[string]any)["id"] != want {
			t.Fatalf("search %q: %d %v", q, st, body)
		}
	}
	if _, body := call("sh1.rep", "GET", "/api/v1/merchant/leads?held=true", nil); len(body["items"].([]any)) != 1 {
		t.Fatalf("held filter: %v", body)
	}
	if st, _ := call("sh1.rep", "GET", "/api/v1/merchant/leads?stage=nonsense", nil); st != http.StatusBadRequest {
		t.Fatalf("bad stage filter: %d", st)
	}
	// Check-in without coordinates is a missing field; visited needs a check-in.
	st, body := call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/check-ins", map[string]any{"note": "here"})
	if code, field := errCode(body); st != http.StatusBadRequest || code != "invalid_input" || field != "lat" {
		t.Fatalf("check-in without coordinates: %d %v", st, body)
	}
	st, body = call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/stage", map[string]any{"stage": "visited"})
	if code, _ := errCode(body); st != http.StatusUnprocessableEntity || code != merchant.CodeVisitNeeded {
		t.Fatalf("visited without a check-in: %d %v", st, body)
	}
	call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/check-ins", map[string]any{"lat": 31.2272, "lng": 121.492})
	call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/follow-ups", map[string]any{"channel": "call", "note": "owner likes it"})
	if st, body = call("sh1.rep", "POST", "/api/v1/merchant/leads/"+id+"/stage", map[string]any{"stage": "visited"}); st != http.StatusOK {
		t.Fatalf("visited: %d %v", st, body)
	}
	st, body = call("sh1.lead", "GET", "/api/v1/merchant/leads/"+id+"/timeline", nil)
	kinds := map[string]int{}
	for _, it := range body["items"].([]any) {
		kinds[it.(map[string]any)["kind"].(string)]++
	}
	if st != http.StatusOK || kinds["check_in"] != 1 || kinds["follow_up"] != 1 || kinds["stage"] != 2 || kinds["owner"] != 2 {
		t.Fatalf("timeline: %d %v", st, kinds)
	}
	// The system's reasons come as codes with their parameters, beside the English text
	// they always had; a reason a person typed has no code.
	codes := map[string]map[string]any{}
	for _, it := range body["items"].([]any) {
		e := it.(map[string]any)
		code, _ := e["reason_code"].(string)
		params, _ := e["params"].(map[string]any)
		codes[code] = params
		if code == string(merchant.ReasonCreatedInto) && e["text"] != "created: created into "+params["pool"].(string) {
			t.Errorf("created entry's text: %v", e)
		}
	}
	if len(codes) != 4 || codes["created_into"]["pool"] == "" || codes["claimed_from"]["pool"] != codes["created_into"]["pool"] ||
		codes["created"] != nil || codes[""] != nil {
		t.Fatalf("timeline reason codes: %v", codes)
	}
	if st, _ = call("hz1.rep", "GET", "/api/v1/merchant/leads/"+id+"/timeline", nil); st != http.StatusNotFound {
		t.Fatalf("another city's timeline: %d", st)
	}
}
