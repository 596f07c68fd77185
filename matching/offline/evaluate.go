package offline

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/matching"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Ks are the list lengths evaluated.
var Ks = []int{10, 20}

// EvalOptions tune Evaluate.
type EvalOptions struct {
	// TrainShare is the share of each consumer's orders, oldest first, the model learns
	// from; the merchants first tried in the rest are what it should find. Default 0.8.
	TrainShare float64
	// MaxConsumers caps the consumers evaluated (the first ones by id); 0 is all.
	MaxConsumers int
	Workers      int // default 2
}

// Score is one method's figures: precision and recall at each of Ks.
type Score struct {
	Method    matching.Method
	Precision []float64 // by Ks
	Recall    []float64
}

// Evaluation is the held-out evaluation of every method.
type Evaluation struct {
	Consumers   int     // consumers evaluated: some history and a merchant first tried later
	MeanHeldOut float64 // merchants first tried after the cut, per consumer
	Scores      []Score // matching.Methods' order
}

// Evaluate splits each consumer's orders in time, trains a Model on the earlier part of
// everyone's, and measures for each method how many of the merchants a consumer first
// tried after the cut are in their top k (precision@k: hits / k; recall@k: hits / merchants
// held out), averaged over consumers.
func Evaluate(ctx context.Context, data Data, cfg matching.Config, opt EvalOptions) (Evaluation, error) {
	if opt.TrainShare <= 0 || opt.TrainShare >= 1 {
		opt.TrainShare = 0.8
	}
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	byConsumer := map[uuid.UUID][]Order{}
	for _, o := range data.Orders {
		byConsumer[o.Consumer] = append(byConsumer[o.Consumer], o)
	}
	var train []Order
	heldOut := map[uuid.UUID]map[uuid.UUID]bool{}
	for c, os := range byConsumer { // os: oldest first, as data.Orders
		cut := int(float64(len(os)) * opt.TrainShare)
		if cut == 0 {
			cut = len(os) // one order: all training, nothing to find
		}
		train = append(train, os[:cut]...)
		seen := map[uuid.UUID]bool{}
		for _, o := range os[:cut] {
			seen[o.Merchant] = true
		}
		for _, o := range os[cut:] {
			if !seen[o.Merchant] {
				if heldOut[c] == nil {
					heldOut[c] = map[uuid.UUID]bool{}
				}
				heldOut[c][o.Merchant] = true
			}
		}
	}
	slices.SortFunc(train, func(a, b Order) int { return a.At.Compare(b.At) })
	model := matching.NewModel(data.Merchants, Pairs(train))
	consumers := make([]uuid.UUID, 0, len(heldOut))
	for c := range heldOut {
		consumers = append(consumers, c)
	}
	pg.SortUUIDs(consumers)
	if opt.MaxConsumers > 0 && len(consumers) > opt.MaxConsumers {
		consumers = consumers[:opt.MaxConsumers]
	}
	kmax := slices.Max(Ks)
	hits := make([][]float64, len(matching.Methods)) // [method][k] sums of precision, then recall
	recalls := make([][]float64, len(matching.Methods))
	for i := range hits {
		hits[i], recalls[i] = make([]float64, len(Ks)), make([]float64, len(Ks))
	}
	var mu sync.Mutex
	var firstErr error
	work := make(chan uuid.UUID)
	var wg sync.WaitGroup
	for range opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				held := heldOut[c]
				for mi, m := range matching.Methods {
					recs, err := model.Rank(ctx, cfg, c, m, kmax)
					if err != nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, err)
						mu.Unlock()
						continue
					}
					mu.Lock()
					for ki, k := range Ks {
						n := 0
						for _, r := range recs[:min(k, len(recs))] {
							if held[r.ID] {
								n++
							}
						}
						hits[mi][ki] += float64(n) / float64(k)
						recalls[mi][ki] += float64(n) / float64(len(held))
					}
					mu.Unlock()
				}
			}
		}()
	}
	for _, c := range consumers {
		work <- c
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return Evaluation{}, firstErr
	}
	ev := Evaluation{Consumers: len(consumers)}
	if len(consumers) == 0 {
		return ev, nil
	}
	total := 0
	for _, c := range consumers {
		total += len(heldOut[c])
	}
	ev.MeanHeldOut = float64(total) / float64(len(consumers))
	n := float64(len(consumers))
	for mi, m := range matching.Methods {
		s := Score{Method: m}
		for ki := range Ks {
			s.Precision = append(s.Precision, hits[mi][ki]/n)
			s.Recall = append(s.Recall, recalls[mi][ki]/n)
		}
		ev.Scores = append(ev.Scores, s)
	}
	return ev, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// baseline is the popularity method's score.
func (ev Evaluation) baseline() Score {
	for _, s := range ev.Scores {
		if s.Method == matching.MethodPopularity {
			return s
		}
	}
	return Score{}
}

// WriteMarkdown prints one table row per method: precision and recall at each k, and the
// lift of recall@20 over the popularity baseline.
func (ev Evaluation) WriteMarkdown(w io.Writer, data string) {
	base := ev.baseline()
	for _, s := range ev.Scores {
		lift := "—"
		if last := len(Ks) - 1; s.Method != matching.MethodPopularity && base.Recall != nil && base.Recall[last] > 0 {
			lift = fmt.Sprintf("×%.2f", s.Recall[last]/base.Recall[last])
		}
		fmt.Fprintf(w, "| %s | %s | %.4f | %.4f | %.4f | %.4f | %s | %d |\n", data, s.Method,
			s.Precision[0], s.Recall[0], s.Precision[1], s.Recall[1], lift, ev.Consumers)
	}
}
