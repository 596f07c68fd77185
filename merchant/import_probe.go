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

// The dedup of an import against the database — the same phone, the same licence
// number (a probe of each key a row), or a similar name nearby (one probe of
// leads_near_name_idx a row, about 55 µs on a quiet machine, the import's largest
// dedup cost) — runs in chunks on importProbeConns connections of the pool at once,
// beside the import's own transaction, while the file is still being staged: a
// statement that writes (the import's INSERT … SELECT) gets no parallel workers from
// PostgreSQL, so the import parallelises it itself. Each chunk is one read-only
// statement over the chunk's rows sent as arrays (the probes cannot see the rows the
// import's transaction is staging). They read the committed leads, as the import's own statement
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

// probeChunk is rows of the file to probe: their row numbers, names, places, phones
// and licence numbers ("" for none).
type probeChunk struct {
	rows             []int32
	names            []string
	lats, lngs       []float64
	phones, licences []string
}

// probeFinds are the rows like a shop of the database: the row, the shop and the
// column that makes them alike (phone, licence_no or name, in that order).
type probeFinds struct {
	rows []int32
	ids  []uuid.UUID
	cols []string
}

func (f *probeFinds) add(o probeFinds) {
	f.rows, f.ids, f.cols = append(f.rows, o.rows...), append(f.ids, o.ids...), append(f.cols, o.cols...)
}

// nameProber takes the staged rows as they are validated (add) and probes them in
// chunks; wait returns, for each row like a shop of the database, the row, the shop
// and why: the shop of its phone, else of its licence number, else the most alike
// name nearby (the order the create's check refuses in).
type nameProber struct {
	ctx  context.Context
	cur  probeChunk
	ch   chan probeChunk
	g    *errgroup.Group
	once sync.Once

	mu     sync.Mutex
	finds  probeFinds
	left   []probeChunk // for the import's own connection
	serial bool         // a probe found no connection: the rest go to left
}

// nameProbeSQL probes the chunk $1-$4, $7, $8 (rows, names, lats, lngs, phones,
// licences): the phone's shop and the licence's by their unique keys (looked up by
// the index, hash and merge joins being off: the planner would rather read the whole
// table for 2,000 rows); for a row with neither and a place, a similar name within
// $5 metres at similarity $6: a box around each point and `%`
// (pg_trgm.similarity_threshold, set to $6 for the transaction) both checked in
// leads_near_name_idx, so only shops already alike are read and measured; the most
// alike (then the lowest id) is named.
var nameProbeSQL = `SELECT coalesce(array_agg(s.row), '{}'), coalesce(array_agg(coalesce(p.id, c.id, m.id)), '{}'),
    coalesce(array_agg(CASE WHEN p.id IS NOT NULL THEN 'phone' WHEN c.id IS NOT NULL THEN 'licence_no' ELSE 'name' END), '{}')
FROM unnest($1::int4[], $2::text[], $3::float8[], $4::float8[], $7::text[], $8::text[]) AS s (row, name, lat, lng, phone, licence)
LEFT JOIN merchant.leads p ON p.phone = s.phone
LEFT JOIN merchant.leads c ON c.licence_no = nullif(s.licence, '') AND c.licence_no IS NOT NULL
LEFT JOIN LATERAL (SELECT l.id FROM merchant.leads l
    WHERE p.id IS NULL AND c.id IS NULL AND (s.lat <> 0 OR s.lng <> 0) AND ` + nearBox("s.lat", "s.lng", "$5::float8") + `
      AND l.name % s.name AND similarity(l.name, s.name) >= $6
    ORDER BY similarity(l.name, s.name) DESC, l.id LIMIT 1) m ON true
WHERE p.id IS NOT NULL OR c.id IS NOT NULL OR m.id IS NOT NULL`

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
				var found probeFinds
				err := errNoProbeConn
				if !serial {
					found, err = s.probeNames(gctx, c)
				}
				p.mu.Lock()
				switch {
				case errors.Is(err, errNoProbeConn):
					p.serial, p.left = true, append(p.left, c)
				case err == nil:
					p.finds.add(found)
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

// add queues row for its probes; a row without a place is probed by its keys only
// (as on create).
func (p *nameProber) add(row int32, name string, lat, lng float64, phone string, licence *string) {
	c := &p.cur
	c.rows, c.names, c.lats, c.lngs = append(c.rows, row), append(c.names, name), append(c.lats, lat), append(c.lngs, lng)
	lic := ""
	if licence != nil {
		lic = *licence
	}
	c.phones, c.licences = append(c.phones, phone), append(c.licences, lic)
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
// free for, and returns the rows like a shop of the database, with that shop and why.
func (p *nameProber) wait(ctx context.Context, s *Service, tx pgx.Tx) (probeFinds, error) {
	p.send()
	p.once.Do(func() { close(p.ch) })
	if err := p.g.Wait(); err != nil {
		return probeFinds{}, err
	}
	for _, c := range p.left {
		found, err := s.probeOn(ctx, tx, c)
		if err != nil {
			return probeFinds{}, err
		}
		p.finds.add(found)
	}
	return p.finds, nil
}

// probeNames probes one chunk in a read-only transaction of its own, on a connection
// of the pool (errNoProbeConn when none came free in importProbeWait).
func (s *Service) probeNames(ctx context.Context, c probeChunk) (probeFinds, error) {
	actx, cancel := context.WithTimeout(ctx, importProbeWait)
	conn, err := s.db.Acquire(actx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			return probeFinds{}, errNoProbeConn
		}
		return probeFinds{}, err
	}
	defer conn.Release()
	var found probeFinds
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		found, err = s.probeOn(ctx, tx, c)
		return err
	})
	return found, err
}

// probeOn probes one chunk in tx; the similarity threshold, jit and the joins are set
// for the rest of tx (and set back after, tx being the import's when no connection
// came free).
func (s *Service) probeOn(ctx context.Context, tx pgx.Tx, c probeChunk) (f probeFinds, err error) {
	if _, err := tx.Exec(ctx, `SELECT set_config('pg_trgm.similarity_threshold', $1, true), set_config('jit', 'off', true),
    set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)`,
		strconv.FormatFloat(s.cfg.DedupSimilarity, 'f', -1, 64)); err != nil {
		return f, err
	}
	err = tx.QueryRow(ctx, nameProbeSQL, c.rows, c.names, c.lats, c.lngs, s.cfg.DedupRadiusM, s.cfg.DedupSimilarity, c.phones, c.licences).
		Scan(&f.rows, &f.ids, &f.cols)
	if err != nil {
		return f, err
	}
	_, err = tx.Exec(ctx, `SELECT set_config('enable_hashjoin', 'on', true), set_config('enable_mergejoin', 'on', true)`)
	return f, err
}
