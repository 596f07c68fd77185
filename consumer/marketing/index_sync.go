package marketing

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// How the index stays in step with the tables:
//
//  1. Every change to a member's facts (an event applied, RFM scored, a seed) writes
//     a row to marketing.member_changes with the member's seq in the same transaction.
//  2. Before answering, a process reads the changes after the last id it applied (at
//     most every Config.TailEvery) and re-reads those members' rows: applying a member
//     twice is harmless, so a redelivered event or a replayed change cannot skew it.
//     Ids are taken in commit order only roughly (a transaction may commit after a
//     later id is visible); a gap below the highest id seen is re-checked for a
//     minute until its row appears or is given up as rolled back.
//  3. A snapshot (marketing.index_snapshots: every bitmap and the change id it
//     includes) lets a process start without a full scan; the change log after it is
//     replayed. The scheduled marketing:index_snapshot writes one and prunes the log.
//  4. A rebuild rescans the tables (marketing:index_rebuild, or no snapshot yet).
//
// Time-relative conditions ("ordered in the last 30 days") are stored as absolute
// days, so the index does not go stale as days pass.

// tailState is the change log reader's position.
type tailState struct {
	last atomic.Int64        // when the log was last read (unix ns); read without loadMu
	gaps map[int64]time.Time // ids below the watermark not seen yet, and when first missed; under loadMu
}

// stale says whether the log is due to be read again.
func (t *tailState) stale(every time.Duration) bool {
	return time.Since(time.Unix(0, t.last.Load())) >= every
}

// gapPatience is how long a missing change id is waited for.
const gapPatience = time.Minute

// index returns the process's index, loading it (snapshot + log, or a rebuild) the
// first time and reading the change log when it is older than Config.TailEvery.
func (s *Service) index(ctx context.Context) (*Index, error) {
	s.idxMu.RLock()
	x := s.idx
	s.idxMu.RUnlock()
	if x != nil && !s.tail.stale(s.cfg.TailEvery) {
		return x, nil
	}
	// A count does not wait for the change log while the index is less than five
	// TailEvery old: one background read brings it up to date, so the database's
	// latency stays off the live count's path.
	if x != nil && !s.tail.stale(5*s.cfg.TailEvery) {
		if s.tailing.CompareAndSwap(false, true) {
			go s.tailInBackground(context.WithoutCancel(ctx))
		}
		return x, nil
	}
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.idx == nil {
		x, err := s.loadSnapshot(ctx)
		if err != nil {
			return nil, err
		}
		if x == nil {
			if x, err = s.build(ctx); err != nil {
				return nil, err
			}
		}
		s.setIndex(x)
	}
	if s.tail.stale(s.cfg.TailEvery) {
		if err := s.tailChanges(ctx, s.idx); err != nil {
			return nil, err
		}
	}
	return s.idx, nil
}

// tailInBackground reads the change log for index, off the caller's path.
func (s *Service) tailInBackground(ctx context.Context) {
	defer s.tailing.Store(false)
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	if s.idx == nil || !s.tail.stale(s.cfg.TailEvery) {
		return
	}
	if err := s.tailChanges(ctx, s.idx); err != nil {
		s.log.ErrorContext(ctx, "marketing: read the change log", "err", err)
	}
}

func (s *Service) setIndex(x *Index) {
	s.idxMu.Lock()
	s.idx = x
	s.idxMu.Unlock()
}

// Rebuild rescans every member into a new index and swaps it in; it returns the
// index's figures.
func (s *Service) Rebuild(ctx context.Context) (Stats, error) {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	x, err := s.build(ctx)
	if err != nil {
		return Stats{}, err
	}
	s.setIndex(x)
	s.tail.last.Store(0)
	s.tail.gaps = nil
	if err := s.tailChanges(ctx, x); err != nil {
		return Stats{}, err
	}
	return x.stats(), nil
}

// The scans stream rows (10M members do not fit a sqlc slice), so their SQL is here.
const (
	scanMembersSQL = `SELECT m.seq, m.joined_at, m.gender, m.city, m.tier, m.tags, m.points_balance, m.orders_count,
  m.spend_fen, m.last_order_at, m.rfm_r, m.rfm_f, m.rfm_m, m.home_cell FROM marketing.members m WHERE `
	scanCategoriesSQL = `SELECT m.seq, m.category, m.last_order_at FROM marketing.member_categories m WHERE `
	scanCouponsSQL    = `SELECT m.seq, m.batch_id, m.held, m.unused FROM marketing.member_coupons m WHERE `
)

// loadFacts reads the facts of the members matching where, in seq order.
func (s *Service) loadFacts(ctx context.Context, where string, args ...any) ([]uint32, map[uint32]*memberFacts, error) {
	facts := map[uint32]*memberFacts{}
	order := []uint32{}
	rows, err := s.db.Query(ctx, scanMembersSQL+where+` ORDER BY m.seq`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("marketing: scan members: %w", err)
	}
	// Categories and coupons are few per member: they are read after the members of
	// the range, into the members' facts; members are added at the end in seq order.
	for rows.Next() {
		m := &memberFacts{}
		var seq int32
		if err := rows.Scan(&seq, &m.JoinedAt, &m.Gender, &m.City, &m.Tier, &m.Tags, &m.Points, &m.Orders, &m.SpendFen,
			&m.LastOrderAt, &m.RFM[0], &m.RFM[1], &m.RFM[2], &m.Cell); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("marketing: scan members: %w", err)
		}
		m.Seq = uint32(seq)
		facts[m.Seq] = m
		order = append(order, m.Seq)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("marketing: scan members: %w", err)
	}
	if err := s.scanEach(ctx, scanCategoriesSQL+where, args, func(seq uint32, name string, at time.Time, _, _ int32) {
		if m := facts[seq]; m != nil {
			if m.Categories == nil {
				m.Categories = map[string]time.Time{}
			}
			m.Categories[name] = at
		}
	}, true); err != nil {
		return nil, nil, err
	}
	if err := s.scanEach(ctx, scanCouponsSQL+where, args, func(seq uint32, batch string, _ time.Time, held, unused int32) {
		if m := facts[seq]; m != nil {
			if held > 0 {
				m.CouponsHeld = append(m.CouponsHeld, batch)
			}
			if unused > 0 {
				m.CouponsUnused = append(m.CouponsUnused, batch)
			}
		}
	}, false); err != nil {
		return nil, nil, err
	}
	return order, facts, nil
}

func (s *Service) scanEach(ctx context.Context, sql string, args []any, fn func(seq uint32, name string, at time.Time, a, b int32), timed bool) error {
	rows, err := s.db.Query(ctx, sql, args...)
	if err != nil {
		return fmt.Errorf("marketing: scan: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int32
		var name string
		var at time.Time
		var a, b int32
		if timed {
			err = rows.Scan(&seq, &name, &at)
		} else {
			err = rows.Scan(&seq, &name, &a, &b)
		}
		if err != nil {
			return fmt.Errorf("marketing: scan: %w", err)
		}
		fn(uint32(seq), name, at, a, b)
	}
	return rows.Err()
}

// tailChanges applies the change log after x's watermark (and the gaps still awaited).
func (s *Service) tailChanges(ctx context.Context, x *Index) error {
	if s.tail.gaps == nil {
		s.tail.gaps = map[int64]time.Time{}
	}
	for {
		x.mu.RLock()
		from := x.change
		x.mu.RUnlock()
		gaps := make([]int64, 0, len(s.tail.gaps))
		for id, since := range s.tail.gaps {
			if time.Since(since) > gapPatience {
				delete(s.tail.gaps, id)
				continue
			}
			gaps = append(gaps, id)
		}
		rows, err := s.db.Query(ctx, `SELECT id, seq FROM marketing.member_changes WHERE id > $1 OR id = ANY($2::bigint[]) ORDER BY id LIMIT 20000`,
			from, gaps)
		if err != nil {
			return fmt.Errorf("marketing: read changes: %w", err)
		}
		var seqs []int32
		last, n := from, 0
		for rows.Next() {
			var id int64
			var seq int32
			if err := rows.Scan(&id, &seq); err != nil {
				rows.Close()
				return err
			}
			n++
			seqs = append(seqs, seq)
			if _, awaited := s.tail.gaps[id]; awaited {
				delete(s.tail.gaps, id)
				continue
			}
			for missing := last + 1; missing < id && id-missing < 10000; missing++ {
				s.tail.gaps[missing] = time.Now()
			}
			last = max(last, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("marketing: read changes: %w", err)
		}
		if n > 0 {
			ms, err := s.readFacts(ctx, seqs)
			if err != nil {
				return err
			}
			x.apply(ms, last)
		}
		if n < 20000 {
			s.tail.last.Store(time.Now().UnixNano())
			return nil
		}
	}
}

// readFacts reads the current facts of members; a seq with no row is returned
// deleted (the index then forgets it).
func (s *Service) readFacts(ctx context.Context, seqs []int32) ([]*memberFacts, error) {
	_, facts, err := s.loadFacts(ctx, `m.seq = ANY($1::int[])`, seqs)
	if err != nil {
		return nil, err
	}
	out := make([]*memberFacts, 0, len(seqs))
	seen := map[int32]bool{}
	for _, q := range seqs {
		if seen[q] {
			continue
		}
		seen[q] = true
		if m, ok := facts[uint32(q)]; ok {
			out = append(out, m)
		} else {
			out = append(out, &memberFacts{Seq: uint32(q), deleted: true})
		}
	}
	return out, nil
}
