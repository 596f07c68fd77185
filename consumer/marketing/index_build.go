package marketing

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/RoaringBitmap/roaring/v2"
	"golang.org/x/sync/errgroup"
)

// A rebuild reads the tables in chunks of 65,536 member seqs, one roaring container
// key each. Workers take chunks in turn; for each one they stream the chunk's rows of
// members, categories and coupons with COPY TO (text, no per-row Go values) and set
// bits in per-chunk buffers: a short list of offsets while an attribute value is
// rare in the chunk, a dense 8 KiB bitset once it is not. A full chunk turns into
// roaring containers in one step (FromDense, or AddMany over the sorted offsets),
// and the chunks of an attribute are joined at the end. Nothing is allocated per row;
// the rows need no ORDER BY.

// chunkSpan is the seqs of one chunk: one roaring container.
const chunkSpan = 1 << 16

// denseAfter is when a chunk's offset list becomes a bitset: past it, roaring would
// make a bitmap container anyway.
const denseAfter = 4096

type chunkWords = [chunkSpan / 64]uint64

var densePool = sync.Pool{New: func() any { return new(chunkWords) }}

// chunkBits are the members of one chunk with one attribute value.
type chunkBits struct {
	lows  []uint16
	words *chunkWords
}

func (b *chunkBits) set(low uint16) {
	if b.words != nil {
		b.words[low>>6] |= 1 << (low & 63)
		return
	}
	b.lows = append(b.lows, low)
	if len(b.lows) > denseAfter {
		b.words = densePool.Get().(*chunkWords)
		for _, l := range b.lows {
			b.words[l>>6] |= 1 << (l & 63)
		}
		b.lows = b.lows[:0]
	}
}

// take returns the bits as a bitmap of seqs from base and empties b; scratch is
// reused between calls. nil when b is empty.
func (b *chunkBits) take(base uint32, scratch *[]uint32) *roaring.Bitmap {
	if b.words != nil {
		// FromDense shares the words; AddOffset copies the containers to their key.
		out := roaring.AddOffset(roaring.FromDense(b.words[:], false), base)
		clear(b.words[:])
		densePool.Put(b.words)
		b.words = nil
		return out
	}
	if len(b.lows) == 0 {
		return nil
	}
	slices.Sort(b.lows)
	vals := (*scratch)[:0]
	for _, l := range b.lows {
		vals = append(vals, base+uint32(l))
	}
	*scratch = vals
	b.lows = b.lows[:0]
	out := roaring.New()
	out.AddMany(vals)
	return out
}

// chunkSliced is a bit-sliced attribute within a chunk.
type chunkSliced struct {
	exists chunkBits
	planes []chunkBits
	max    uint64
}

func newChunkSliced(key string) *chunkSliced {
	bits, known := numBits[key]
	if !known {
		bits = dayBits
	}
	return &chunkSliced{planes: make([]chunkBits, bits), max: 1<<bits - 1}
}

func (s *chunkSliced) set(low uint16, v uint64) {
	v = min(v, s.max)
	s.exists.set(low)
	for i := 0; v != 0; i, v = i+1, v>>1 {
		if v&1 != 0 {
			s.planes[i].set(low)
		}
	}
}

// builtParts are the bitmaps one worker built, per attribute, one per chunk.
type builtParts struct {
	all []*roaring.Bitmap
	eq  map[string][]*roaring.Bitmap
	num map[string][][]*roaring.Bitmap // [exists, planes...] per chunk
}

// chunkBuilder is one worker's buffers for the chunk it is reading.
type chunkBuilder struct {
	base    uint32
	all     chunkBits
	eq      map[string]*chunkBits
	num     map[string]*chunkSliced
	fixed   [5]*chunkSliced // joined, points, orders, spend, last order: looked up once
	key     []byte
	field   []byte
	scratch []uint32
	parts   builtParts
}

func newChunkBuilder() *chunkBuilder {
	c := &chunkBuilder{eq: map[string]*chunkBits{}, num: map[string]*chunkSliced{},
		parts: builtParts{eq: map[string][]*roaring.Bitmap{}, num: map[string][][]*roaring.Bitmap{}}}
	for i, k := range []string{numJoinedDay, numPoints, numOrders, numSpendYuan, numLastOrderDay} {
		c.fixed[i] = c.sliced(k)
	}
	return c
}

func (c *chunkBuilder) sliced(key string) *chunkSliced {
	s, ok := c.num[key]
	if !ok {
		s = newChunkSliced(key)
		c.num[key] = s
	}
	return s
}

// eqBits is the buffer of the equality attribute prefix+value (value as COPY wrote
// it); looking it up allocates nothing once the value has been seen.
func (c *chunkBuilder) eqBits(prefix string, value []byte) *chunkBits {
	c.key = append(append(c.key[:0], prefix...), copyText(value, &c.field)...)
	b, ok := c.eq[string(c.key)]
	if !ok {
		b = &chunkBits{}
		c.eq[string(c.key)] = b
	}
	return b
}

func (c *chunkBuilder) low(seq int64) (uint16, error) {
	if seq < int64(c.base) || seq >= int64(c.base)+chunkSpan {
		return 0, fmt.Errorf("marketing: seq %d outside its chunk %d", seq, c.base)
	}
	return uint16(seq - int64(c.base)), nil
}

// memberLine reads one row of buildMembersSQL.
func (c *chunkBuilder) memberLine(line []byte) error {
	var f [14][]byte
	if !splitFields(line, f[:]) {
		return fmt.Errorf("marketing: members row %q", line)
	}
	low, err := c.low(atoi(f[0]))
	if err != nil {
		return err
	}
	c.all.set(low)
	c.eqBits(keyGender, f[2]).set(low)
	c.eqBits(keyCity, f[3]).set(low)
	c.eqBits(keyTier, f[4]).set(low)
	if err := eachArrayElement(copyText(f[5], &c.field), func(tag []byte) {
		// The tag is copied out of c.field before eqBits reuses it.
		c.key = append(append(c.key[:0], keyTag...), tag...)
		b, ok := c.eq[string(c.key)]
		if !ok {
			b = &chunkBits{}
			c.eq[string(c.key)] = b
		}
		b.set(low)
	}); err != nil {
		return err
	}
	for i, col := range []int{1, 6, 7, 8} { // joined day, points, orders, spend (yuan)
		c.fixed[i].set(low, uint64(max(atoi(f[col]), 0)))
	}
	if !isNull(f[9]) {
		c.fixed[4].set(low, uint64(max(atoi(f[9]), 0)))
	}
	if r := atoi(f[10]); r > 0 {
		c.eqBits(keyRFMR, f[10]).set(low)
		c.eqBits(keyRFMF, f[11]).set(low)
		c.eqBits(keyRFMM, f[12]).set(low)
	}
	if len(f[13]) > 0 {
		c.eqBits(keyCell, f[13]).set(low)
	}
	return nil
}

// categoryLine reads one row of buildCategoriesSQL.
func (c *chunkBuilder) categoryLine(line []byte) error {
	var f [3][]byte
	if !splitFields(line, f[:]) {
		return fmt.Errorf("marketing: categories row %q", line)
	}
	low, err := c.low(atoi(f[0]))
	if err != nil {
		return err
	}
	c.key = append(append(c.key[:0], numCategory...), copyText(f[1], &c.field)...)
	s, ok := c.num[string(c.key)]
	if !ok {
		s = c.sliced(string(c.key))
	}
	s.set(low, uint64(max(atoi(f[2]), 0)))
	return nil
}

// couponLine reads one row of buildCouponsSQL.
func (c *chunkBuilder) couponLine(line []byte) error {
	var f [4][]byte
	if !splitFields(line, f[:]) {
		return fmt.Errorf("marketing: coupons row %q", line)
	}
	low, err := c.low(atoi(f[0]))
	if err != nil {
		return err
	}
	if string(f[2]) == "t" {
		c.eqBits(keyCouponHeld, f[1]).set(low)
	}
	if string(f[3]) == "t" {
		c.eqBits(keyCouponUnused, f[1]).set(low)
	}
	return nil
}

// flush turns the chunk's buffers into bitmaps kept in c.parts.
func (c *chunkBuilder) flush() {
	if b := c.all.take(c.base, &c.scratch); b != nil {
		c.parts.all = append(c.parts.all, b)
	}
	for k, bits := range c.eq {
		if b := bits.take(c.base, &c.scratch); b != nil {
			c.parts.eq[k] = append(c.parts.eq[k], b)
		}
	}
	for k, s := range c.num {
		ex := s.exists.take(c.base, &c.scratch)
		if ex == nil {
			continue
		}
		part := make([]*roaring.Bitmap, 1+len(s.planes))
		part[0] = ex
		for i := range s.planes {
			if part[1+i] = s.planes[i].take(c.base, &c.scratch); part[1+i] == nil {
				part[1+i] = roaring.New()
			}
		}
		c.parts.num[k] = append(c.parts.num[k], part)
	}
}

// The chunk's rows as COPY text. Days are computed by PostgreSQL in Asia/Shanghai
// (dayOf's rule), so no timestamp is parsed here; amounts are whole yuan.
const (
	buildMembersSQL = `COPY (SELECT seq, (joined_at AT TIME ZONE 'Asia/Shanghai')::date - DATE '2015-01-01', gender, city, tier, tags,
  points_balance, orders_count, spend_fen / 100, (last_order_at AT TIME ZONE 'Asia/Shanghai')::date - DATE '2015-01-01',
  rfm_r, rfm_f, rfm_m, home_cell FROM marketing.members WHERE seq >= %d AND seq < %d) TO STDOUT`
	buildCategoriesSQL = `COPY (SELECT seq, category, (last_order_at AT TIME ZONE 'Asia/Shanghai')::date - DATE '2015-01-01'
  FROM marketing.member_categories WHERE seq >= %d AND seq < %d) TO STDOUT`
	buildCouponsSQL = `COPY (SELECT seq, batch_id, held > 0, unused > 0 FROM marketing.member_coupons WHERE seq >= %d AND seq < %d) TO STDOUT`
)

// buildWorkers is how many chunks are read at once: PostgreSQL formats the rows
// while Go sets the bits, so one more than the cores keeps both busy.
func buildWorkers() int { return runtime.GOMAXPROCS(0) + 1 }

// build scans the tables into a fresh index (see the top of this file).
func (s *Service) build(ctx context.Context) (*Index, error) {
	var change int64
	var maxSeq int64
	// The watermark is read first: whatever commits during the scan is replayed.
	if err := s.db.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM marketing.member_changes`).Scan(&change); err != nil {
		return nil, fmt.Errorf("marketing: index watermark: %w", err)
	}
	if err := s.db.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM marketing.members`).Scan(&maxSeq); err != nil {
		return nil, fmt.Errorf("marketing: index size: %w", err)
	}
	chunks := maxSeq/chunkSpan + 1
	var next atomic.Int64
	builders := make([]*chunkBuilder, min(int64(buildWorkers()), chunks))
	g, gctx := errgroup.WithContext(ctx)
	for w := range builders {
		c := newChunkBuilder()
		builders[w] = c
		g.Go(func() error {
			conn, err := s.db.Acquire(gctx)
			if err != nil {
				return fmt.Errorf("marketing: rebuild: %w", err)
			}
			defer conn.Release()
			pc := conn.Conn().PgConn()
			for k := next.Add(1) - 1; k < chunks; k = next.Add(1) - 1 {
				c.base = uint32(k * chunkSpan)
				lo, hi := k*chunkSpan, (k+1)*chunkSpan
				for _, scan := range []struct {
					sql  string
					line func([]byte) error
				}{{buildMembersSQL, c.memberLine}, {buildCategoriesSQL, c.categoryLine}, {buildCouponsSQL, c.couponLine}} {
					lw := &lineWriter{line: scan.line}
					if _, err := pc.CopyTo(gctx, lw, fmt.Sprintf(scan.sql, lo, hi)); err != nil {
						return fmt.Errorf("marketing: rebuild: %w", err)
					}
					if lw.err != nil {
						return fmt.Errorf("marketing: rebuild: %w", lw.err)
					}
				}
				c.flush()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	x := joinParts(builders)
	x.change = change
	x.optimizeParallel()
	return x, nil
}

// joinParts ORs the chunks of every attribute (disjoint containers: each OR only
// appends them).
func joinParts(builders []*chunkBuilder) *Index {
	x := newIndex()
	var all []*roaring.Bitmap
	eq := map[string][]*roaring.Bitmap{}
	num := map[string][][]*roaring.Bitmap{}
	for _, c := range builders {
		all = append(all, c.parts.all...)
		for k, bs := range c.parts.eq {
			eq[k] = append(eq[k], bs...)
		}
		for k, ps := range c.parts.num {
			num[k] = append(num[k], ps...)
		}
	}
	x.all = roaring.FastOr(all...)
	for k, bs := range eq {
		x.eq[k] = roaring.FastOr(bs...)
	}
	for k, parts := range num {
		s := newSliced(len(parts[0]) - 1)
		col := make([]*roaring.Bitmap, len(parts))
		for p := range len(parts[0]) {
			for i, part := range parts {
				col[i] = part[p]
			}
			if p == 0 {
				s.exists = roaring.FastOr(col...)
			} else {
				s.planes[p-1] = roaring.FastOr(col...)
			}
		}
		x.num[k] = s
	}
	return x
}

// optimizeParallel run-compresses every bitmap, on every core.
func (x *Index) optimizeParallel() {
	work := make(chan *roaring.Bitmap, 64)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range work {
				b.RunOptimize()
			}
		}()
	}
	work <- x.all
	for _, b := range x.eq {
		work <- b
	}
	for _, s := range x.num {
		work <- s.exists
		for _, p := range s.planes {
			work <- p
		}
	}
	close(work)
	wg.Wait()
}

// lineWriter receives COPY TO's data and hands over whole lines (PostgreSQL sends
// one row per message, but nothing here relies on it).
type lineWriter struct {
	carry []byte
	line  func([]byte) error
	err   error
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	if w.err != nil {
		return n, nil
	}
	if len(w.carry) > 0 {
		w.carry = append(w.carry, p...)
		p = w.carry
	}
	for {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.carry = append(w.carry[:0], p...)
			return n, nil
		}
		if err := w.line(p[:i]); err != nil {
			w.err = err
			return n, nil
		}
		p = p[i+1:]
	}
}

// splitFields cuts a COPY text row at its tabs into f; false when the count differs.
func splitFields(line []byte, f [][]byte) bool {
	for i := range f {
		j := bytes.IndexByte(line, '\t')
		if i == len(f)-1 {
			if j >= 0 {
				return false
			}
			f[i] = line
			return true
		}
		if j < 0 {
			return false
		}
		f[i], line = line[:j], line[j+1:]
	}
	return true
}

func isNull(f []byte) bool { return len(f) == 2 && f[0] == '\\' && f[1] == 'N' }

// atoi reads a COPY integer (0 for \N).
func atoi(f []byte) int64 {
	var v int64
	neg := len(f) > 0 && f[0] == '-'
	if neg {
		f = f[1:]
	}
	for _, ch := range f {
		if ch < '0' || ch > '9' {
			return 0
		}
		v = v*10 + int64(ch-'0')
	}
	if neg {
		return -v
	}
	return v
}

// copyText undoes COPY's text escapes (backslash, \b \f \n \r \t \v); f itself when
// it has none, else a copy in buf.
func copyText(f []byte, buf *[]byte) []byte {
	if bytes.IndexByte(f, '\\') < 0 {
		return f
	}
	out := (*buf)[:0]
	for i := 0; i < len(f); i++ {
		ch := f[i]
		if ch == '\\' && i+1 < len(f) {
			i++
			switch f[i] {
			case 'b':
				ch = '\b'
			case 'f':
				ch = '\f'
			case 'n':
				ch = '\n'
			case 'r':
				ch = '\r'
			case 't':
				ch = '\t'
			case 'v':
				ch = '\v'
			default:
				ch = f[i]
			}
		}
		out = append(out, ch)
	}
	*buf = out
	return out
}

// eachArrayElement calls fn with every non-NULL element of a PostgreSQL text[]
// literal ({a,"b c","d\"e"}); fn must not keep the slice.
func eachArrayElement(lit []byte, fn func([]byte)) error {
	if len(lit) < 2 || lit[0] != '{' || lit[len(lit)-1] != '}' {
		return fmt.Errorf("marketing: array %q", lit)
	}
	body := lit[1 : len(lit)-1]
	var el []byte
	for i := 0; i < len(body); {
		el = el[:0]
		if body[i] == '"' {
			i++
			for i < len(body) && body[i] != '"' {
				if body[i] == '\\' && i+1 < len(body) {
					i++
				}
				el = append(el, body[i])
				i++
			}
			i++ // the closing quote
			fn(el)
		} else {
			j := bytes.IndexByte(body[i:], ',')
			if j < 0 {
				j = len(body) - i
			}
			if v := body[i : i+j]; string(v) != "NULL" {
				fn(v)
			}
			i += j
		}
		if i < len(body) && body[i] == ',' {
			i++
		}
	}
	return nil
}
