package billing_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/tandemcrm/tandem/billing"
)

func (w *world) call(method, path string, headers map[string]string, in, out any) int {
	w.t.Helper()
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			w.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, w.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			w.t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func TestHTTPOrderPayRefund(t *testing.T) {
	w := newWorld(t)
	c := w.member("o-http")
	me := map[string]string{"X-Test-Consumer": c.String()}
	var o billing.Order
	if st := w.call("POST", "/api/v1/billing/me/orders", me, map[string]any{"merchant_id": w.merchant, "description": "小笼包", "amount": "30.00"}, &o); st != http.StatusCreated {
		t.Fatalf("place order: %d", st)
	}
	var pp billing.Prepay
	if st := w.call("POST", "/api/v1/billing/me/orders/"+o.ID.String()+"/prepay", me, map[string]any{"kind": "native"}, &pp); st != http.StatusOK || pp.CodeURL == "" {
		t.Fatalf("prepay: %d %+v", st, pp)
	}
	if st := w.call("POST", "/api/v1/billing/me/orders/"+o.ID.String()+"/prepay", me, map[string]any{"kind": "cash"}, nil); st != http.StatusBadRequest {
		t.Fatalf("prepay of an unknown kind: %d", st)
	}
	w.pay(o.OrderNo)

	if st := w.call("GET", "/api/v1/billing/orders/"+o.ID.String(), map[string]string{"X-Test-Login": "shop2.owner"}, nil, nil); st != http.StatusNotFound {
		t.Fatalf("another merchant's owner reads the order: %d", st)
	}
	if st := w.call("GET", "/api/v1/billing/orders", nil, nil, nil); st != http.StatusUnauthorized {
		t.Fatalf("anonymous list: %d", st)
	}
	var d billing.OrderDetail
	if st := w.call("GET", "/api/v1/billing/orders/"+o.ID.String(), map[string]string{"X-Test-Login": "shop.owner"}, nil, &d); st != http.StatusOK ||
		d.State != billing.StatePaid || len(d.Postings) != 3 {
		t.Fatalf("owner reads the order: %d %+v", st, d)
	}
	fin := map[string]string{"X-Test-Login": "finance", "Idempotency-Key": "refund-1"}
	var r1, r2 billing.Refund
	if st := w.call("POST", "/api/v1/billing/orders/"+o.ID.String()+"/refunds", fin, map[string]any{"amount": "10.00", "reason": "少一笼"}, &r1); st != http.StatusCreated {
		t.Fatalf("refund: %d", st)
	}
	if st := w.call("POST", "/api/v1/billing/orders/"+o.ID.String()+"/refunds", fin, map[string]any{"amount": "10.00", "reason": "少一笼"}, &r2); st != http.StatusCreated || r2.ID != r1.ID {
		t.Fatalf("the same key again: %d %s vs %s", st, r2.ID, r1.ID)
	}
	if n := w.count(`SELECT count(*) FROM billing.refunds`); n != 1 {
		t.Fatalf("%d refunds", n)
	}
	if st := w.call("POST", "/api/v1/billing/orders/"+o.ID.String()+"/refunds", map[string]string{"X-Test-Login": "shop.owner"}, map[string]any{"amount": "1.00", "reason": "x"}, nil); st != http.StatusForbidden {
		t.Fatalf("a merchant owner refunds: %d", st)
	}
}
