package billing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/redistest"
)

// waitFor polls cond until it holds (a condition wait, not a timed assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFulfilmentThroughTheRelayAndWorker: the real path of step 4: the outbox
// relay enqueues on asynq, the worker runs billing's fulfilment, the dispatcher
// consumer's points; WeChat duplicating the notification still credits once and calls the
// webhook once.
func TestFulfilmentThroughTheRelayAndWorker(t *testing.T) {
	w := newWorld(t)
	var hooks atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		hooks.Add(1)
		rw.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	terms, _ := w.merchants.Terms(w.ctx, w.merchant)
	terms.WebhookURL, terms.WebhookSecret = hook.URL, "s"
	w.merchants.set(w.merchant, terms)

	subs := append(w.consumers.Subscriptions(), w.svc.Subscriptions()...)
	r := redistest.New(t)
	client := asynq.NewClient(r.Asynq())
	defer client.Close()
	srv := asynq.NewServer(r.Asynq(), asynq.Config{Concurrency: 4, TaskCheckInterval: 10 * time.Millisecond, LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	outbox.Register(mux, w.db, subs)
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithCancel(w.ctx)
	defer cancel()
	relay := outbox.NewRelay(w.db, client, subs, outbox.RelayConfig{Poll: 50 * time.Millisecond}, nil, nil)
	go relay.Run(ctx) //nolint:errcheck
	// Points are a batched subscription: the dispatcher, not asynq, delivers them.
	go outbox.NewDispatcher(w.db, subs, outbox.DispatchConfig{Poll: 50 * time.Millisecond}, nil, nil).Run(ctx) //nolint:errcheck

	c := w.member("o-e2e")
	o := w.order(c, 15_000)
	w.sim.Control("POST", "/sim/faults", map[string]any{"kind": "duplicate", "times": 4, "out_trade_no": o.OrderNo}, nil)
	w.pay(o.OrderNo)
	waitFor(t, "points and fulfilment", func() bool { return w.balance(c) == 150 && w.get(o.ID).FulfilledAt != nil })
	waitFor(t, "the outbox drained", func() bool {
		return w.count(`SELECT count(*) FROM platform.outbox WHERE sent_at IS NULL`) == 0
	})
	if n, err := relay.RelayOnce(w.ctx); err != nil || n != 0 {
		t.Fatalf("relay again: %d, %v", n, err)
	}
	if b := w.balance(c); b != 150 {
		t.Fatalf("points %d", b)
	}
	if hooks.Load() != 1 || w.count(`SELECT count(*) FROM billing.webhook_deliveries`) != 1 {
		t.Fatalf("webhook called %d times", hooks.Load())
	}
	if n := w.count(`SELECT count(*) FROM billing.notifications_log WHERE out_trade_no = $1`, o.OrderNo); n != 5 {
		t.Fatalf("%d notifications logged, want 5", n)
	}
}
