package matching

import (
	"context"
	"encoding/binary"
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
	// Rank and Store are the workers' time ranking and writing, summed over workers.
	Rank, Store time.Duration
}

// rebuildBatch is how many consumers' recommendations one transaction replaces.
const rebuildBatch = 1000

// Rebuild recomputes everything derived from the purchase record: the co-purchase pairs
// (each merchant's strongest, from every consumer's last 50 merchants) and every
// consumer's recommendations, ranked from one in-memory Model (read from PostgreSQL as a
// stream into compact arrays) by Config.Workers goroutines and written in transactions
// of 1,000 consumers, so serving never waits on it; the co-purchase pairs are written
// meanwhile. Incremental updates go on meanwhile; a consumer recomputed after a payment
// during the rebuild may get the rebuild's list, a few minutes older, until their next
// payment.
func (s *Service) Rebuild(ctx context.Context) (RebuildStats, error) {
	var st RebuildStats
	start := time.Now()
	b, pairs, err := s.loadModel(ctx)
	if err != nil {
		return st, fmt.Errorf("matching: rebuild: %w", pg.Classify(err))
	}
	st.Load = time.Since(start)
	start = time.Now()
	m := b.build()
	st.Model = time.Since(start)
	st.Merchants, st.Pairs, st.Consumers = len(m.merchants), pairs, len(m.consumers)
	for _, ns := range m.nbrs {
		st.CoPairs += len(ns)
	}
	start = time.Now()
	coDone := make(chan error, 1)
	go func() { coDone <- s.writeCoPurchases(ctx, m) }()

	type batch struct{ from, to int32 }
	batches := make(chan batch)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var sc rankScratch
			for b := range batches {
				n, ranked, stored, err := s.rebuildBatch(ctx, m, &sc, b.from, b.to)
				mu.Lock()
				st.Recommendations += n
				st.Rank, st.Store = st.Rank+ranked, st.Store+stored
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < len(m.consumers); i += rebuildBatch {
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		batches <- batch{int32(i), int32(min(i+rebuildBatch, len(m.consumers)))}
	}
	close(batches)
	wg.Wait()
	if err := <-coDone; err != nil && firstErr == nil {
		firstErr = fmt.Errorf("co-purchases: %w", err)
	}
	st.Write = time.Since(start)
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return st, fmt.Errorf("matching: rebuild: %w", firstErr)
	}
	if err := matchingdb.New(s.db).PruneServingChanges(ctx, s.clock.Now().Add(-24*time.Hour)); err != nil {
		return st, fmt.Errorf("matching: rebuild: prune the serving changes: %w", pg.Classify(err))
	}
	s.log.InfoContext(ctx, "matching rebuilt", "merchants", st.Merchants, "consumers", st.Consumers, "pairs", st.Pairs,
		"co_pairs", st.CoPairs, "recommendations", st.Recommendations, "load", st.Load, "model", st.Model, "rank_write", st.Write)
	return st, nil
}

// loadModel streams the merchants and the consumer–merchant record into a model's
// builder: binary rows decoded in place into int32 arrays, never a row struct per pair.
func (s *Service) loadModel(ctx context.Context) (*modelBuilder, int, error) {
	ms, err := matchingdb.New(s.db).AllMerchants(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("merchants: %w", err)
	}
	merchants := make([]ModelMerchant, len(ms))
	for i, r := range ms {
		merchants[i] = ModelMerchant{Merchant: Merchant{ID: r.MerchantID, Name: r.Name, Category: r.Category, Lat: r.Lat, Lng: r.Lng}, Live: r.Live}
	}
	var hint int64
	if err := s.db.QueryRow(ctx, `SELECT greatest(reltuples, 0)::int8 FROM pg_class WHERE oid = 'matching.consumer_merchants'::regclass`).Scan(&hint); err != nil {
		return nil, 0, fmt.Errorf("purchases: size: %w", err)
	}
	b := newModelBuilder(merchants, int(min(hint, 1<<28)))
	rows, err := s.db.Query(ctx, `SELECT consumer_id, merchant_id, orders, last_at FROM matching.consumer_merchants`,
		pgx.QueryResultFormats{pgx.BinaryFormatCode})
	if err != nil {
		return nil, 0, fmt.Errorf("purchases: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 4 || len(v[0]) != 16 || len(v[1]) != 16 || len(v[2]) != 4 || len(v[3]) != 8 {
			return nil, 0, fmt.Errorf("purchases: an unexpected row")
		}
		// Binary: uuid 16 bytes, int4 big-endian, timestamptz microseconds since 2000-01-01.
		last := pgEpoch + int64(binary.BigEndian.Uint64(v[3]))*1000
		b.pair(uuid.UUID(v[0]), uuid.UUID(v[1]), int32(binary.BigEndian.Uint32(v[2])), last)
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("purchases: %w", err)
	}
	return b, n, nil
}

// pgEpoch is PostgreSQL's time zero (2000-01-01 UTC) in unix nanoseconds.
var pgEpoch = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()

// writeCoPurchases replaces the co-purchase pairs (the incremental refresh reads them)
// in one transaction, streamed from the model.
func (s *Service) writeCoPurchases(ctx context.Context, m *Model) error {
	return pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		if err := matchingdb.New(tx).DeleteCoPurchases(ctx); err != nil {
			return err
		}
		a, j := 0, -1
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"matching", "co_purchases"}, []string{"a", "b", "n"}, pgx.CopyFromFunc(func() ([]any, error) {
			for j++; a < len(m.nbrs) && j >= len(m.nbrs[a]); j = 0 {
				a++
			}
			if a >= len(m.nbrs) {
				return nil, nil
			}
			n := m.nbrs[a][j]
			return []any{m.merchants[a].ID, m.merchants[n.m].ID, n.co}, nil
		}))
		return err
	})
}

func (s *Service) rebuildBatch(ctx context.Context, m *Model, sc *rankScratch, from, to int32) (n int, ranked, stored time.Duration, err error) {
	start := time.Now()
	rows := make([]matchingdb.CopyRecommendationsParams, 0, to-from)
	consumers := m.consumers[from:to]
	for c := from; c < to; c++ {
		recs := m.rankHybrid(sc, s.cfg, c, s.cfg.Max)
		r, err := s.rows(m.consumers[c], recs)
		if err != nil {
			return 0, 0, 0, err
		}
		rows, n = append(rows, r...), n+len(recs)
	}
	ranked, start = time.Since(start), time.Now()
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		return replaceRecommendations(ctx, matchingdb.New(tx), consumers, rows)
	})
	if err != nil {
		return 0, 0, 0, pg.Classify(err)
	}
	return n, ranked, time.Since(start), nil
}
