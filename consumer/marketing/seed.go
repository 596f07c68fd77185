package marketing

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/tandemcrm/tandem/shared/pg"
)

// Synthetic members for benchmarks and volume demos (tandem seed --scale N, tandem
// bench segments): plausible distributions of cities, tiers, tags, orders and
// categories, written straight into marketing's own tables with COPY. Member i is a
// pure function of (seed, i), so the three tables are written by three concurrent
// COPY streams that agree without sharing state. Only the projections are written
// (no marketing.orders rows): segments and RFM read the projections.

var (
	seedCities     = []string{"上海", "北京", "广州", "深圳", "杭州", "成都", "南京", "武汉", "西安", "重庆", "苏州", "天津"}
	seedCityWeight = []int{20, 18, 10, 10, 8, 7, 6, 6, 5, 4, 3, 3}
	seedTags       = []string{"咖啡爱好者", "价格敏感", "夜猫子", "宝妈", "白领", "学生", "健身", "甜品控", "外卖常客", "周末出游",
		"高客单", "新客", "沉睡", "宠物主", "素食", "早餐党", "奶茶控", "火锅迷", "评论达人", "分享达人"}
	seedCategories = []string{"coffee", "tea", "bakery", "hotpot", "fastfood", "dessert", "noodles", "bbq"}
	seedBatches    = []string{"WELCOME5", "MAN30JIAN5", "BIRTHDAY10"}
)

// mix is splitmix64 of (seed, i, k): an independent uniform 64-bit value per
// member and attribute.
func mix(seed, i, k uint64) uint64 {
	z := seed ^ (i * 0x9e3779b97f4a7c15) ^ (k * 0xbf58476d1ce4e5b9)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func unit(seed, i, k uint64) float64 { return float64(mix(seed, i, k)>>11) / (1 << 53) }

type synthMember struct {
	id          uuid.UUID
	seq         int32
	joined      time.Time
	gender      string
	city        string
	tier        string
	tags        []string
	points      int64
	orders      int32
	spend       int64
	first, last *time.Time
	rfm         [3]int16
	cats        map[string]time.Time
	coupons     map[string]int32 // batch → unused (held is 1)
}

type synth struct {
	seed uint64
	now  time.Time
	base int32 // seq of member 0
}

func (g synth) member(i uint64) synthMember {
	m := synthMember{seq: g.base + int32(i), tags: []string{}}
	m.id = synthID(m.seq, mix(g.seed, i, 1), mix(g.seed, i, 2))
	m.joined = g.now.Add(-time.Duration(unit(g.seed, i, 3) * 3 * 365 * 24 * float64(time.Hour)))
	switch u := unit(g.seed, i, 4); {
	case u < 0.55:
		m.gender = "f"
	case u < 0.98:
		m.gender = "m"
	}
	w := int(mix(g.seed, i, 5) % 100)
	for c, cw := range seedCityWeight {
		if w < cw {
			m.city = seedCities[c]
			break
		}
		w -= cw
	}
	switch u := unit(g.seed, i, 6); {
	case u < 0.60:
		m.tier = "member"
	case u < 0.85:
		m.tier = "silver"
	case u < 0.97:
		m.tier = "gold"
	default:
		m.tier = "platinum"
	}
	for k := range mix(g.seed, i, 7) % 5 {
		t := seedTags[mix(g.seed, i, 20+k)%uint64(len(seedTags))]
		if !contains(m.tags, t) {
			m.tags = append(m.tags, t)
		}
	}
	if unit(g.seed, i, 8) >= 0.3 { // 70% have ordered
		u := unit(g.seed, i, 9)
		m.orders = int32(1 + u*u*u*40)
		m.spend = int64(m.orders) * (1500 + int64(mix(g.seed, i, 10)%9000))
		since := g.now.Sub(m.joined)
		r := unit(g.seed, i, 11)
		last := g.now.Add(-time.Duration(r * r * float64(min(since, 365*24*time.Hour))))
		first := m.joined.Add(time.Duration(unit(g.seed, i, 12) * float64(last.Sub(m.joined))))
		m.first, m.last = &first, &last
		m.cats = map[string]time.Time{}
		for k := range 1 + mix(g.seed, i, 13)%3 {
			c := seedCategories[mix(g.seed, i, 30+k)%uint64(len(seedCategories))]
			at := last
			if k > 0 {
				at = first.Add(time.Duration(unit(g.seed, i, 40+k) * float64(last.Sub(first))))
			}
			if prev, ok := m.cats[c]; !ok || at.After(prev) {
				m.cats[c] = at
			}
		}
		m.points = m.spend / 100 * int64(1+mix(g.seed, i, 14)%3) / 2
		m.rfm = rfmScore(g.now, m.last, int64(m.orders), m.spend)
	}
	if u := unit(g.seed, i, 15); u < 0.15 {
		m.coupons = map[string]int32{seedBatches[mix(g.seed, i, 16)%uint64(len(seedBatches))]: int32(mix(g.seed, i, 17) % 2)}
	}
	return m
}

// synthID is a synthetic member's id: its seq in the leading bytes (so COPY appends
// to the primary key's index instead of writing all over it, which at ten million
// members is most of the seed's time), random bits after, with UUID version 4 and
// variant bits.
func synthID(seq int32, r1, r2 uint64) uuid.UUID {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], r1)
	binary.BigEndian.PutUint64(b[8:], r2)
	binary.BigEndian.PutUint32(b[:4], uint32(seq))
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return uuid.UUID(b)
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// seedSource streams rows of one table for members [0, n).
type seedSource struct {
	g    synth
	n, i uint64
	rows func(m *synthMember) [][]any
	buf  [][]any
	pos  int
}

func (s *seedSource) Next() bool {
	for {
		if s.pos+1 < len(s.buf) {
			s.pos++
			return true
		}
		if s.i >= s.n {
			return false
		}
		m := s.g.member(s.i)
		s.i++
		s.buf, s.pos = s.rows(&m), -1
	}
}

func (s *seedSource) Values() ([]any, error) { return s.buf[s.pos], nil }
func (s *seedSource) Err() error             { return nil }

// prepareBulkLoad readies a table for a large COPY in tx when it is empty (it is
// left as it is otherwise, and nothing is returned): TRUNCATE lets
// PostgreSQL skip the write-ahead log for the rows (with wal_level minimal), and its
// secondary indexes are dropped, to be built in one sorted pass afterwards (the
// returned statements) instead of ten million random inserts. Indexes that back a
// constraint stay. The table is locked until tx ends, so no one sees it without them.
func prepareBulkLoad(ctx context.Context, tx pgx.Tx, table string) ([]string, error) {
	name := `marketing.` + pgx.Identifier{table}.Sanitize()
	var empty bool
	if _, err := tx.Exec(ctx, `LOCK TABLE `+name+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		return nil, err
	}
	if err := tx.QueryRow(ctx, `SELECT NOT EXISTS (SELECT 1 FROM `+name+`)`).Scan(&empty); err != nil || !empty {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `TRUNCATE `+name); err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, `SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
WHERE i.indrelid = ('marketing.' || quote_ident($1))::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)`, table)
	if err != nil {
		return nil, err
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return nil, err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := tx.Exec(ctx, `DROP INDEX `+name); err != nil {
			return nil, err
		}
	}
	return defs, nil
}

// SeedMembers writes n synthetic members (after the existing ones) with their
// categories and coupons and returns how long the writes took. The rows bypass the
// change log: callers Rebuild (and Snapshot) afterwards.
func (s *Service) SeedMembers(ctx context.Context, n int, seed uint64) (time.Duration, error) {
	start := time.Now()
	// The seqs are reserved first (members joining meanwhile take seqs after them).
	var base int32
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE marketing.members IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		var top int64
		if err := tx.QueryRow(ctx, `SELECT setval(pg_get_serial_sequence('marketing.members', 'seq'),
  greatest((SELECT coalesce(max(seq), 0) FROM marketing.members),
           (SELECT last_value FROM marketing.members_seq_seq)) + $1::bigint)`, n).Scan(&top); err != nil {
			return err
		}
		base = int32(top) - int32(n) + 1
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("marketing: seed: reserve seqs: %w", err)
	}
	g := synth{seed: seed, now: s.now(), base: base}
	tables := []struct {
		name string
		cols []string
		rows func(m *synthMember) [][]any
	}{
		{"members", []string{"consumer_id", "seq", "joined_at", "gender", "city", "tier", "tags", "points_balance", "orders_count",
			"spend_fen", "first_order_at", "last_order_at", "rfm_r", "rfm_f", "rfm_m"}, func(m *synthMember) [][]any {
			return [][]any{{[16]byte(m.id), m.seq, m.joined, m.gender, m.city, m.tier, m.tags, m.points, m.orders, m.spend, m.first, m.last,
				m.rfm[0], m.rfm[1], m.rfm[2]}}
		}},
		{"member_categories", []string{"consumer_id", "seq", "category", "orders", "last_order_at"}, func(m *synthMember) [][]any {
			out := make([][]any, 0, len(m.cats))
			for c, at := range m.cats {
				out = append(out, []any{[16]byte(m.id), m.seq, c, int32(1), at})
			}
			return out
		}},
		{"member_coupons", []string{"consumer_id", "seq", "batch_id", "held", "unused"}, func(m *synthMember) [][]any {
			out := make([][]any, 0, len(m.coupons))
			for b, unused := range m.coupons {
				out = append(out, []any{[16]byte(m.id), m.seq, b, int32(1), unused})
			}
			return out
		}},
	}
	// Ids go as [16]byte, copied as they are by any pool: a pool not opened by pg.Connect
	// (which sends a uuid.UUID as its bytes) would format every id as text, half of the
	// seed's CPU.
	eg, ectx := errgroup.WithContext(ctx)
	for _, t := range tables {
		eg.Go(func() error {
			err := pg.InTx(ectx, s.db, pg.TxOptions{Attempts: 1}, func(tx pgx.Tx) error {
				rebuild, err := prepareBulkLoad(ectx, tx, t.name)
				if err != nil {
					return err
				}
				if _, err := tx.CopyFrom(ectx, pgx.Identifier{"marketing", t.name}, t.cols, &seedSource{g: g, n: uint64(n), rows: t.rows}); err != nil {
					return err
				}
				if len(rebuild) > 0 {
					// Each index is one sort of every row: in memory rather than in
					// temporary files (64 MB, the default, is a tenth of ten million rows').
					if _, err := tx.Exec(ectx, `SET LOCAL maintenance_work_mem = '256MB'`); err != nil {
						return err
					}
				}
				for _, ddl := range rebuild {
					if _, err := tx.Exec(ectx, ddl); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("marketing: seed %s: %w", t.name, err)
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return 0, err
	}
	for _, q := range []string{
		`ANALYZE marketing.members`, `ANALYZE marketing.member_categories`, `ANALYZE marketing.member_coupons`,
	} {
		if _, err := s.db.Exec(ctx, q); err != nil {
			return 0, fmt.Errorf("marketing: seed: %w", err)
		}
	}
	return time.Since(start), nil
}
