package matching_test

import (
	"context"
	"testing"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/matching/offline"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/pgtest"
)

// BenchmarkRecomputeOne is the refresh of one consumer's list after a payment, from the
// tables: the reads of the ranking, the ranking and the store.
func BenchmarkRecomputeOne(b *testing.B) {
	ctx := context.Background()
	svc := matching.New(domain.Deps{DB: pgtest.New(b, matching.Migrations)}, matching.Ports{}, matching.Config{})
	data := offline.Generate(offline.Spec{Consumers: 2000, Merchants: 300, OrdersPerConsumer: 20, Seed: 3})
	if err := svc.Import(ctx, data.Merchants, data.PaidOrders()); err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Rebuild(ctx); err != nil {
		b.Fatal(err)
	}
	ids := matching.NewModel(data.Merchants, offline.Pairs(data.Orders)).Consumers()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.Recompute(ctx, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}
