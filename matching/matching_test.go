package matching_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/clock"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

type world struct {
	t    *testing.T
	ctx  context.Context
	db   *pgxpool.Pool
	svc  *matching.Service
	subs map[events.Topic][]outbox.Subscription
	day  time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := pgtest.New(t, matching.Migrations)
	day := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	svc := matching.New(domain.Deps{DB: db, Clock: clock.Func(func() time.Time { return day.Add(30 * 24 * time.Hour) })},
		matching.Ports{}, matching.Config{RadiusM: 3000})
	w := &world{t: t, ctx: context.Background(), db: db, svc: svc, subs: map[events.Topic][]outbox.Subscription{}, day: day}
	for _, s := range svc.Subscriptions() {
		w.subs[s.Topic] = append(w.subs[s.Topic], s)
	}
	return w
}

// deliver hands an event to matching's subscriber, as the worker does.
func (w *world) deliver(topic events.Topic, payload any) error {
	b, err := json.Marshal(payload)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.handle(events.Envelope{ID: uuid.Must(uuid.NewV7()), Topic: topic, Payload: b})
}

// handle runs every subscriber of the event's topic.
func (w *world) handle(e events.Envelope) error {
	for _, s := range w.subs[e.Topic] {
		if err := outbox.Run(w.ctx, w.db, s, e); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) live(name, category string, lat, lng float64) uuid.UUID {
	w.t.Helper()
	id := uuid.Must(uuid.NewV7())
	w.must(w.deliver(events.TopicMerchantLive, events.MerchantLive{MerchantID: id, Name: name, Category: category, City: "上海",
		Lat: lat, Lng: lng, LiveAt: w.day}))
	return id
}

// pay delivers a payment event and returns it (to deliver again).
func (w *world) pay(consumer, merchant uuid.UUID, fen int64) events.PaymentSucceeded {
	w.t.Helper()
	w.day = w.day.Add(time.Hour)
	p := events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), ConsumerID: consumer, MerchantID: merchant, AmountFen: fen, PaidAt: w.day}
	w.must(w.deliver(events.TopicPaymentSucceeded, p))
	return p
}

func (w *world) scalar(sql string, args ...any) int {
	w.t.Helper()
	var n int
	w.must(w.db.QueryRow(w.ctx, sql, args...).Scan(&n))
	return n
}

func (w *world) recs(consumer uuid.UUID) []matching.Recommendation {
	w.t.Helper()
	recs, err := w.svc.Recommendations(w.ctx, consumer, 0)
	w.must(err)
	return recs
}

func merchantIDs(recs []matching.Recommendation) []uuid.UUID {
	out := make([]uuid.UUID, len(recs))
	for i, r := range recs {
		out[i] = r.MerchantID
	}
	return out
}

func hasReason(r matching.Recommendation, kind string) bool {
	for _, x := range r.Reasons {
		if x.Kind == kind {
			return true
		}
	}
	return false
}

func TestRecommendationsFromEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	// Around People's Square (31.2304, 121.4737).
	a := w.live("A 小笼", "restaurant", 31.2304, 121.4737)
	b := w.live("B 面馆", "restaurant", 31.2390, 121.4737)   // ~950 m north
	c := w.live("C 生煎", "restaurant", 31.2330, 121.4737)   // ~290 m north
	d := w.live("D 咖啡", "cafe", 31.2310, 121.4737)         // near, another category
	e := w.live("E 机场餐厅", "restaurant", 31.1443, 121.8083) // ~33 km away
	// Two consumers bought at A and at E: E is A's co-purchase partner.
	for range 2 {
		other := uuid.Must(uuid.NewV7())
		w.pay(other, a, 1000)
		w.pay(other, e, 1000)
	}
	me := uuid.Must(uuid.NewV7())

	// Before buying anything: the cold-start list, the most bought first.
	cold := w.recs(me)
	if len(cold) != 5 || !cold[0].ColdStart || !hasReason(cold[0], matching.ReasonPopular) || (cold[0].MerchantID != a && cold[0].MerchantID != e) {
		t.Fatalf("cold start: %+v", cold)
	}
	if n, err := w.svc.Recompute(w.ctx, me); err != nil || n != 0 {
		t.Fatalf("recompute of a consumer with nothing bought: %d %v", n, err)
	}

	// Delivered at least once, here three times at once: one purchase recorded.
	first := w.pay(me, a, 12_850)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = w.deliver(events.TopicPaymentSucceeded, first) }()
	}
	wg.Wait()
	for _, err := range errs {
		w.must(err)
	}
	if n := w.scalar(`SELECT orders FROM matching.consumer_merchants WHERE consumer_id = $1`, me); n != 1 {
		t.Fatalf("%d orders recorded for one payment delivered 4 times", n)
	}
	if n := w.scalar(`SELECT buyers FROM matching.merchants WHERE merchant_id = $1`, a); n != 3 {
		t.Fatalf("A has %d buyers, want 3", n)
	}
	recs := w.recs(me)
	got := merchantIDs(recs)
	if len(got) != 4 || got[0] != e || !hasReason(recs[0], matching.ReasonCoPurchase) || recs[0].Reasons[0].Detail != "A 小笼" {
		t.Fatalf("after buying at A, E (bought with A) first: %+v", recs)
	}
	for _, r := range recs {
		if r.MerchantID == a || r.ColdStart {
			t.Fatalf("tried merchant or cold start: %+v", recs)
		}
	}
	// Nearby in the category bought come before the cafe; C (290 m) before B (950 m).
	pos := map[uuid.UUID]int{}
	for i, id := range got {
		pos[id] = i
	}
	if !(pos[c] < pos[b] && pos[b] < pos[d]) || !hasReason(recs[pos[c]], matching.ReasonNearby) || !hasReason(recs[pos[c]], matching.ReasonCategory) {
		t.Fatalf("order by distance and category: %+v", recs)
	}
	if recs[pos[c]].DistanceM < 250 || recs[pos[c]].DistanceM > 330 {
		t.Fatalf("C at %v m", recs[pos[c]].DistanceM)
	}

	// A second merchant bought: excluded from then on; the pairs A–C counted once each way.
	w.pay(me, c, 2000)
	for _, r := range w.recs(me) {
		if r.MerchantID == a || r.MerchantID == c {
			t.Fatalf("tried merchant recommended: %+v", r)
		}
	}
	if n := w.scalar(`SELECT count(*) FROM matching.co_purchases WHERE (a, b) IN (($1::uuid, $2::uuid), ($2::uuid, $1::uuid)) AND n = 1`, a, c); n != 2 {
		t.Fatalf("co-purchase A–C rows: %d", n)
	}
	// The consumer buys around A and C: their centre.
	if n := w.scalar(`SELECT count(*) FROM matching.consumers WHERE consumer_id = $1 AND abs(lat - 31.2317) < 0.0001`, me); n != 1 {
		t.Fatal("consumer position not the centre of the merchants tried")
	}

	// The nightly rebuild ranks from memory what Recompute ranks from the tables: the same lists.
	before := merchantIDs(w.recs(me))
	st, err := w.svc.Rebuild(w.ctx)
	w.must(err)
	if st.Consumers != 3 || st.Merchants != 5 || st.Pairs != 6 {
		t.Fatalf("rebuild: %+v", st)
	}
	after := merchantIDs(w.recs(me))
	if len(after) != len(before) {
		t.Fatalf("rebuild changed the list: %v → %v", before, after)
	}
	for i := range after {
		if after[i] != before[i] {
			t.Fatalf("rebuild changed the list: %v → %v", before, after)
		}
	}
}

func TestRefunds(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.live("A", "restaurant", 31.23, 121.47)
	me := uuid.Must(uuid.NewV7())
	refund := func(p events.PaymentSucceeded, total int64) error {
		return w.deliver(events.TopicRefundSucceeded, events.RefundSucceeded{RefundID: uuid.Must(uuid.NewV7()), OrderID: p.OrderID,
			ConsumerID: p.ConsumerID, MerchantID: p.MerchantID, OrderAmountFen: p.AmountFen, RefundedTotalFen: total})
	}
	// A refund whose payment is not recorded yet is retried, not lost or invented.
	early := events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), ConsumerID: me, MerchantID: a, AmountFen: 5000, PaidAt: w.day}
	if err := refund(early, 1000); err == nil {
		t.Fatal("refund before payment accepted")
	}
	if n := w.scalar(`SELECT count(*) FROM matching.purchases`); n != 0 {
		t.Fatalf("%d purchases after a refund alone", n)
	}
	w.must(w.deliver(events.TopicPaymentSucceeded, early))
	p2 := w.pay(me, a, 3000)
	// Refunds of 10.00 then 30.00 in total, arriving late and repeated: the largest total wins.
	w.must(refund(early, 3000))
	w.must(refund(early, 1000))
	w.must(refund(early, 3000))
	if n := w.scalar(`SELECT net_fen FROM matching.consumer_merchants WHERE consumer_id = $1`, me); n != 5000 {
		t.Fatalf("net %d, want 80.00 - 30.00 = 50.00", n)
	}
	// The second order wholly refunded: it no longer counts as an order; A stays tried.
	w.must(refund(p2, 3000))
	w.must(refund(p2, 3000))
	if n := w.scalar(`SELECT orders FROM matching.consumer_merchants WHERE consumer_id = $1`, me); n != 1 {
		t.Fatalf("%d orders, want 1", n)
	}
	for _, r := range w.recs(me) {
		if r.MerchantID == a {
			t.Fatal("a refunded merchant is recommended again")
		}
	}
}

func TestConsumerAPI(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a := w.live("A", "restaurant", 31.23, 121.47)
	b := w.live("B", "restaurant", 31.231, 121.47)
	me := uuid.Must(uuid.NewV7())
	w.pay(me, a, 1000)
	e := httpx.New(httpx.Options{})
	api := e.Group("/api/v1", func(c *gin.Context) { // stands in for identity's Authenticate of consumers
		if id, err := uuid.Parse(c.GetHeader("X-Test-Consumer")); err == nil {
			c.Request = c.Request.WithContext(identity.WithConsumer(c.Request.Context(), id))
		}
	})
	domain.Collect(w.svc).MountRoutes(domain.Routers{Staff: api, Consumer: api, Public: api})
	get := func(who, query string) (int, []matching.Recommendation) {
		req := httptest.NewRequest("GET", "/api/v1/consumer/me/recommendations"+query, nil)
		if who != "" {
			req.Header.Set("X-Test-Consumer", who)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		var body struct{ Items []matching.Recommendation }
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		return rec.Code, body.Items
	}
	if code, items := get(me.String(), ""); code != http.StatusOK || len(items) != 1 || items[0].MerchantID != b {
		t.Fatalf("GET: %d %+v", code, items)
	}
	// A brand-new consumer: the cold-start list, not an error.
	if code, items := get(uuid.NewString(), "?limit=1"); code != http.StatusOK || len(items) != 1 || !items[0].ColdStart || items[0].MerchantID != a {
		t.Fatalf("new consumer: %d %+v", code, items)
	}
	if code, _ := get(me.String(), "?limit=0"); code != http.StatusBadRequest {
		t.Fatalf("limit=0: %d", code)
	}
	if code, _ := get("", ""); code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", code)
	}
}

func TestAudience(t *testing.T) {
	t.Parallel()
	w := newWorld(t) // now is 30 days after w.day
	a := w.live("A 小笼", "restaurant", 31.2304, 121.4737)
	b := w.live("B 面馆", "restaurant", 31.2600, 121.4737) // ~3.3 km north, bought with A
	far := w.live("F 机场咖啡", "cafe", 31.1443, 121.8083)   // ~33 km away
	regular := uuid.Must(uuid.NewV7())                   // A's customer already
	w.pay(regular, a, 1000)
	w.pay(regular, b, 1000)
	lapsed := uuid.Must(uuid.NewV7()) // bought at B long ago
	w.must(w.deliver(events.TopicPaymentSucceeded, events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), ConsumerID: lapsed,
		MerchantID: b, AmountFen: 1000, PaidAt: w.day.Add(-90 * 24 * time.Hour)}))
	fan := uuid.Must(uuid.NewV7()) // buys at B and at A's neighbours
	w.pay(fan, b, 1000)
	stranger := uuid.Must(uuid.NewV7()) // buys coffee at the airport
	w.pay(stranger, far, 1000)

	aud, err := w.svc.AudienceFor(w.ctx, a, 0)
	w.must(err)
	got := map[uuid.UUID]matching.AudienceMember{}
	for _, m := range aud {
		got[m.ConsumerID] = m
	}
	if len(aud) != 2 || got[fan].Rank == 0 || got[lapsed].Rank == 0 {
		t.Fatalf("audience of A: %+v", aud)
	}
	reasons := func(m matching.AudienceMember) map[string]bool {
		out := map[string]bool{}
		for _, r := range m.Reasons {
			out[r.Kind] = true
		}
		return out
	}
	if r := reasons(got[lapsed]); !r[matching.ReasonLapsed] || !r[matching.ReasonSimilarShop] || !r[matching.ReasonCategory] {
		t.Fatalf("lapsed: %+v", got[lapsed])
	}
	if r := reasons(got[fan]); r[matching.ReasonLapsed] || !r[matching.ReasonSimilarShop] || got[fan].DistanceM < 3000 || got[fan].DistanceM > 3500 {
		t.Fatalf("fan: %+v", got[fan])
	}
	if _, err := w.svc.AudienceFor(w.ctx, uuid.Must(uuid.NewV7()), 10); !errs.Is(err, matching.CodeMerchantNotFound) {
		t.Fatalf("unknown merchant: %v", err)
	}
}
