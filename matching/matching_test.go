package matching_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/merchant"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/httpx"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pgtest"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// fakePurchases is billing's side of the port: a consumer's paid merchants.
type fakePurchases struct {
	mu sync.Mutex
	by map[uuid.UUID][]matching.Purchase
}

func (f *fakePurchases) Purchases(_ context.Context, id uuid.UUID) ([]matching.Purchase, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]matching.Purchase(nil), f.by[id]...), nil
}

type fakeLocation map[uuid.UUID]merchant.Point

func (f fakeLocation) Location(_ context.Context, id uuid.UUID) (merchant.Point, bool, error) {
	p, ok := f[id]
	return p, ok, nil
}

type world struct {
	ctx       context.Context
	merchants *merchant.Service
	ids       *identity.Service
	demo      identity.Demo
	n         int
	svcDB     func(matching.Purchases, matching.Location) *matching.Service
}

func newWorld(t *testing.T) *world {
	t.Helper()
	db := pgtest.New(t, audit.Migrations, identity.Migrations, merchant.Migrations, matching.Migrations)
	ids := identity.NewService(db, redistest.New(t).Client(t), identity.Config{Argon2: identity.Argon2Params{Memory: 64, Time: 1, Threads: 1}})
	ctx := context.Background()
	demo, err := ids.SeedDemo(ctx, "Tandem-demo-2025")
	if err != nil {
		t.Fatal(err)
	}
	ms := merchant.New(domain.Deps{DB: db}, merchant.Ports{}, merchant.Config{})
	return &world{ctx: ctx, merchants: ms, ids: ids, demo: demo,
		svcDB: func(p matching.Purchases, l matching.Location) *matching.Service {
			return matching.New(domain.Deps{DB: db}, matching.Ports{Merchants: ms, Purchases: p, Location: l}, matching.Config{RadiusM: 3000})
		}}
}

func (w *world) p(t *testing.T, login string) *identity.Principal {
	t.Helper()
	p, err := w.ids.Principal(w.ctx, w.demo.Users[login])
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// live walks a shop through the B-CRM to a live merchant, as the story does.
func (w *world) live(t *testing.T, name, category string, lat, lng float64) uuid.UUID {
	t.Helper()
	w.n++
	rep := w.p(t, "sh1.rep")
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	l, err := w.merchants.CreateLead(w.ctx, rep, merchant.NewLead{Name: name, Category: category, Address: "上海",
		Lat: lat, Lng: lng, Phone: fmt.Sprintf("1390000%04d", w.n), City: "上海"})
	check(err)
	_, err = w.merchants.Claim(w.ctx, rep, l.ID)
	check(err)
	for _, st := range []merchant.Stage{merchant.StageContacted, merchant.StageVisited, merchant.StageNegotiating} {
		_, err = w.merchants.MoveStage(w.ctx, rep, l.ID, st, "")
		check(err)
	}
	_, err = w.merchants.SignContract(w.ctx, w.p(t, "sh.manager"), l.ID, merchant.NewContract{CommissionRate: "6%",
		SettlementCycle: merchant.CycleT1, StartsOn: "2026-01-01", EndsOn: "2027-01-01"})
	check(err)
	_, err = w.merchants.SubmitOnboarding(w.ctx, rep, l.ID)
	check(err)
	ap, err := w.merchants.ApproveOnboarding(w.ctx, w.p(t, "reviewer"), l.ID, merchant.Approval{SubMchID: fmt.Sprintf("19%08d", w.n)})
	check(err)
	return ap.Merchant.ID
}

func ids(recs []matching.Recommendation) []uuid.UUID {
	out := make([]uuid.UUID, len(recs))
	for i, r := range recs {
		out[i] = r.MerchantID
	}
	return out
}

func TestRecompute(t *testing.T) {
	w := newWorld(t)
	// Around People's Square (31.2304, 121.4737).
	tried := w.live(t, "A 小笼", "restaurant", 31.2304, 121.4737)
	near := w.live(t, "B 面馆", "restaurant", 31.2390, 121.4737)    // ~950 m north
	nearer := w.live(t, "C 生煎", "restaurant", 31.2330, 121.4737)  // ~290 m north
	w.live(t, "D 咖啡", "cafe", 31.2310, 121.4737)                  // near, but a category never bought
	far := w.live(t, "E 浦东机场餐厅", "restaurant", 31.1443, 121.8083) // ~33 km away
	consumer := uuid.Must(uuid.NewV7())
	purchases := &fakePurchases{by: map[uuid.UUID][]matching.Purchase{consumer: {{MerchantID: tried}}}}
	svc := w.svcDB(purchases, nil)

	n, err := svc.Recompute(w.ctx, consumer)
	if err != nil || n != 2 {
		t.Fatalf("recompute: %d %v", n, err)
	}
	recs, err := svc.Recommendations(w.ctx, consumer, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(recs); len(got) != 2 || got[0] != nearer || got[1] != near || recs[0].Rank != 1 || recs[0].DistanceM < 250 || recs[0].DistanceM > 330 {
		t.Fatalf("recommendations: %+v", recs)
	}
	// Idempotent: again, the same.
	if n, err := svc.Recompute(w.ctx, consumer); err != nil || n != 2 {
		t.Fatalf("again: %d %v", n, err)
	}
	// A known position wins over the centre of the purchases.
	located := w.svcDB(purchases, fakeLocation{consumer: {Lat: 31.1443, Lng: 121.8083}})
	if _, err := located.Recompute(w.ctx, consumer); err != nil {
		t.Fatal(err)
	}
	recs, _ = located.Recommendations(w.ctx, consumer, 0)
	if got := ids(recs); len(got) != 1 || got[0] != far {
		t.Fatalf("at the airport: %+v", recs)
	}
	// Tried merchants are excluded once bought, whatever the category the port says.
	purchases.by[consumer] = append(purchases.by[consumer], matching.Purchase{MerchantID: nearer, Category: "restaurant"})
	if _, err := svc.Recompute(w.ctx, consumer); err != nil {
		t.Fatal(err)
	}
	recs, _ = svc.Recommendations(w.ctx, consumer, 0)
	for _, r := range recs {
		if r.MerchantID == nearer || r.MerchantID == tried {
			t.Fatalf("tried merchant recommended: %+v", recs)
		}
	}
	// No purchases: nothing to recommend, and what was stored goes.
	purchases.by[consumer] = nil
	if n, err := svc.Recompute(w.ctx, consumer); err != nil || n != 0 {
		t.Fatalf("no purchases: %d %v", n, err)
	}
	if recs, _ := svc.Recommendations(w.ctx, consumer, 0); len(recs) != 0 {
		t.Fatalf("left over: %+v", recs)
	}
}

func TestPaymentSucceededRecomputes(t *testing.T) {
	w := newWorld(t)
	tried := w.live(t, "A 小笼", "restaurant", 31.2304, 121.4737)
	other := w.live(t, "B 面馆", "restaurant", 31.2390, 121.4737)
	consumer := uuid.Must(uuid.NewV7())
	svc := w.svcDB(&fakePurchases{by: map[uuid.UUID][]matching.Purchase{consumer: {{MerchantID: tried}}}}, nil)
	subs := svc.Subscriptions()
	if len(subs) != 1 || subs[0].Topic != events.TopicPaymentSucceeded {
		t.Fatalf("subscriptions: %+v", subs)
	}
	payload, _ := json.Marshal(events.PaymentSucceeded{OrderID: uuid.Must(uuid.NewV7()), ConsumerID: consumer, MerchantID: tried, AmountFen: 12850})
	env := events.Envelope{ID: uuid.Must(uuid.NewV7()), Topic: events.TopicPaymentSucceeded, Payload: payload}
	// Delivered at least once, here three times at once: the same result.
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = subs[0].Handle(w.ctx, env) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	recs, err := svc.Recommendations(w.ctx, consumer, 0)
	if err != nil || len(recs) != 1 || recs[0].MerchantID != other {
		t.Fatalf("after payment: %+v %v", recs, err)
	}

	// The consumer's own API.
	e := httpx.New(httpx.Options{})
	consumers := e.Group("/api/v1", func(c *gin.Context) { // stands in for identity's Authenticate of consumers
		if id, err := uuid.Parse(c.GetHeader("X-Test-Consumer")); err == nil {
			c.Request = c.Request.WithContext(identity.WithConsumer(c.Request.Context(), id))
		}
	})
	domain.Collect(svc).MountRoutes(domain.Routers{Staff: consumers, Consumer: consumers, Public: consumers})
	req := httptest.NewRequest("GET", "/api/v1/consumer/me/recommendations", nil)
	req.Header.Set("X-Test-Consumer", consumer.String())
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	var body struct{ Items []matching.Recommendation }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK || len(body.Items) != 1 || body.Items[0].MerchantID != other {
		t.Fatalf("GET: %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/consumer/me/recommendations", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("anonymous: %d", rec.Code)
	}
}
