package offline

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/pg"
)

// DemoResult is what the demo loaded.
type DemoResult struct {
	Merchants, Orders int
	Merged, Queued    int
}

// Demo loads a small neighbourhood around People's Square into an empty record, so that
// every matching page shows something real: 400 synthetic consumers buying at 60
// synthetic merchants (the generator above), the demo consumer among them, the
// recommendations rebuilt, and identity resolution run over a few planted duplicates
// (some merged automatically, some waiting for review because of conflicting phones).
// A record that holds purchases already is left alone.
func Demo(ctx context.Context, svc *matching.Service, demoConsumer uuid.UUID, now time.Time) (DemoResult, error) {
	if has, err := svc.HasPurchases(ctx); err != nil || has {
		return DemoResult{}, err
	}
	data := Generate(Spec{Consumers: 400, Merchants: 60, OrdersPerConsumer: 10, Seed: 17})
	// The history ends today.
	shift := now.Sub(data.Orders[len(data.Orders)-1].At)
	for i := range data.Orders {
		data.Orders[i].At = data.Orders[i].At.Add(shift)
	}
	// The demo consumer bought at two of the busiest merchants last week.
	if demoConsumer != uuid.Nil {
		counts := map[uuid.UUID]int{}
		for _, o := range data.Orders {
			counts[o.Merchant]++
		}
		ms := slices.Clone(data.Merchants)
		slices.SortFunc(ms, func(a, b matching.ModelMerchant) int { return counts[b.ID] - counts[a.ID] })
		for i, m := range ms[:2] {
			data.Orders = append(data.Orders, Order{Consumer: demoConsumer, Merchant: m.ID, AmountFen: 4_800 + int64(i)*1_000,
				At: now.Add(-time.Duration(7-i) * 24 * time.Hour)})
		}
	}
	if err := svc.Import(ctx, data.Merchants, data.PaidOrders()); err != nil {
		return DemoResult{}, err
	}
	if _, err := svc.Rebuild(ctx); err != nil {
		return DemoResult{}, err
	}
	// Planted duplicates among the demo's consumers.
	var consumers []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, o := range data.Orders {
		if !seen[o.Consumer] && o.Consumer != demoConsumer {
			seen[o.Consumer] = true
			consumers = append(consumers, o.Consumer)
		}
	}
	pg.SortUUIDs(consumers)
	var recs []matching.ConsumerRecord
	pair := func(i int, a, b matching.ConsumerRecord) {
		a.ConsumerID, b.ConsumerID = consumers[2*i], consumers[2*i+1]
		recs = append(recs, a, b)
	}
	phone := func(i int) string { return fmt.Sprintf("1390000%04d", i) }
	for i := range 3 { // the same unionid: merged automatically
		u := fmt.Sprintf("demo-union-%d", i)
		pair(i, matching.ConsumerRecord{UnionID: u, OpenIDs: []matching.AppOpenID{{AppID: "wx-mini", OpenID: fmt.Sprintf("demo-o-%d-a", i)}}},
			matching.ConsumerRecord{UnionID: u, OpenIDs: []matching.AppOpenID{{AppID: "wx-shop", OpenID: fmt.Sprintf("demo-o-%d-b", i)}}})
	}
	for i := 3; i < 5; i++ { // the same unionid, two different verified phones: review
		u := fmt.Sprintf("demo-union-%d", i)
		pair(i, matching.ConsumerRecord{UnionID: u, Phones: []matching.Phone{{Number: phone(2 * i), Verified: true}}},
			matching.ConsumerRecord{UnionID: u, Phones: []matching.Phone{{Number: phone(2*i + 1), Verified: true}}})
	}
	pair(5, matching.ConsumerRecord{Phones: []matching.Phone{{Number: phone(50), Verified: true}}}, // one side verified: review
		matching.ConsumerRecord{Phones: []matching.Phone{{Number: "+86 " + phone(50)}}})
	merged, queued, err := svc.Propose(ctx, matching.Resolve(recs))
	if err != nil {
		return DemoResult{}, err
	}
	return DemoResult{Merchants: len(data.Merchants), Orders: len(data.Orders), Merged: merged, Queued: queued}, nil
}
