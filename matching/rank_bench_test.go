package matching_test

import (
	"context"
	"testing"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/matching/offline"
)

// BenchmarkModelRank is the rebuild's cost per consumer, without the writes.
func BenchmarkModelRank(b *testing.B) {
	data := offline.Generate(offline.Spec{Consumers: 3000, Merchants: 300, OrdersPerConsumer: 50, Seed: 2})
	m := matching.NewModel(data.Merchants, offline.Pairs(data.Orders))
	ids := m.Consumers()
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		if _, err := m.Rank(ctx, matching.Config{}, ids[i%len(ids)], matching.MethodHybrid, 20); err != nil {
			b.Fatal(err)
		}
	}
}
