package merchant

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// The similar-name probe of an import against the database (one probe of
// leads_near_name_idx a row, about 55 µs on a quiet machine, the import's largest
// dedup cost) runs in chunks on importProbeConns connections of the pool at once,
// beside the import's own transaction, while the file is still being staged: a
// statement that writes (the import's INSERT … SELECT) gets no parallel workers from
// PostgreSQL, so the import parallelises it itself. Each chunk is one read-only
// statement over the chunk's rows sent as arrays (the probes cannot see the import's
// temporary table). They read the committed leads, as the import's own statement
// would: the import has written none yet. Should the pool have no connection to spare
// for importProbeWait (as many imports at once as connections, each waiting for its
// probes), the chunks left are probed on the import's own connection, one after the
// other: an import never waits for a connection held by another import.
const (
	importProbeConns = 2
	importProbeChunk = 2_000
	importProbeWait  = 2 * time.Second
)

// errNoProbeConn: no connection of the pool came free for a probe in time.
var errNoProbeConn = errors.New("merchant: no connection for the import's probes")

// probeChunk is rows of the file to probe: their row numbers, names and places.
type probeChunk struct {
	rows       []int32
	names      []string
	lats, lngs []float64
}

// nameProber takes the staged rows as they are validated (add) and probes them in
// chunks; wait returns, for each row like a shop of the database, the row and the
// most alike such shop.
type nameProber struct {
	ctx  context.Context
	cur  probeChunk
	ch   chan probeChunk
	g    *errgroup.Group
	once sync.Once

	mu     sync.Mutex
	rows   []int32
	ids    []uuid.UUID
	left   []probeChunk // for the import's own connection
	serial bool         // a probe found no connection: the rest go to left
}

// nameProbeSQL probes the chunk $1-$4 (rows, names, lats, lngs) within $5 metres at
// similarity $6: a box around each point and `%` (pg_trgm.similarity_threshold, set
// to $6 for the transaction) both checked in leads_near_name_idx, so only shops
// already alike are read and measured; the most alike (then the lowest id) is named.
var nameProbeSQL = `SELECT coalesce(array_agg(s.row), '{}'), coalesce(array_agg(m.id), '{}')
FROM unnest($1::int4[], $2::text[], $3::float8[], $4::float8[]) AS s (row, name, lat, lng)
CROSS JOIN LATERAL (SELECT l.id FROM merchant.leads l
    WHERE ` + nearBox("s.lat", "s.lng", "$5::float8") + `
      AND l.name % s.name AND similarity(l.name, s.name) >= $6
    ORDER BY similarity(l.name, s.name) DESC, l.id LIMIT 1) m`

// startNameProbes starts the probers; stop (or wait) must follow.
func (s *Service) startNameProbes(ctx context.Context) *nameProber {
	g, gctx := errgroup.WithContext(ctx)
	// Room for every chunk of the largest file: staging never waits for the probes.
	p := &nameProber{ctx: gctx, g: g, ch: make(chan probeChunk, MaxImportRows/importProbeChunk+1)}
	for range importProbeConns {
		g.Go(func() error {
			for c := range p.ch {
				p.mu.Lock()
				serial := p.serial
				p.mu.Unlock()
				var rows []int32
				var ids []uuid.UUID
				err := errNoProbeConn
				if !serial {
					rows, ids, err = s.probeNames(gctx, c)
				}
				p.mu.Lock()
				switch {
				case errors.Is(err, errNoProbeConn):
					p.serial, p.left = true, append(p.left, c)
				case err == nil:
					p.rows, p.ids = append(p.rows, rows...), append(p.ids, ids...)
				}
				p.mu.Unlock()
				if err != nil && !errors.Is(err, errNoProbeConn) {
					return err
				}
			}
			return nil
		})
	}
	return p
}

// add queues row for its probe; a row without a place is not probed (as on create).
func (p *nameProber) add(row int32, name string, lat, lng float64) {
	if lat == 0 && lng == 0 {
		return
	}
	c := &p.cur
	c.rows, c.names, c.lats, c.lngs = append(c.rows, row), append(c.names, name), append(c.lats, lat), append(c.lngs, lng)
	if len(c.rows) == importProbeChunk {
		p.send()
	}
}

func (p *nameProber) send() {
	if len(p.cur.rows) == 0 {
		return
	}
	select {
	case p.ch <- p.cur:
	case <-p.ctx.Done(): // a prober failed: wait says why
	}
	p.cur = probeChunk{}
}

// stop ends the probes without waiting for their rows (an import that failed).
func (p *nameProber) stop() {
	p.once.Do(func() { close(p.ch) })
	_ = p.g.Wait()
}

// wait probes the last chunk, and on tx (the import's) the chunks no connection came
// free for, and returns the rows like a shop of the database, with that shop.
func (p *nameProber) wait(ctx context.Context, s *Service, tx pgx.Tx) ([]int32, []uuid.UUID, error) {
	p.send()
	p.once.Do(func() { close(p.ch) })
	if err := p.g.Wait(); err != nil {
		return nil, nil, err
	}
	for _, c := range p.left {
		rows, ids, err := s.probeOn(ctx, tx, c)
		if err != nil {
			return nil, nil, err
		}
		p.rows, p.ids = append(p.rows, rows...), append(p.ids, ids...)
	}
	return p.rows, p.ids, nil
}

// probeNames probes one chunk in a read-only transaction of its own, on a connection
// of the pool (errNoProbeConn when none came free in importProbeWait).
func (s *Service) probeNames(ctx context.Context, c probeChunk) ([]int32, []uuid.UUID, error) {
	actx, cancel := context.WithTimeout(ctx, importProbeWait)
	conn, err := s.db.Acquire(actx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			return nil, nil, errNoProbeConn
		}
		return nil, nil, err
	}
	defer conn.Release()
	var rows []int32
	var ids []uuid.UUID
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		rows, ids, err = s.probeOn(ctx, tx, c)
		return err
	})
	return rows, ids, err
}

// probeOn probes one chunk in tx; the similarity threshold and jit are set for the
// rest of tx.
func (s *Service) probeOn(ctx context.Context, tx pgx.Tx, c probeChunk) (rows []int32, ids []uuid.UUID, err error) {
	if _, err := tx.Exec(ctx, `SELECT set_config('pg_trgm.similarity_threshold', $1, true), set_config('jit', 'off', true)`,
		strconv.FormatFloat(s.cfg.DedupSimilarity, 'f', -1, 64)); err != nil {
		return nil, nil, err
	}
	err = tx.QueryRow(ctx, nameProbeSQL, c.rows, c.names, c.lats, c.lngs, s.cfg.DedupRadiusM, s.cfg.DedupSimilarity).Scan(&rows, &ids)
	return rows, ids, err
}
