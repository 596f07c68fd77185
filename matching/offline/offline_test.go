package offline_test

import (
	"context"
	"testing"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/matching/offline"
)

// The generator is deterministic, and on its data every method finds more than chance and
// the served hybrid beats the popularity baseline: a change that makes it worse fails here.
func TestEvaluationBeatsPopularity(t *testing.T) {
	t.Parallel()
	sp := offline.Spec{Consumers: 1500, Merchants: 400, Seed: 1}
	a, b := offline.Generate(sp), offline.Generate(sp)
	if len(a.Orders) != len(b.Orders) || a.Orders[10] != b.Orders[10] || len(a.Orders) < 1500*5 {
		t.Fatalf("generator: %d and %d orders", len(a.Orders), len(b.Orders))
	}
	ev, err := offline.Evaluate(context.Background(), a, matching.Config{}, offline.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Consumers < 500 {
		t.Fatalf("only %d consumers evaluated", ev.Consumers)
	}
	score := map[matching.Method]offline.Score{}
	for _, s := range ev.Scores {
		score[s.Method] = s
		t.Logf("%-12s P@10 %.4f R@10 %.4f P@20 %.4f R@20 %.4f", s.Method, s.Precision[0], s.Recall[0], s.Precision[1], s.Recall[1])
	}
	chance := 20 / float64(len(a.Merchants))
	pop, hybrid := score[matching.MethodPopularity], score[matching.MethodHybrid]
	if pop.Recall[1] <= chance {
		t.Fatalf("popularity at chance: %v", pop)
	}
	if hybrid.Recall[1] <= pop.Recall[1]*1.2 || hybrid.Precision[0] <= pop.Precision[0] {
		t.Fatalf("hybrid %v does not beat popularity %v", hybrid, pop)
	}
}

// Automatic merges on planted duplicates: precise, and most duplicates found.
func TestResolutionOnPlantedDuplicates(t *testing.T) {
	t.Parallel()
	s := offline.ScoreResolution(offline.GenerateIdentities(20_000, 0.05, 1))
	t.Logf("%+v", s)
	if s.Planted != 1000 || s.Precision < 0.99 || s.Recall < 0.4 || s.ReviewRecall <= s.Recall {
		t.Fatalf("resolution: %+v", s)
	}
}
