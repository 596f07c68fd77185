package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/consumer"
	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/reconciliation/billingledger"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
)

// storyEnv is the whole application as `tandem dev` runs it, on the test's own
// PostgreSQL and Redis databases: the API on a loopback listener, the worker (asynq
// server and outbox relay) in a goroutine, and the WeChat Pay simulator on another
// listener, which the app's wxpay client talks to and whose notifications reach the API.
type storyEnv struct {
	t      *testing.T
	ctx    context.Context
	a      *app
	api    string // base URL of the API
	sim    *wxsim.Sim
	simURL string
	users  map[string]uuid.UUID
	tokens map[string]string // login → bearer token

	mu       sync.Mutex
	captured []capturedNotify // WeChat's notifications as they reached the API
}

// capturedNotify is a notification request as it arrived, for replaying.
type capturedNotify struct {
	path   string
	header http.Header
	body   []byte
}

// startStory starts the app like testApp, but with its WeChat Pay account served by a
// simulator this test runs (its delivery retries 1000 times faster than WeChat's), and
// the background worker running.
func startStory(t *testing.T) *storyEnv {
	t.Helper()
	ctx := context.Background()
	a := testApp(t)
	// testApp made the account's keys under a.cfg.WxpayKeys: the simulator plays the
	// WeChat Pay that issued them.
	platform, mk, err := wxsim.LoadOrCreateKeys(a.cfg.WxpayKeys, wxsim.DevMchID)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := wxsim.New(pgtest.New(t, wxsim.Migrations), platform,
		wxsim.Config{Control: true, NotifyScale: 0.001}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddMerchant(wxsim.MerchantFromKeys(mk, wxsim.KeyModeSwitch, a.cfg.WxpayAppID)); err != nil {
		t.Fatal(err)
	}
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { simSrv.Close(); sim.Close() })

	// The API's address must be known before billing is made (its notify URL).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.cfg.PublicURL, a.cfg.WxpayBaseURL = "http://"+ln.Addr().String(), simSrv.URL
	a.cfg.WebhookAllow = "loopback" // the merchant's webhook sink is on this machine
	if err := a.openPayments(ctx); err != nil {
		t.Fatal(err)
	}
	s := &storyEnv{t: t, ctx: ctx, a: a, sim: sim, simURL: simSrv.URL, tokens: map[string]string{}}
	router := a.router()
	apiSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/billing/wxpay/notify/") {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			s.mu.Lock()
			s.captured = append(s.captured, capturedNotify{r.URL.Path, r.Header.Clone(), b})
			s.mu.Unlock()
		}
		router.ServeHTTP(w, r)
	}))
	apiSrv.Listener.Close()
	apiSrv.Listener = ln
	apiSrv.Start()
	t.Cleanup(apiSrv.Close)
	s.api = apiSrv.URL

	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.runBackground(wctx, "worker") }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	})
	return s
}

// notification is the n-th notification (from 0, in arrival order) captured on path.
func (s *storyEnv) notification(path string, n int) capturedNotify {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.captured {
		if c.path == path {
			if n == 0 {
				return c
			}
			n--
		}
	}
	s.t.Fatalf("no such notification on %s", path)
	return capturedNotify{}
}

// replay posts a captured notification again, as WeChat's retries do, with body
// changed by tamper when it is not nil; it returns the status.
func (s *storyEnv) replay(c capturedNotify, tamper func([]byte) []byte) int {
	body := bytes.Clone(c.body)
	if tamper != nil {
		body = tamper(body)
	}
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.api+c.path, bytes.NewReader(body))
	if err != nil {
		s.t.Error(err)
		return 0
	}
	req.Header = c.header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Error(err)
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// login makes an API token for each demo login (as a user would at POST /api/v1/tokens).
func (s *storyEnv) login(d identity.Demo, logins ...string) {
	s.t.Helper()
	s.users = d.Users
	for _, l := range logins {
		p, err := s.a.identity.Principal(s.ctx, d.Users[l])
		if err != nil {
			s.t.Fatal(err)
		}
		_, secret, err := s.a.identity.CreateToken(s.ctx, p, identity.NewToken{Name: "story " + l})
		if err != nil {
			s.t.Fatal(err)
		}
		s.tokens[l] = secret
	}
}

// do calls the API as login (a token's login, or "cookie=<session>" for a session) and
// decodes a JSON answer; headers are name, value pairs.
func (s *storyEnv) do(as, method, path string, body any, headers ...string) (int, map[string]any) {
	s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(s.ctx, method, s.api+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if session, ok := strings.CutPrefix(as, "cookie="); ok {
		req.AddCookie(&http.Cookie{Name: identity.SessionCookie, Value: session})
	} else if as != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[as])
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(b) > 0 && json.Unmarshal(b, &out) != nil {
		out = map[string]any{"raw": string(b)}
	}
	return res.StatusCode, out
}

// must calls the API and fails the test unless the answer has status want.
func (s *storyEnv) must(want int, as, method, path string, body any, headers ...string) map[string]any {
	s.t.Helper()
	st, out := s.do(as, method, path, body, headers...)
	if st != want {
		s.t.Fatalf("%s %s as %s: %d, want %d: %v", method, path, as, st, want, out)
	}
	return out
}

// control calls the simulator's control API.
func (s *storyEnv) control(path string, body any) {
	s.t.Helper()
	b, _ := json.Marshal(body)
	res, err := http.Post(s.simURL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		s.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(res.Body)
		s.t.Fatalf("simulator %s: %d %s", path, res.StatusCode, msg)
	}
}

// settle waits until the simulator has no notification in flight.
func (s *storyEnv) settle() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
	defer cancel()
	if err := s.sim.Wait(ctx); err != nil {
		s.t.Fatalf("notifications still in flight: %v", err)
	}
}

// eventually polls cond until it holds, or fails after a deadline: a wait on state,
// not a timed assertion.
func (s *storyEnv) eventually(what string, cond func() bool) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			s.t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *storyEnv) scalar(sql string, args ...any) int64 {
	s.t.Helper()
	var n int64
	if err := s.a.db.QueryRow(s.ctx, sql, args...).Scan(&n); err != nil {
		s.t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func (s *storyEnv) balance(consumerID uuid.UUID) int64 {
	s.t.Helper()
	b, err := s.a.consumer.Balance(s.ctx, consumerID)
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// drained: every outbox event relayed and no task waiting, running or retrying.
func (s *storyEnv) drained() bool {
	s.t.Helper()
	if s.scalar(`SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL`) != 0 {
		return false
	}
	insp := asynq.NewInspector(s.a.queue)
	defer insp.Close()
	queues, err := insp.Queues()
	if err != nil {
		s.t.Fatal(err)
	}
	for _, q := range queues {
		info, err := insp.GetQueueInfo(q)
		if err != nil {
			s.t.Fatal(err)
		}
		if info.Pending+info.Active+info.Scheduled+info.Retry > 0 {
			return false
		}
	}
	return true
}

// webhookSink is the merchant's webhook endpoint: it counts calls per order and
// checks each signature with the secret the merchant was given.
type webhookSink struct {
	mu     sync.Mutex
	secret string
	calls  map[string]int // order_no → calls with a valid signature
	bad    int
}

func (h *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var p billing.WebhookPayload
	_ = json.Unmarshal(body, &p)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.secret != "" && billing.VerifyWebhook(h.secret, r.Header, body, time.Now()) == nil {
		h.calls[p.OrderNo]++
	} else {
		h.bad++
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *webhookSink) count(orderNo string) (valid, bad int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[orderNo], h.bad
}

// TestStoryEndToEnd is issue 8's story through the real mechanisms: the HTTP API with
// demo-role tokens, the WeChat Pay simulator paying and notifying over HTTP, the outbox
// relay and asynq worker fulfilling, and the day's reconciliation downloading the bill.
func TestStoryEndToEnd(t *testing.T) {
	s := startStory(t)
	ctx := s.ctx
	// Freeze the simulator's clock on yesterday (Shanghai): the day this test reconciles.
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	y := time.Now().In(shanghai).AddDate(0, 0, -1)
	day := y.Format(time.DateOnly)
	at := func(hour int) time.Time { return time.Date(y.Year(), y.Month(), y.Day(), hour, 0, 0, 0, shanghai) }
	s.sim.Clock().Set(at(9), true)

	// The demo data of `make run` (identity, the demo merchant and consumer), then tokens.
	demo, err := s.a.seedDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids, err := s.a.identity.SeedDemo(ctx, demoPassword)
	if err != nil {
		t.Fatal(err)
	}
	s.login(ids, "sh1.rep", "sh2.rep", "sh.manager", "reviewer", "finance")

	// 1. B-CRM. A rep creates the lead; the same phone written another way is refused,
	// naming the existing lead.
	lead := map[string]any{"name": "老弄堂面馆 Old Lane Noodles", "category": "restaurant", "address": "上海市方浜中路300号", // no district: the demo's 黄浦区 rule leaves it in the pool
		"lat": 31.2305, "lng": 121.4880, "phone": "+86 139-1234-5678", "city": "上海"}
	created := s.must(201, "sh1.rep", "POST", "/api/v1/merchant/leads", lead)
	leadID := created["id"].(string)
	if created["phone"] != "139****5678" {
		t.Fatalf("the pool shows the phone as %v", created["phone"])
	}
	lead["phone"] = "139 1234 5678"
	dupErr := func(as string) string {
		st, body := s.do(as, "POST", "/api/v1/merchant/leads", lead)
		e, _ := body["error"].(map[string]any)
		if st != 409 || e["code"] != "merchant.lead_duplicate" || strings.Contains(fmt.Sprint(e["message"]), leadID) { // who holds it, never its id
			t.Fatalf("duplicate lead: %d %v", st, body)
		}
		return fmt.Sprint(e["message"])
	}
	if msg := dupErr("sh2.rep"); !strings.Contains(msg, "held by the pool") {
		t.Fatalf("the duplicate does not name the pool as the holder: %s", msg)
	}
	// Two reps claim it at once: exactly one wins. The lead is in team 1's pool; the city
	// manager makes team 2's rep a member of it first (pools per org unit, issue 12).
	s.must(200, "sh.manager", "PUT", "/api/v1/merchant/pools/"+created["pool_id"].(string)+"/members/"+s.users["sh2.rep"].String(),
		map[string]any{"role": "member"})
	reps := []string{"sh1.rep", "sh2.rep"}
	statuses := make([]int, 2)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, rep := range reps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			statuses[i], _ = s.do(rep, "POST", "/api/v1/merchant/leads/"+leadID+"/claim", nil)
		}()
	}
	close(start)
	wg.Wait()
	rep, other := "", ""
	for i, st := range statuses {
		switch {
		case st == 200 && rep == "":
			rep, other = reps[i], reps[1-i]
		case st == 200:
			t.Fatalf("both reps claimed the lead: %v", statuses)
		}
	}
	if rep == "" {
		t.Fatalf("no claim won: %v", statuses)
	}
	if msg := dupErr(other); !strings.Contains(msg, map[string]string{"sh1.rep": "Zhang", "sh2.rep": "Zhao"}[rep]) {
		t.Fatalf("the duplicate does not name the holder %s: %s", rep, msg)
	}
	s.must(404, other, "GET", "/api/v1/merchant/leads/"+leadID, nil) // now private to the winner
	s.must(404, "finance", "GET", "/api/v1/merchant/leads/"+leadID, nil)
	// Check-in: refused 2.5 km away, accepted at the door.
	st, body := s.do(rep, "POST", "/api/v1/merchant/leads/"+leadID+"/check-ins", map[string]any{"lat": 31.2530, "lng": 121.4880})
	if e, _ := body["error"].(map[string]any); st != 422 || e["code"] != "merchant.checkin_too_far" {
		t.Fatalf("far check-in: %d %v", st, body)
	}
	s.must(201, rep, "POST", "/api/v1/merchant/leads/"+leadID+"/check-ins", map[string]any{"lat": 31.2306, "lng": 121.4880, "note": "met the owner"})
	s.must(201, rep, "POST", "/api/v1/merchant/leads/"+leadID+"/follow-ups", map[string]any{"channel": "visit", "note": "wants 6.5%", "next_step": "contract"})
	for _, stage := range []string{"contacted", "visited", "negotiating"} {
		s.must(200, rep, "POST", "/api/v1/merchant/leads/"+leadID+"/stage", map[string]any{"stage": stage})
	}
	contract := map[string]any{"commission_rate": "106.5%", "settlement_cycle": "T+1", "starts_on": day, "ends_on": "2099-12-31"}
	s.must(422, "sh.manager", "POST", "/api/v1/merchant/leads/"+leadID+"/contract", contract)
	contract["commission_rate"] = "6.5%"
	if c := s.must(201, "sh.manager", "POST", "/api/v1/merchant/leads/"+leadID+"/contract", contract); c["commission_rate"] != "6.5%" {
		t.Fatalf("contract %v", c)
	}
	s.must(200, rep, "POST", "/api/v1/merchant/leads/"+leadID+"/onboarding", nil)
	hooks := &webhookSink{calls: map[string]int{}}
	hookSrv := httptest.NewServer(hooks)
	defer hookSrv.Close()
	approved := s.must(200, "reviewer", "POST", "/api/v1/merchant/leads/"+leadID+"/onboarding/approve",
		map[string]any{"sub_mchid": "1900000333", "webhook_url": hookSrv.URL})
	m := approved["merchant"].(map[string]any)
	merchantID := uuid.MustParse(m["id"].(string))
	hooks.mu.Lock()
	hooks.secret = fmt.Sprint(approved["webhook_secret"])
	hooks.mu.Unlock()
	if m["status"] != "live" || approved["owner_login"] == "" || approved["owner_invitation"] == "" || approved["owner_password"] != nil {
		t.Fatalf("approval: %v", approved)
	}
	hist := s.must(200, rep, "GET", "/api/v1/merchant/leads/"+leadID+"/history", nil)
	if stages := hist["stages"].([]any); len(stages) != 7 { // lead, contacted, visited, negotiating, signed, onboarding, live
		t.Fatalf("stage history: %v", stages)
	}
	// The owner sets their own password through the invitation the reviewer forwards
	// (once), signs in and sees their merchant only.
	token := strings.TrimPrefix(fmt.Sprint(approved["owner_invitation"]), "/invite/")
	s.must(200, "", "POST", "/api/v1/invitations/accept", map[string]any{"token": token, "password": "Owner-own-pass-1"})
	s.must(404, "", "POST", "/api/v1/invitations/accept", map[string]any{"token": token, "password": "Someone-else-2"})
	owner := s.signIn(fmt.Sprint(approved["owner_login"]), "Owner-own-pass-1")
	list := s.must(200, owner, "GET", "/api/v1/merchant/merchants", nil)
	if items := list["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != merchantID.String() {
		t.Fatalf("the owner sees %v", items)
	}
	s.must(200, owner, "GET", "/api/v1/merchant/merchants/"+merchantID.String(), nil)
	s.must(404, owner, "GET", "/api/v1/merchant/merchants/"+demo.merchantID.String(), nil)
	s.must(404, owner, "GET", "/api/v1/merchant/leads/"+leadID, nil)

	// 2. C-CRM: a consumer joins; before buying anything, matching has nothing for them.
	member, _, err := s.a.consumer.Join(ctx, consumer.JoinRequest{AppID: s.a.cfg.WxpayAppID, OpenID: "o-story-consumer", Phone: "13700001111"})
	if err != nil {
		t.Fatal(err)
	}
	cid := member.ID
	// The demo's programme pays sign-up points (on member_joined, through the worker):
	// the balances below count what the orders earn on top of them.
	prog, err := s.a.consumer.Program(ctx, identity.System())
	if err != nil {
		t.Fatal(err)
	}
	s.eventually("sign-up points credited", func() bool { return s.balance(cid) == prog.SignupPoints })
	earned := func() int64 { return s.balance(cid) - prog.SignupPoints }
	if n, err := s.a.matching.Recompute(ctx, cid); err != nil || n != 0 {
		t.Fatalf("recommendations before any purchase: %d, %v", n, err)
	}

	// 3–4. Billing and fulfilment: an order of 149.00 (6.5% is 968.5 fen: half-even 968),
	// JSAPI prepay, paid; WeChat delivers the notification 5 times.
	order := func(fen int64) billing.Order {
		t.Helper()
		o, err := s.a.billing.PlaceOrder(ctx, cid, billing.NewOrder{MerchantID: merchantID, Description: "葱油拌面", Amount: money.MustNew(fen, money.CNY)})
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.a.billing.Prepay(ctx, cid, o.ID, billing.PayJSAPI)
		if err != nil || p.JSAPI == nil || p.JSAPI.Package == "" {
			t.Fatalf("prepay: %+v, %v", p, err)
		}
		return o
	}
	getOrder := func(id uuid.UUID) map[string]any {
		return s.must(200, "finance", "GET", "/api/v1/billing/orders/"+id.String(), nil)
	}
	o1 := order(14_900)
	s.control("/sim/faults", map[string]any{"kind": "duplicate", "times": 4, "out_trade_no": o1.OrderNo})
	s.control("/sim/pay", map[string]any{"out_trade_no": o1.OrderNo, "at": at(10)})
	s.settle()
	s.eventually("points credited and order 1 fulfilled", func() bool {
		return earned() == 149 && getOrder(o1.ID)["fulfilled_at"] != nil
	})
	s.eventually("the worker idle", s.drained)
	if n := s.scalar(`SELECT count(*) FROM billing.notifications_log WHERE out_trade_no = $1 AND event_type = 'TRANSACTION.SUCCESS'`, o1.OrderNo); n != 5 {
		t.Fatalf("%d payment notifications received, want 5", n)
	}
	if got := getOrder(o1.ID); got["state"] != "paid" {
		t.Fatalf("order 1: %v", got)
	}
	if n := s.scalar(`SELECT count(*) FROM billing.order_transitions WHERE order_id = $1 AND to_state = 'paid'`, o1.ID); n != 1 {
		t.Fatalf("order 1 moved to paid %d times", n)
	}
	s.wantPostings(o1.ID, "payment", 14_900, -13_932, -968)
	if n := s.scalar(`SELECT count(*) FROM platform.outbox WHERE topic = $1 AND aggregate_key = $2`, string(events.TopicPaymentSucceeded), o1.ID.String()); n != 1 {
		t.Fatalf("%d payment events for order 1", n)
	}
	if n := s.scalar(`SELECT count(*) FROM consumer.points_entries WHERE order_id = $1 AND kind = 'earn'`, o1.ID); n != 1 {
		t.Fatalf("%d earn entries for order 1", n)
	}
	if valid, bad := hooks.count(o1.OrderNo); valid != 1 || bad != 0 {
		t.Fatalf("webhook: %d valid calls, %d badly signed", valid, bad)
	}
	// WeChat's notification replayed 5 times at once, and a forged copy: nothing changes.
	paymentPath := "/api/v1/billing/wxpay/notify/payment"
	first := s.notification(paymentPath, 0)
	replies := make([]int, 5)
	start = make(chan struct{})
	for i := range replies {
		wg.Add(1)
		go func() { defer wg.Done(); <-start; replies[i] = s.replay(first, nil) }()
	}
	close(start)
	wg.Wait()
	for _, st := range replies {
		if st/100 != 2 {
			t.Fatalf("a replayed notification answered %v", replies)
		}
	}
	forged := s.replay(first, func(b []byte) []byte { return bytes.Replace(b, []byte(`"id":"`), []byte(`"id":"x`), 1) })
	if forged != http.StatusUnauthorized {
		t.Fatalf("a forged notification answered %d, want 401", forged)
	}
	// The payment event handled again by every subscriber, as a task retried after a
	// crash would be: no second credit, no second webhook.
	var env events.Envelope
	var topic string
	if err := s.a.db.QueryRow(ctx, `SELECT id, topic, aggregate_key, created_at, payload FROM platform.outbox WHERE topic = $1 AND aggregate_key = $2`,
		string(events.TopicPaymentSucceeded), o1.ID.String()).Scan(&env.ID, &topic, &env.Key, &env.OccurredAt, &env.Payload); err != nil {
		t.Fatal(err)
	}
	env.Topic = events.Topic(topic)
	for _, sub := range s.a.subscriptions() {
		if sub.Topic != env.Topic {
			continue
		}
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := outbox.Deliver(ctx, s.a.db, sub, env); err != nil {
					t.Errorf("%s again: %v", sub.Subscriber, err)
				}
			}()
		}
	}
	wg.Wait()
	s.eventually("the worker idle", s.drained)
	if n := s.scalar(`SELECT count(*) FROM billing.order_transitions WHERE order_id = $1 AND to_state = 'paid'`, o1.ID); n != 1 || earned() != 149 {
		t.Fatalf("after replays: moved to paid %d times, balance %d", n, earned())
	}
	if n := s.scalar(`SELECT count(*) FROM billing.notifications_log WHERE out_trade_no = $1`, o1.OrderNo); n != 10 {
		t.Fatalf("%d notifications logged, want the 10 genuine ones", n)
	}
	s.wantPostings(o1.ID, "payment", 14_900, -13_932, -968)
	if valid, bad := hooks.count(o1.OrderNo); valid != 1 || bad != 0 {
		t.Fatalf("webhook after replays: %d valid calls, %d badly signed", valid, bad)
	}
	// An order at another merchant (not paid): the owner sees their merchant's orders
	// only; finance sees both.
	elsewhere, err := s.a.billing.PlaceOrder(ctx, cid, billing.NewOrder{MerchantID: demo.merchantID, Description: "小笼包", Amount: money.MustNew(3_000, money.CNY)})
	if err != nil {
		t.Fatal(err)
	}
	if items := s.must(200, owner, "GET", "/api/v1/billing/orders", nil)["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != o1.ID.String() {
		t.Fatalf("the owner lists %v", items)
	}
	s.must(404, owner, "GET", "/api/v1/billing/orders/"+elsewhere.ID.String(), nil)
	if items := s.must(200, "finance", "GET", "/api/v1/billing/orders", nil)["items"].([]any); len(items) != 2 {
		t.Fatalf("finance lists %d orders", len(items))
	}

	// Matching: the merchant just tried is excluded; the demo shop nearby in the same
	// category is recommended.
	s.eventually("recommendations after the purchase", func() bool {
		recs, err := s.a.matching.Recommendations(ctx, cid, 20)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.MerchantID == merchantID {
				t.Fatalf("the merchant already tried is recommended: %+v", recs)
			}
		}
		// Among matching's demo neighbourhood, the demo shop is recommended for being near,
		// in the category bought.
		for _, r := range recs {
			if r.MerchantID == demo.merchantID && !r.ColdStart && r.DistanceM > 0 && r.DistanceM < 5000 {
				return true
			}
		}
		return false
	})

	// A partial refund of 49.00 by finance, with an Idempotency-Key (a retry returns the
	// same refund), confirmed by WeChat's notification, delivered 5 times: 100.00 stays
	// paid, commission 650; 318 fen of commission and 49 points go back, once.
	s.sim.Clock().Set(at(12), true)
	refund := func() map[string]any {
		return s.must(201, "finance", "POST", "/api/v1/billing/orders/"+o1.ID.String()+"/refunds",
			map[string]any{"amount": "49.00", "reason": "one bowl returned"}, "Idempotency-Key", "story-refund-1")
	}
	r1, r2 := refund(), refund()
	if r1["id"] != r2["id"] || r1["out_refund_no"] == "" {
		t.Fatalf("a retried refund is another refund: %v, %v", r1, r2)
	}
	s.must(403, rep, "POST", "/api/v1/billing/orders/"+o1.ID.String()+"/refunds", map[string]any{"amount": "1.00", "reason": "x"}, "Idempotency-Key", "rep-1")
	s.control("/sim/faults", map[string]any{"kind": "duplicate", "times": 4, "out_trade_no": o1.OrderNo})
	s.control("/sim/refunds/settle", map[string]any{"out_refund_no": r1["out_refund_no"], "status": "SUCCESS"})
	s.settle()
	s.eventually("the refund applied and its points reversed", func() bool {
		return earned() == 100 && getOrder(o1.ID)["state"] == "partially_refunded"
	})
	s.eventually("the worker idle", s.drained)
	if n := s.scalar(`SELECT count(*) FROM billing.notifications_log WHERE out_trade_no = $1 AND event_type = 'REFUND.SUCCESS'`, o1.OrderNo); n != 5 {
		t.Fatalf("%d refund notifications received, want 5", n)
	}
	s.wantPostings(o1.ID, "refund", -4_900, 4_900-318, 318)
	if n := s.scalar(`SELECT count(*) FROM consumer.points_entries WHERE order_id = $1 AND kind = 'reverse'`, o1.ID); n != 1 || earned() != 100 {
		t.Fatalf("%d reversals, balance %d", n, earned())
	}

	// 5. Reconciliation: a second order's notification is dropped; it stays unpaid here
	// until the day's run finds it missing on our side, queries WeChat and applies it.
	o2 := order(2_599)
	s.control("/sim/faults", map[string]any{"kind": "drop", "out_trade_no": o2.OrderNo})
	s.control("/sim/pay", map[string]any{"out_trade_no": o2.OrderNo, "at": at(11)})
	s.settle()
	if got := getOrder(o2.ID); got["state"] != "paying" {
		t.Fatalf("the order whose notification was dropped is %v", got["state"])
	}
	s.sim.Clock().Set(at(11).AddDate(0, 0, 1), true) // the next morning, once WeChat has made the bill
	// The app's reconciliation service (billing is its repairer), billing's ledger as our side.
	ledger, recon := billingledger.Adapter{Billing: s.a.billing}, s.a.recon
	rep1, err := recon.RunDownload(ctx, s.a.pay, day, ledger)
	if err != nil {
		t.Fatal(err)
	}
	if rep1.Run.Repaired != 1 || len(rep1.Top) != 1 || rep1.Top[0].Class != reconciliation.ClassMissingOurs ||
		rep1.Top[0].OutTradeNo != o2.OrderNo || rep1.Top[0].RepairedAt == nil {
		t.Fatalf("run %+v, exceptions %+v", rep1.Run, rep1.Top)
	}
	s.eventually("the repaired order fulfilled and credited", func() bool {
		return earned() == 125 && getOrder(o2.ID)["fulfilled_at"] != nil
	})
	s.wantPostings(o2.ID, "payment", 2_599, -2_599+169, -169) // 168.935 → 169
	// The date again: nothing new, nothing applied twice.
	rep2, err := recon.RunDownload(ctx, s.a.pay, day, ledger)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Top) != 0 {
		t.Fatalf("re-run exceptions %+v", rep2.Top)
	}
	s.eventually("the worker idle", s.drained)
	if n := s.scalar(`SELECT count(*) FROM consumer.points_entries WHERE order_id = $1`, o2.ID); n != 1 || earned() != 125 {
		t.Fatalf("order 2: %d points entries, balance %d", n, earned())
	}
	if n := s.scalar(`SELECT count(*) FROM platform.outbox WHERE topic = $1`, string(events.TopicPaymentSucceeded)); n != 2 {
		t.Fatalf("%d payment events, want one per order", n)
	}
	if valid, bad := hooks.count(o2.OrderNo); valid != 1 || bad != 0 {
		t.Fatalf("webhook of order 2: %d valid, %d bad", valid, bad)
	}
	if valid, _ := hooks.count(o1.OrderNo); valid != 1 {
		t.Fatalf("webhook of order 1 called again: %d", valid)
	}
	// Every journal entry balances (the ledger as a whole, too).
	if n := s.scalar(`SELECT count(*) FROM (SELECT entry_id FROM billing.postings GROUP BY entry_id HAVING sum(amount_fen) <> 0) x`); n != 0 {
		t.Fatalf("%d unbalanced entries", n)
	}
	if n := s.scalar(`SELECT coalesce(sum(amount_fen), 0) FROM billing.postings`); n != 0 {
		t.Fatalf("the ledger is off by %d fen", n)
	}
}

// signIn signs in over HTTP (POST /api/v1/sessions) and returns the session as do's
// caller: "cookie=<session>".
func (s *storyEnv) signIn(login, password string) string {
	s.t.Helper()
	b, _ := json.Marshal(map[string]any{"login": login, "password": password})
	res, err := http.Post(s.api+"/api/v1/sessions", "application/json", bytes.NewReader(b))
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	for _, c := range res.Cookies() {
		if res.StatusCode != http.StatusCreated {
			break
		}
		if c.Name == identity.SessionCookie {
			return "cookie=" + c.Value
		}
	}
	s.t.Fatalf("sign-in of %s: %d, no session cookie", login, res.StatusCode)
	return ""
}

// wantPostings checks an order's journal entry of kind: one entry, whose postings
// to clearing, merchant payable and commission are as given.
func (s *storyEnv) wantPostings(orderID uuid.UUID, kind string, clearing, payable, commission int64) {
	s.t.Helper()
	if n := s.scalar(`SELECT count(*) FROM billing.journal_entries WHERE order_id = $1 AND kind = $2`, orderID, kind); n != 1 {
		s.t.Fatalf("%d %s entries for order %s", n, kind, orderID)
	}
	got := map[string]int64{}
	rows, err := s.a.db.Query(s.ctx, `SELECT p.account, p.amount_fen FROM billing.postings p
JOIN billing.journal_entries e ON e.id = p.entry_id WHERE e.order_id = $1 AND e.kind = $2`, orderID, kind)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var acct string
		var fen int64
		if err := rows.Scan(&acct, &fen); err != nil {
			s.t.Fatal(err)
		}
		got[acct] += fen
	}
	want := map[string]int64{billing.AccountClearing: clearing, billing.AccountPayable: payable, billing.AccountCommission: commission}
	for k, v := range want {
		if got[k] != v {
			s.t.Fatalf("%s entry of order %s: postings %v, want %v", kind, orderID, got, want)
		}
	}
}
