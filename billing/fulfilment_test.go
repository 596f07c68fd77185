package billing_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

// merchantHook is a merchant's endpoint: it checks the Standard Webhooks signature with
// its own code (not billing's), sees whether the attempt was on record before the call
// reached it, and answers from a script of statuses.
type merchantHook struct {
	t        *testing.T
	w        *world
	secret   string
	statuses []int // answered in turn; the last one ever after

	mu         sync.Mutex
	ids        []string // webhook-id of each call
	payloadIDs []string
	unrecorded int // calls that came with no unfinished attempt on record
	badSig     int
}

func (h *merchantHook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	id, ts := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp")
	mac := hmac.New(sha256.New, []byte(h.secret))
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	var p billing.WebhookPayload
	_ = json.Unmarshal(body, &p)
	var open int
	if err := h.w.db.QueryRow(r.Context(), `SELECT count(*) FROM billing.webhook_deliveries
		WHERE order_id = $1 AND finished_at IS NULL AND webhook_id = $2`, p.OrderID, id).Scan(&open); err != nil {
		h.t.Error(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("webhook-signature") != want {
		h.badSig++
	}
	if open != 1 {
		h.unrecorded++
	}
	h.ids = append(h.ids, id)
	h.payloadIDs = append(h.payloadIDs, p.EventID.String())
	status := h.statuses[min(len(h.ids), len(h.statuses))-1]
	rw.WriteHeader(status)
}

func (w *world) hook(secret string, statuses ...int) *merchantHook {
	h := &merchantHook{t: w.t, w: w, secret: secret, statuses: statuses}
	srv := httptest.NewServer(h)
	w.t.Cleanup(srv.Close)
	terms, _ := w.merchants.Terms(w.ctx, w.merchant)
	terms.WebhookURL, terms.WebhookSecret = srv.URL, secret
	w.merchants.set(w.merchant, terms)
	return h
}

type attempt struct {
	Attempt   int32
	Status    *int32
	WebhookID string
	Finished  bool
}

func (w *world) attempts(orderID uuid.UUID) []attempt {
	w.t.Helper()
	rows, err := w.db.Query(w.ctx, `SELECT attempt, status_code, webhook_id, finished_at IS NOT NULL
		FROM billing.webhook_deliveries WHERE order_id = $1 ORDER BY attempt`, orderID)
	if err != nil {
		w.t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[attempt])
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// A failed call, its retry, and a repair (the payment event published again with a
// new event id, as reconciliation's repair does): one webhook id throughout, signed the
// Standard Webhooks way, every attempt on record before the merchant saw it.
func TestWebhookAttemptsShareOneIDAndAreRecordedFirst(t *testing.T) {
	w := newWorld(t)
	h := w.hook("s3cret", http.StatusServiceUnavailable, http.StatusServiceUnavailable, http.StatusOK)
	o := w.order(w.member("o-hook"), 800)
	w.pay(o.OrderNo)
	ev := w.outboxEvents(events.TopicPaymentSucceeded)[0]
	if err := w.svc.Fulfil(w.ctx, ev); err == nil {
		t.Fatal("a 503 from the merchant is not a success")
	}
	if err := w.svc.Fulfil(w.ctx, ev); err == nil { // the retry of the same task
		t.Fatal("a 503 from the merchant is not a success")
	}
	repair := ev
	repair.ID = uuid.Must(uuid.NewV7())
	if err := w.svc.Fulfil(w.ctx, repair); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Fulfil(w.ctx, ev); err != nil { // delivered again: not called again
		t.Fatal(err)
	}
	want := billing.WebhookID(o.ID).String()
	if len(h.ids) != 3 || h.badSig != 0 || h.unrecorded != 0 {
		t.Fatalf("%d calls, %d badly signed, %d not on record before the call", len(h.ids), h.badSig, h.unrecorded)
	}
	for i := range h.ids {
		if h.ids[i] != want || h.payloadIDs[i] != want {
			t.Fatalf("call %d: webhook-id %s, event_id %s; want %s on every call", i+1, h.ids[i], h.payloadIDs[i], want)
		}
	}
	got := w.attempts(o.ID)
	if len(got) != 3 {
		t.Fatalf("attempts %+v", got)
	}
	for i, a := range got {
		wantStatus := []int32{503, 503, 200}[i]
		if a.Attempt != int32(i+1) || a.Status == nil || *a.Status != wantStatus || a.WebhookID != want || !a.Finished {
			t.Fatalf("attempt %d: %+v, want status %d", i+1, a, wantStatus)
		}
	}
	if o := w.get(o.ID); o.FulfilledAt == nil {
		t.Fatal("the order is not fulfilled")
	}
	// A merchant verifying with billing's helper, and a stale replay refused.
	body := []byte(`{"x":1}`)
	hdr := http.Header{}
	now := time.Now()
	billing.SignRequest(hdr, "s3cret", want, now, body)
	if err := billing.VerifyWebhook("s3cret", hdr, body, now); err != nil {
		t.Fatal(err)
	}
	if err := billing.VerifyWebhook("s3cret", hdr, body, now.Add(10*time.Minute)); err == nil {
		t.Fatal("a 10-minute-old webhook verified")
	}
	if err := billing.VerifyWebhook("other", hdr, body, now); err == nil {
		t.Fatal("a wrong secret verified")
	}
}

// An attempt cut off by a crash (on record, unfinished) holds off the next call until
// it can no longer be in flight: a duplicate task does not call the merchant twice at once.
func TestWebhookAttemptInFlightHoldsOffAnother(t *testing.T) {
	w := newWorld(t)
	h := w.hook("s3cret", http.StatusOK)
	o := w.order(w.member("o-flight"), 500)
	w.pay(o.OrderNo)
	ev := w.outboxEvents(events.TopicPaymentSucceeded)[0]
	if _, err := w.db.Exec(w.ctx, `INSERT INTO billing.webhook_deliveries (id, order_id, event_id, webhook_id, attempt, url, created_at)
		VALUES ($1, $2, $3, $4, 1, 'http://crashed', now())`, uuid.New(), o.ID, ev.ID, billing.WebhookID(o.ID).String()); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Fulfil(w.ctx, ev); err == nil || !strings.Contains(err.Error(), "in flight") {
		t.Fatalf("Fulfil with an attempt in flight: %v", err)
	}
	if len(h.ids) != 0 {
		t.Fatal("the merchant was called while an attempt was in flight")
	}
	if _, err := w.db.Exec(w.ctx, `UPDATE billing.webhook_deliveries SET created_at = now() - interval '1 minute' WHERE order_id = $1`, o.ID); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Fulfil(w.ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got := w.attempts(o.ID); len(got) != 2 || got[1].Attempt != 2 || len(h.ids) != 1 {
		t.Fatalf("after the crashed attempt: %+v, %d calls", got, len(h.ids))
	}
}

// A webhook URL that resolves to loopback is refused by default (the attempt is on
// record with the reason) and reached when configuration allows loopback.
func TestWebhookToLoopbackIsRefusedUnlessAllowed(t *testing.T) {
	w := newWorld(t)
	h := w.hook("s3cret", http.StatusOK)
	o := w.order(w.member("o-ssrf"), 500)
	w.pay(o.OrderNo)
	ev := w.outboxEvents(events.TopicPaymentSucceeded)[0]
	strict := billing.New(domain.Deps{DB: w.db}, billing.Ports{Pay: w.sim.Client(), Merchants: w.merchants, Members: w.consumers},
		billing.Config{AppID: wxsimtest.AppID})
	err := strict.Fulfil(w.ctx, ev)
	if err == nil || !strings.Contains(err.Error(), "not a public address") {
		t.Fatalf("webhook to loopback: %v", err)
	}
	if len(h.ids) != 0 {
		t.Fatal("the loopback endpoint was called")
	}
	var reason string
	if err := w.db.QueryRow(w.ctx, `SELECT error FROM billing.webhook_deliveries WHERE order_id = $1`, o.ID).Scan(&reason); err != nil ||
		!strings.Contains(reason, "not a public address") {
		t.Fatalf("recorded reason %q (%v)", reason, err)
	}
	if err := w.svc.Fulfil(w.ctx, ev); err != nil { // loopback allowed (helpers_test)
		t.Fatal(err)
	}
	if len(h.ids) != 1 {
		t.Fatalf("%d calls with loopback allowed", len(h.ids))
	}
}

// Fulfilment runs in batches: the orders of a merchant without a webhook are fulfilled
// in the batch's transaction, and each order of a merchant with one gets a webhook
// request, whose delivery calls the merchant once and then fulfils the order. Every
// delivery made three times over (what at-least-once may do) changes nothing more.
func TestFulfilmentBatchRequestsWebhooksOnlyOfMerchantsWithOne(t *testing.T) {
	w := newWorld(t)
	h := w.hook("s3cret", http.StatusServiceUnavailable, http.StatusOK)
	plainMerchant := w.demo.Merchants["B"]
	w.merchants.set(plainMerchant, billing.Terms{CommissionRate: rate(t, "5%"), SettlementCycle: "T+1", Live: true})
	c := w.member("o-batch")
	hooked := []billing.Order{w.order(c, 300), w.order(c, 400)}
	var plain []billing.Order
	for _, fen := range []int64{500, 600, 700} {
		o, err := w.svc.PlaceOrder(w.ctx, c, billing.NewOrder{MerchantID: plainMerchant, Description: "B", Amount: money.MustNew(fen, money.CNY)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Prepay(w.ctx, c, o.ID, billing.PayJSAPI); err != nil {
			t.Fatal(err)
		}
		plain = append(plain, o)
	}
	for _, o := range append(hooked, plain...) {
		w.pay(o.OrderNo)
	}
	var fulfilment, webhooks []outbox.Subscription
	for _, s := range w.svc.Subscriptions() {
		switch s.Subscriber {
		case billing.SubscriberFulfilment:
			fulfilment = append(fulfilment, s)
		case billing.SubscriberWebhooks:
			webhooks = append(webhooks, s)
		}
	}
	if len(fulfilment) != 1 || !fulfilment[0].Batched() || len(webhooks) != 1 || webhooks[0].Batched() {
		t.Fatalf("fulfilment %+v, webhooks %+v: want one batched and one asynq subscription", fulfilment, webhooks)
	}
	// The relay opens the five payments' deliveries (no asynq task: the subscription is
	// batched) and the dispatcher runs them in one batch.
	relay := outbox.NewRelay(w.db, nil, fulfilment, outbox.RelayConfig{}, nil, nil)
	for {
		n, err := relay.RelayOnce(w.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if n, err := outbox.NewDispatcher(w.db, fulfilment, outbox.DispatchConfig{}, nil, nil).Drain(w.ctx); err != nil || n != 5 {
		t.Fatalf("the dispatcher ran %d deliveries (%v), want the 5 payments", n, err)
	}
	for _, o := range plain {
		if w.get(o.ID).FulfilledAt == nil {
			t.Fatalf("order %s of a merchant without a webhook is not fulfilled by the batch", o.OrderNo)
		}
	}
	for _, o := range hooked {
		if w.get(o.ID).FulfilledAt != nil {
			t.Fatalf("order %s was fulfilled before its merchant's webhook answered", o.OrderNo)
		}
	}
	if n := len(w.outboxEvents(billing.TopicWebhookRequested)); n != len(hooked) {
		t.Fatalf("%d webhook requests, want %d", n, len(hooked))
	}
	w.deliver(fulfilment, 3) // the payments delivered again: no second request
	if n := len(w.outboxEvents(billing.TopicWebhookRequested)); n != len(hooked) {
		t.Fatalf("%d webhook requests after the payments were delivered again, want %d", n, len(hooked))
	}
	// The first call is answered 503: the delivery fails, for asynq to retry it.
	if err := outbox.Deliver(w.ctx, w.db, webhooks[0], w.outboxEvents(billing.TopicWebhookRequested)[0]); err == nil {
		t.Fatal("a 503 from the merchant is not a success")
	}
	w.deliver(webhooks, 1)
	w.deliver(webhooks, 2)
	for _, o := range hooked {
		if w.get(o.ID).FulfilledAt == nil {
			t.Fatalf("order %s is not fulfilled after its webhook answered 200", o.OrderNo)
		}
		if got := w.attempts(o.ID); len(got) == 0 || got[len(got)-1].Status == nil || *got[len(got)-1].Status != http.StatusOK {
			t.Fatalf("order %s: attempts %+v", o.OrderNo, got)
		}
	}
	calls := map[string]int{}
	for _, id := range h.ids {
		calls[id]++
	}
	if len(calls) != len(hooked) || len(h.ids) != len(hooked)+1 || h.badSig != 0 || h.unrecorded != 0 {
		t.Fatalf("calls by webhook id %v (%d badly signed, %d not on record first): want one each, and the retried one twice",
			calls, h.badSig, h.unrecorded)
	}
	for _, o := range hooked {
		if calls[billing.WebhookID(o.ID).String()] == 0 {
			t.Fatalf("order %s's merchant was never called", o.OrderNo)
		}
	}
	var wrongEvent int
	if err := w.db.QueryRow(w.ctx, `SELECT count(*) FROM billing.webhook_deliveries d
		WHERE NOT EXISTS (SELECT 1 FROM platform.outbox o WHERE o.id = d.event_id AND o.topic = $1)`,
		string(events.TopicPaymentSucceeded)).Scan(&wrongEvent); err != nil || wrongEvent != 0 {
		t.Fatalf("%d attempts not recorded under their payment event (%v)", wrongEvent, err)
	}
}
