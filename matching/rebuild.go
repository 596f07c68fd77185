package matching

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/matching/internal/matchingdb"
	"github.com/tandemcrm/tandem/shared/pg"
)

// RebuildStats says what a rebuild did.
type RebuildStats struct {
	Merchants, Consumers, Pairs, CoPairs, Recommendations int
	Load, Model, Write                                    time.Duration
}

// rebuildBatch is how many consumers' recommendations one transaction replaces.
const rebuildBatch = 1000

// Rebuild recomputes everything derived from the purchase record: the co-purchase pairs
// (each merchant's strongest, from every consumer's last 50 merchants) and every
// consumer's recommendations, ranked from one in-memory Model by Config.Workers
// goroutines and written in transactions of 1,000 consumers, so serving never waits on
// it. Incremental updates go on meanwhile; a consumer recomputed after a payment during
// the rebuild may get the rebuild's list, a few minutes older, until their next payment.
func (s *Service) Rebuild(ctx context.Context) (RebuildStats, error) {
	var st RebuildStats
	start := time.Now()
	q := matchingdb.New(s.db)
	ms, err := q.AllMerchants(ctx)
	if err != nil {
		return st, fmt.Errorf("matching: rebuild: merchants: %w", pg.Classify(err))
	}
	merchants := make([]ModelMerchant, len(ms))
	for i, r := range ms {
		merchants[i] = ModelMerchant{Merchant: Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng}, Live: r.Live}
	}
	ps, err := q.AllConsumerMerchants(ctx)
	if err != nil {
		return st, fmt.Errorf("matching: rebuild: purchases: %w", pg.Classify(err))
	}
	pairs := make([]Pair, len(ps))
	for i, r := range ps {
		pairs[i] = Pair{Consumer: r.ConsumerID, Merchant: r.MerchantID, Orders: int(r.Orders), LastAt: r.LastAt}
	}
	ps = nil
	st.Load = time.Since(start)
	start = time.Now()
	m := NewModel(merchants, pairs)
	st.Merchants, st.Pairs = len(merchants), len(pairs)
	pairs = nil
	var co []matchingdb.CopyCoPurchasesParams
	_ = m.CoPurchases(func(a, b uuid.UUID, n int) error {
		co = append(co, matchingdb.CopyCoPurchasesParams{A: a, B: b, N: int32(n)})
		return nil
	})
	st.CoPairs = len(co)
	st.Model = time.Since(start)
	start = time.Now()
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := matchingdb.New(tx)
		if err := q.DeleteCoPurchases(ctx); err != nil {
			return err
		}
		_, err := q.CopyCoPurchases(ctx, co)
		return err
	})
	if err != nil {
		return st, fmt.Errorf("matching: rebuild: co-purchases: %w", pg.Classify(err))
	}
	consumers := m.Consumers()
	st.Consumers = len(consumers)
	batches := make(chan []uuid.UUID)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				n, err := s.rebuildBatch(ctx, m, b)
				mu.Lock()
				st.Recommendations += n
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < len(consumers); i += rebuildBatch {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		batches <- consumers[i:min(i+rebuildBatch, len(consumers))]
	}
	close(batches)
	wg.Wait()
	st.Write = time.Since(start)
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return st, fmt.Errorf("matching: rebuild: %w", firstErr)
	}
	if err := q.PruneServingChanges(ctx, s.clock.Now().Add(-24*time.Hour)); err != nil {
		return st, fmt.Errorf("matching: rebuild: prune the serving changes: %w", pg.Classify(err))
	}
	s.log.InfoContext(ctx, "matching rebuilt", "merchants", st.Merchants, "consumers", st.Consumers, "pairs", st.Pairs,
		"co_pairs", st.CoPairs, "recommendations", st.Recommendations, "load", st.Load, "model", st.Model, "write", st.Write)
	return st, nil
}

func (s *Service) rebuildBatch(ctx context.Context, m *Model, consumers []uuid.UUID) (int, error) {
	var rows []matchingdb.CopyRecommendationsParams
	n := 0
	for _, c := range consumers {
		recs, _, err := rank(ctx, m, s.cfg, c, MethodHybrid, s.cfg.Max)
		if err != nil {
			return 0, err
		}
		r, err := s.rows(c, recs)
		if err != nil {
			return 0, err
		}
		rows, n = append(rows, r...), n+len(recs)
	}
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		return replaceRecommendations(ctx, matchingdb.New(tx), consumers, rows)
	})
	if err != nil {
		return 0, pg.Classify(err)
	}
	return n, nil
}
