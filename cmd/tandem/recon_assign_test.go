package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/identity"
)

// TestReconQueueAssignChecksTheAssignee: an exceptions-queue item goes only to a user
// who exists, is enabled and can work the queue (recon.exception.resolve); any other
// assignee is refused with 422 naming the field "assignee", in the caller's language,
// and the item keeps its assignee.
func TestReconQueueAssignChecksTheAssignee(t *testing.T) {
	a := testApp(t)
	ctx := context.Background()
	demo, err := a.identity.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	// One amount mismatch: one open queue item.
	bill := "\uFEFF交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
		"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\r\n" +
		"`2025-03-14 10:00:00,`wxd678efh567hg6787,`1900000109,`0,`,`4200000001,`TD1,`oUser,`JSAPI,`SUCCESS,`OTHERS,`CNY,`1.00,`0.00,`0,`0,`0.00,`0.00,`,`,`Tandem,`,`0.01000,`0.60%,`1.00,`0.00,`\r\n" +
		"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n`1,`1.00,`0.00,`0.00,`0.01000,`1.00,`0.00\r\n"
	ledger := "kind,out_trade_no,transaction_id,out_refund_no,refund_id,amount_fen,fee_fen,occurred_at\nPAY,TD1,4200000001,,,101,1,2025-03-14T10:00:00+08:00\n"
	if _, err := a.recon.RunFile(ctx, "1900000109", "2025-03-14", strings.NewReader(bill), reconciliation.CSVLedgerReader(strings.NewReader(ledger))); err != nil {
		t.Fatal(err)
	}
	items, err := a.recon.Queue(ctx, identity.System(), reconciliation.QueueFilter{Limit: 10})
	if err != nil || len(items) != 1 {
		t.Fatalf("queue: %v %v", items, err)
	}
	item := items[0].ID
	finance := demo.Users["finance"]
	fp, err := a.identity.Principal(ctx, finance)
	if err != nil {
		t.Fatal(err)
	}
	_, token, err := a.identity.CreateToken(ctx, fp, identity.NewToken{Name: "assign test"})
	if err != nil {
		t.Fatal(err)
	}
	// A second finance user, then disabled.
	sys := identity.System()
	gone, err := a.identity.CreateUser(ctx, sys, identity.NewUser{Login: "finance.gone", DisplayName: "Gone", Kind: identity.KindStaff, OrgUnitID: demo.Units[identity.DemoShanghai], Password: demoPassword,
		Roles: []string{identity.RoleFinance}})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	if _, err := a.identity.UpdateUser(ctx, sys, gone.ID, identity.UserPatch{Disabled: &yes}); err != nil {
		t.Fatal(err)
	}

	h := a.router()
	assign := func(assignee, lang string) (int, map[string]any) {
		body := `{"assignee":null}`
		if assignee != "" {
			body = `{"assignee":"` + assignee + `"}`
		}
		req := httptest.NewRequest("POST", "/api/v1/reconciliation/queue/"+item.String()+"/assign", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", lang)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var out map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &out)
		return rec.Code, out
	}
	for _, c := range []struct {
		name, assignee, code string
	}{
		{"made up", uuid.Must(uuid.NewV7()).String(), reconciliation.CodeAssigneeUnknown},
		{"disabled", gone.ID.String(), reconciliation.CodeAssigneeDisabled},
		{"a sales rep", demo.Users["sh1.rep"].String(), reconciliation.CodeAssigneeNotFinance},
		{"a merchant owner", demo.Users["shop.owner"].String(), reconciliation.CodeAssigneeNotFinance},
	} {
		st, out := assign(c.assignee, "en")
		e, _ := out["error"].(map[string]any)
		if st != 422 || e["code"] != c.code || e["field"] != "assignee" {
			t.Fatalf("%s: %d %v", c.name, st, out)
		}
		if st, out := assign(c.assignee, "zh-CN"); st != 422 || !strings.ContainsAny(out["error"].(map[string]any)["message"].(string), "用户财务") {
			t.Fatalf("%s in Chinese: %d %v", c.name, st, out)
		}
		it, err := a.recon.QueueItem(ctx, sys, item)
		if err != nil || it.Assignee != nil {
			t.Fatalf("%s: the item was assigned: %v %v", c.name, it.Assignee, err)
		}
	}
	if st, out := assign(finance.String(), "en"); st != 200 {
		t.Fatalf("finance: %d %v", st, out)
	}
	if it, err := a.recon.QueueItem(ctx, sys, item); err != nil || it.Assignee == nil || *it.Assignee != finance {
		t.Fatalf("assigned to finance: %v %v", it.Assignee, err)
	}
	if st, out := assign("", "en"); st != 200 {
		t.Fatalf("unassign: %d %v", st, out)
	}
}
