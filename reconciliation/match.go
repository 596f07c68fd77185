package reconciliation

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"runtime/pprof"
	"strings"
	"time"
	"unsafe"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// The engine is a hash join over a compact index of our records of the window:
// each record is a fixed-size, pointer-free ourRec of 40 bytes (a 128-bit hash of
// the id it is matched by, amount, fee, time, WeChat's status as a small code, the
// bill line that claimed it) in blocks of 64Ki, found through an open-addressing
// table of 8-byte slots. No id is kept: about 53 bytes a record all told (10
// million records in about 530 MB), outside the Go heap on huge pages (offHeap). Our
// ledger is read on one goroutine and indexed on another; a bill file is parsed on
// a third from the start (a bounded way ahead) and streamed through the index once.
// The ids of the few records that end up reported (no line claimed them) are read
// back at the end: by their positions from a LedgerRereader, else by a second pass
// over our ledger; a record our ledger has twice is reported while its ids are at hand.
//
// Matching by a 128-bit hash instead of the id itself: two different ids collide
// with a probability of about n²/2¹²⁹ (10⁻²⁵ for ten million records).

// Id tags: which id of which kind a record is keyed by. Payments are matched by
// transaction_id, refunds by refund_id; a record that lacks WeChat's id (we never
// learned it) is keyed by our number instead, and a line falls back to that.
const (
	tagTxn       uint8 = 1 // payment by transaction_id
	tagOutTrade  uint8 = 2 // payment by out_trade_no
	tagRefundID  uint8 = 3 // refund by refund_id
	tagOutRefund uint8 = 4 // refund by out_refund_no
)

// Field indexes of a record's ids, for the exceptions about it.
const (
	fOutTradeNo = iota
	fTransactionID
	fOutRefundNo
	fRefundID
	fStatus
	nFields
)

// idHash is the 128-bit hash of a (tag, id).
type idHash [2]uint64

type ourRec struct {
	key    idHash
	amount int64  // fen
	at     uint32 // unix seconds
	fee    int32  // fen
	// ref is the bill line that matched it (recMatched); until one does, where our
	// ledger has it (Record.Pos when it fits, for LedgerRereader; 0 unknown).
	ref    int32
	kind   Kind
	status uint8 // index into matcher.statuses
	flags  uint8
	_      uint8
}

const (
	recMatched uint8 = 1 << iota
	recCarried       // an outside_window item of the previous date's run
)

const recBlockBits = 16 // records per block: 64Ki (2.5 MiB)

// billItem is a bill line as the matcher sees it: a line of this bill, or one
// carried in from the previous date's run.
type billItem struct {
	kind                                     Kind
	lineNo                                   int
	mchID                                    string // this bill's line only
	outTradeNo, txn, outRefundNo, refundID   string
	state                                    string
	at                                       time.Time
	amount                                   int64 // the amount compared with ours
	feeMilli                                 int64
	order, settlement, refund, requestedRefd int64 // this bill's line only
	carried                                  bool
}

// matcher holds one run's state.
type matcher struct {
	run      *Run
	from, to time.Time
	edge     int64  // unix: items at or after it are at the window's edge
	next     string // the next date, where edge items are carried
	prev     string // the previous date, where carried-in items come from

	seeds  [2]maphash.Seed
	blocks [][]ourRec
	n      int32
	// slots is the open-addressing table: a slot holds 32 more bits of the hash
	// (high) and the record's index + 1 (low), 0 when empty, so that probing reads
	// a record only when it very likely is the one.
	slots []uint64
	// The table and the blocks live outside the Go heap (offHeap): arena is what is
	// left of the blocks reserved for the ledger's size hint; frees unmap them all.
	arena     []ourRec
	freeSlots func()
	frees     []func()
	sink      uint64   // what touch read, kept so that the reads are made
	prepped   []ourRec // loadOurs' batch, reused
	// statuses are WeChat's states our records have (SUCCESS, PROCESSING…), by code.
	statuses []string
	statusOf map[string]uint8
	// carried holds the ids of the records carried in from the previous date's run
	// (a few): they are not in our ledger's stream to read them back from.
	carried map[int32][nFields]string
	ledger  LedgerSource
	query   LedgerQuery

	unmatched  map[string]int // key of bill lines that matched nothing -> first line
	exceptions []Exception
	// revoked sums the lines of revoked trades (交易状态 REVOKED): no money moved, so
	// they are left out of the day's net.
	revokedSettleFen, revokedFeeMilli int64
	// finder looks up, on every day, the lines that matched nothing of this day
	// (kept in unknown until the bill is read); nil: they are missing_ours at once.
	finder  LedgerFinder
	unknown []billItem
	// fees of the matched lines, for the ledger, when collectFees
	collectFees bool
	fees        []FeeFact
}

func newMatcher(run *Run, from, to time.Time, margin time.Duration) *matcher {
	return &matcher{
		run: run, from: from, to: to, edge: to.Add(-margin).Unix(),
		next: to.Format(wxpay.BillDateLayout), prev: from.AddDate(0, 0, -1).Format(wxpay.BillDateLayout),
		seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, slots: make([]uint64, 1<<12),
		statusOf: map[string]uint8{}, carried: map[int32][nFields]string{}, unmatched: map[string]int{},
	}
}

func (m *matcher) hash(tag uint8, id string) idHash {
	return idHash{maphash.String(m.seeds[0], id) + uint64(tag)*0x9E3779B97F4A7C15, maphash.String(m.seeds[1], id) ^ uint64(tag)}
}

func (m *matcher) rec(i int32) *ourRec { return &m.blocks[i>>recBlockBits][i&(1<<recBlockBits-1)] }

// slot is where k is in the table, or the empty slot where it would go.
func (m *matcher) slot(k idHash) int {
	mask, frag := len(m.slots)-1, k[1]&^(1<<32-1)
	for s := int(k[0]) & mask; ; s = (s + 1) & mask {
		v := m.slots[s]
		if v == 0 || (v&^(1<<32-1) == frag && m.rec(int32(uint32(v))-1).key == k) {
			return s
		}
	}
}

// lookup returns the record keyed by (tag, id), or -1.
func (m *matcher) lookup(tag uint8, id string) int32 {
	return int32(uint32(m.slots[m.slot(m.hash(tag, id))])) - 1
}

func (m *matcher) fill(s int, i int32) {
	m.slots[s] = m.rec(i).key[1]&^(1<<32-1) | uint64(i+1)
}

// find is how a line finds our record: WeChat's id first, then our number.
func (m *matcher) find(kind Kind, wechatID, ourNo string) int32 {
	tagW, tagO := tagTxn, tagOutTrade
	if kind == KindRefund {
		tagW, tagO = tagRefundID, tagOutRefund
	}
	if wechatID != "" {
		if i := m.lookup(tagW, wechatID); i >= 0 {
			return i
		}
	}
	if ourNo != "" {
		return m.lookup(tagO, ourNo)
	}
	return -1
}

// keyOf is the tag and id a record is indexed by.
func keyOf(kind Kind, outTradeNo, txn, outRefundNo, refundID string) (uint8, string) {
	if kind == KindRefund {
		if refundID != "" {
			return tagRefundID, refundID
		}
		return tagOutRefund, outRefundNo
	}
	if txn != "" {
		return tagTxn, txn
	}
	return tagOutTrade, outTradeNo
}

func fieldsOf(r *Record) [nFields]string {
	return [nFields]string{r.OutTradeNo, r.TransactionID, r.OutRefundNo, r.RefundID, r.Status}
}

// grow doubles the table when it is three quarters full.
func (m *matcher) grow(records int) {
	size := len(m.slots)
	for records*4 >= size*3 {
		size *= 2
	}
	if size == len(m.slots) {
		return
	}
	free := m.freeSlots
	m.slots, m.freeSlots = offHeap[uint64](size)
	if free != nil {
		free()
	}
	for i := range m.n {
		m.fill(m.slot(m.rec(i).key), i)
	}
}

// block is room for 1<<recBlockBits more records: from the arena while it lasts.
func (m *matcher) block() []ourRec {
	const n = 1 << recBlockBits
	if len(m.arena) < n {
		b, free := offHeap[ourRec](n)
		m.frees = append(m.frees, free)
		return b
	}
	b := m.arena[:n:n]
	m.arena = m.arena[n:]
	return b
}

// reserve makes room for about records records at once: one mapping of huge pages.
func (m *matcher) reserve(records int) {
	const n = 1 << recBlockBits
	blocks := (records + records/16 + n - 1) / n
	if blocks < 2 || m.arena != nil {
		return
	}
	arena, free := offHeap[ourRec](blocks * n)
	m.arena, m.frees = arena, append(m.frees, free)
}

// release gives the index's memory back; the matcher's records are gone after it.
func (m *matcher) release() {
	if m.freeSlots != nil {
		m.freeSlots()
	}
	for _, f := range m.frees {
		f()
	}
	m.slots, m.blocks, m.arena, m.frees, m.freeSlots = nil, nil, nil, nil, nil
}

// add indexes one of our records. A record whose id is already indexed is a
// duplicate in our ledger: it becomes an exception and the first one stays matchable.
func (m *matcher) add(r *Record, carried bool) error {
	rec, err := m.prep(r)
	if err != nil {
		return err
	}
	f := fieldsOf(r)
	if carried {
		rec.flags |= recCarried
		for k := range f {
			f[k] = strings.Clone(f[k])
		}
	}
	switch m.insert(&rec) {
	case insertFull:
		return errs.E(errs.KindUnprocessable, CodeLedgerUnreadable, "the ledger is too large for one run")
	case insertDuplicate:
		m.oursException(ClassDuplicate, &rec, f, duplicateOurs)
	case inserted:
		if carried {
			m.carried[m.n-1] = f
		}
	}
	return nil
}

const duplicateOurs = "our ledger has it twice"

// Outcomes of insert.
const (
	inserted = iota
	insertDuplicate
	insertFull
)

// prep checks one of our records and makes its entry of the index (the status
// becomes a code: prep is called by one goroutine at a time).
func (m *matcher) prep(r *Record) (ourRec, error) {
	if r.Kind != KindPay && r.Kind != KindRefund {
		return ourRec{}, errs.E(errs.KindInvalid, CodeLedgerUnreadable, fmt.Sprintf("ledger record %s: unknown kind", r.OutTradeNo))
	}
	tag, id := keyOf(r.Kind, r.OutTradeNo, r.TransactionID, r.OutRefundNo, r.RefundID)
	if id == "" {
		return ourRec{}, errs.E(errs.KindInvalid, CodeLedgerUnreadable,
			fmt.Sprintf("ledger %s record at %s has neither WeChat's id nor our number", r.Kind, r.At.Format(time.RFC3339)))
	}
	at := r.At.Unix()
	if r.FeeFen != int64(int32(r.FeeFen)) || at < 0 || at > math.MaxUint32 {
		return ourRec{}, errs.E(errs.KindInvalid, CodeLedgerUnreadable, fmt.Sprintf("ledger record %s: fee or time out of range", id))
	}
	status, ok := m.statusOf[r.Status]
	if !ok {
		if len(m.statuses) == math.MaxUint8 {
			return ourRec{}, errs.E(errs.KindInvalid, CodeLedgerUnreadable, fmt.Sprintf("ledger record %s: too many different statuses", id))
		}
		status = uint8(len(m.statuses))
		m.statuses = append(m.statuses, strings.Clone(r.Status))
		m.statusOf[m.statuses[status]] = status
	}
	rec := ourRec{key: m.hash(tag, id), amount: r.AmountFen, fee: int32(r.FeeFen), at: uint32(at), kind: r.Kind, status: status}
	if r.Pos > 0 && r.Pos <= math.MaxInt32 {
		rec.ref = int32(r.Pos)
	}
	return rec, nil
}

// insert puts rec into the index: inserted, insertDuplicate when its id is there
// already (our ledger has it twice), or insertFull.
func (m *matcher) insert(rec *ourRec) int {
	if m.n == math.MaxInt32-1 {
		return insertFull
	}
	m.grow(int(m.n) + 1)
	s := m.slot(rec.key)
	if m.slots[s] != 0 {
		return insertDuplicate
	}
	if int(m.n>>recBlockBits) == len(m.blocks) {
		m.blocks = append(m.blocks, m.block())
	}
	*m.rec(m.n) = *rec
	m.fill(s, m.n)
	m.n++
	return inserted
}

// ledgerBatch is records of our ledger on their way from the ledger's goroutine
// to the index: the records without their strings, and their ids and status in one
// buffer, so that no record costs an allocation.
type ledgerBatch struct {
	recs []Record
	ids  []byte
	ends [][nFields]uint32 // of each record's fields in ids
}

// fields are record i's ids and status, pointing into the batch's buffer.
func (b *ledgerBatch) fields(i int) [nFields]string {
	var f [nFields]string
	start := uint32(0)
	if i > 0 {
		start = b.ends[i-1][nFields-1]
	}
	for k, end := range b.ends[i] {
		if end > start {
			f[k] = unsafe.String(&b.ids[start], end-start)
		}
		start = end
	}
	return f
}

// loadOurs streams the ledger of the window into the index: the ledger is read
// and parsed on its own goroutine; the records are checked, hashed and indexed on
// this one (the two take about as long).
func (m *matcher) loadOurs(ctx context.Context, src LedgerSource) error {
	m.ledger, m.query = src, LedgerQuery{MchID: m.run.MchID, From: m.from, To: m.to}
	if h, ok := src.(LedgerSizeHinter); ok {
		if n := h.LedgerSizeHint(ctx, m.query); n > 0 {
			m.grow(n)
			m.reserve(n)
		}
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	const batches, batchRecs = 8, 4096
	free, full := make(chan *ledgerBatch, batches), make(chan *ledgerBatch, batches)
	for range batches {
		free <- &ledgerBatch{recs: make([]Record, 0, batchRecs), ends: make([][nFields]uint32, 0, batchRecs)}
	}
	read := make(chan error, 1)
	go func() {
		defer close(full)
		profileAs(ctx, "read ours")
		b := <-free
		err := src.StreamLedger(ctx, m.query, func(r *Record) error {
			var end [nFields]uint32
			for k, f := range fieldsOf(r) {
				b.ids = append(b.ids, f...)
				end[k] = uint32(len(b.ids))
			}
			b.ends = append(b.ends, end)
			b.recs = append(b.recs, Record{Kind: r.Kind, AmountFen: r.AmountFen, FeeFen: r.FeeFen, At: r.At, Pos: r.Pos})
			if len(b.recs) == batchRecs {
				full <- b // never blocks: full has room for every batch
				select {
				case b = <-free:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		})
		if err == nil && len(b.recs) > 0 {
			full <- b
		}
		read <- err
	}()
	fail := func(err error) error {
		stop()
		for range full { // until the reader has stopped
		}
		<-read
		return err
	}
	profileAs(ctx, "index ours")
	for b := range full {
		m.prepped = m.prepped[:0]
		for i := range b.recs {
			r := &b.recs[i]
			f := b.fields(i)
			r.OutTradeNo, r.TransactionID, r.OutRefundNo, r.RefundID, r.Status = f[fOutTradeNo], f[fTransactionID], f[fOutRefundNo], f[fRefundID], f[fStatus]
			rec, err := m.prep(r)
			if err != nil {
				return fail(err)
			}
			m.prepped = append(m.prepped, rec)
		}
		m.touch(m.prepped)
		for i := range m.prepped {
			m.run.LedgerRecords++
			switch m.insert(&m.prepped[i]) {
			case insertDuplicate:
				f := b.fields(i)
				for k := range f {
					f[k] = strings.Clone(f[k])
				}
				m.oursException(ClassDuplicate, &m.prepped[i], f, duplicateOurs)
			case insertFull:
				return fail(errs.E(errs.KindUnprocessable, CodeLedgerUnreadable, "the ledger is too large for one run"))
			}
		}
		b.recs, b.ids, b.ends = b.recs[:0], b.ids[:0], b.ends[:0]
		free <- b
	}
	return <-read
}

// profileAs names what the calling goroutine does in a CPU profile (tandem reconcile
// --cpuprofile; go tool pprof -tags), so that the work of each goroutine of a run
// can be read apart.
func profileAs(ctx context.Context, step string) {
	pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("recon", step)))
}

// touch reads the slots the records would take, all before any is used: the
// loads do not wait for each other, so the cache misses of a batch overlap instead
// of coming one after the other in insert or find.
func (m *matcher) touch(recs []ourRec) {
	mask := len(m.slots) - 1
	var sum uint64
	for i := range recs {
		sum += m.slots[int(recs[i].key[0])&mask]
	}
	m.sink += sum
}

// carryIn takes over the previous date's outside_window items: our records join
// the index, bill lines are matched before this bill's lines.
func (m *matcher) carryIn(items []Exception) error {
	var lines []billItem
	for i := range items {
		e := &items[i]
		m.run.CarriedIn++
		switch {
		case e.Bill != nil:
			lines = append(lines, billItem{kind: e.Kind, lineNo: e.Bill.LineNo, outTradeNo: e.OutTradeNo,
				txn: e.TransactionID, outRefundNo: e.OutRefundNo, refundID: e.RefundID, state: e.Bill.State,
				at: e.Bill.At, amount: e.Bill.AmountFen, feeMilli: e.Bill.FeeMilliFen, carried: true})
		case e.Ours != nil:
			r := Record{Kind: e.Kind, OutTradeNo: e.OutTradeNo, TransactionID: e.TransactionID,
				OutRefundNo: e.OutRefundNo, RefundID: e.RefundID, AmountFen: e.Ours.AmountFen,
				FeeFen: e.Ours.FeeFen, Status: e.Ours.Status, At: e.Ours.At}
			if err := m.add(&r, true); err != nil {
				return err
			}
		}
	}
	for i := range lines {
		m.classify(&lines[i])
	}
	return nil
}

// billFeed is the bill being parsed on its own goroutine into batches of lines,
// in the bill's order; the matcher classifies them as they come (matchBill).
type billFeed struct {
	rd         *wxpay.TradeBillReader
	free, full chan []billItem
	parsed     chan error
}

// feedBatch is how many lines a batch of the feed holds.
const feedBatch = 4096

// parseBill starts parsing rd with room for ahead batches of lines before the
// matcher takes any: a feed started before our ledger is loaded parses that far
// ahead on the other core meanwhile. It stops when ctx ends.
func parseBill(ctx context.Context, rd *wxpay.TradeBillReader, ahead int) *billFeed {
	ahead = max(ahead, 4)
	f := &billFeed{rd: rd, free: make(chan []billItem, ahead), full: make(chan []billItem, ahead), parsed: make(chan error, 1)}
	for range ahead {
		f.free <- make([]billItem, 0, feedBatch)
	}
	go func() {
		defer close(f.full)
		profileAs(ctx, "parse bill")
		refundBill := rd.Type() == wxpay.TradeBillRefund
		var batch []billItem
		select {
		case batch = <-f.free:
		case <-ctx.Done():
			f.parsed <- ctx.Err()
			return
		}
		for n := 0; rd.Next(); n++ {
			if n&0xffff == 0 && ctx.Err() != nil {
				f.parsed <- ctx.Err()
				return
			}
			batch = append(batch, billItemOf(rd.Line(), refundBill))
			if len(batch) == cap(batch) {
				f.full <- batch // never blocks: full has room for every batch
				select {
				case batch = <-f.free:
				case <-ctx.Done():
					f.parsed <- ctx.Err()
					return
				}
			}
		}
		if len(batch) > 0 {
			f.full <- batch
		}
		if err := rd.Err(); err != nil {
			f.parsed <- errs.Wrap(err, errs.KindInvalid, CodeBillUnreadable, "the bill file is incomplete or corrupt")
			return
		}
		f.parsed <- nil
	}()
	return f
}

// lookahead is how many batches of lines a bill may be parsed ahead while our ledger
// loads: about 128 MB of them (the lines and the chunks of the file they point
// into) beside a small index, a few beside a large one (index and heap stay
// under 1 GiB: see runHeapLimit).
func lookahead(ctx context.Context, src LedgerSource, q LedgerQuery) int {
	n := -1
	if h, ok := src.(LedgerSizeHinter); ok {
		n = h.LedgerSizeHint(ctx, q)
	}
	switch {
	case n < 0:
		return 16
	case n <= 4_000_000:
		return 64
	}
	return 4
}

// matchBill classifies the feed's lines through the index, in the bill's order.
func (m *matcher) matchBill(ctx context.Context, f *billFeed) error {
	profileAs(ctx, "match")
	for batch := range f.full {
		for i := range batch {
			b := &batch[i]
			if b.kind == KindPay && b.state == wxpay.TradeStateRevoked {
				m.revokedSettleFen += b.settlement
				m.revokedFeeMilli += b.feeMilli
			}
			if b.mchID != "" && b.mchID != m.run.MchID {
				m.problem(b.lineNo, fmt.Sprintf("merchant %s, not %s: a bill of another merchant?", b.mchID, m.run.MchID))
			}
			m.classify(b)
		}
		f.free <- batch[:0]
	}
	return <-f.parsed
}

// billItemOf is a trade bill line as the matcher sees it.
func billItemOf(l *wxpay.TradeLine, refundBill bool) billItem {
	at := l.TradeTime
	if refundBill && !l.RefundApplyTime.IsZero() { // a REFUND bill's 交易时间 is the payment's
		at = l.RefundApplyTime
	}
	b := billItem{lineNo: l.LineNo, outTradeNo: l.OutTradeNo, txn: l.TransactionID, at: at, mchID: l.MchID,
		feeMilli: l.FeeMilliFen, order: l.OrderAmount, settlement: l.SettlementTotal, refund: l.RefundAmount,
		requestedRefd: l.RequestedRefund}
	if l.IsRefund() {
		b.kind, b.outRefundNo, b.refundID, b.state = KindRefund, l.OutRefundNo, l.RefundID, l.RefundStatus
		b.amount = l.RequestedRefund
		if b.amount == 0 { // legacy layout: no 申请退款金额
			b.amount = l.RefundAmount
		}
		return b
	}
	b.kind, b.state, b.amount = KindPay, l.TradeState, l.OrderAmount
	if b.amount == 0 {
		b.amount = l.SettlementTotal
	}
	return b
}

func (m *matcher) problem(line int, reason string) {
	m.run.ProblemCount++
	if len(m.run.Problems) < 1000 {
		m.run.Problems = append(m.run.Problems, Problem{Line: line, Reason: reason})
	}
}

func (m *matcher) classify(b *billItem) {
	if i := m.find(b.kind, b.wechatID(), b.ourNo()); i >= 0 {
		r := m.rec(i)
		if r.flags&recMatched != 0 {
			note := fmt.Sprintf("the bill has it twice: line %d matched it already", r.ref)
			m.billException(ClassDuplicate, b, nil, note)
			return
		}
		r.flags |= recMatched
		r.ref = int32(b.lineNo)
		ourStatus := m.statuses[r.status]
		switch {
		case b.state != "" && !strings.EqualFold(b.state, ourStatus):
			m.billException(ClassStatusMismatch, b, r, fmt.Sprintf("WeChat %s, ours %s", b.state, ourStatus))
		case b.amount != r.amount:
			m.billException(ClassAmountMismatch, b, r, fmt.Sprintf("WeChat %s, ours %s (difference %s)",
				wxpay.FormatFen(b.amount), wxpay.FormatFen(r.amount), wxpay.FormatFen(b.amount-r.amount)))
		default:
			s := &m.run.Classes[ClassMatched]
			s.Items++
			m.addBill(s, b)
			m.addOurs(s, r)
			if m.collectFees && b.feeMilli != 0 && !b.carried {
				// Named by the line's numbers: the line matched our record by WeChat's id
				// or by our number, and WeChat's bill carries both of ours.
				f := FeeFact{Kind: b.kind, OutTradeNo: strings.Clone(b.outTradeNo), FeeMilliFen: b.feeMilli}
				if b.kind == KindRefund {
					f.OutRefundNo = strings.Clone(b.outRefundNo)
				}
				m.fees = append(m.fees, f)
			}
		}
		return
	}
	tag, id := keyOf(b.kind, b.outTradeNo, b.txn, b.outRefundNo, b.refundID)
	key := string(rune('0'+tag)) + id
	if first, seen := m.unmatched[key]; seen {
		m.billException(ClassDuplicate, b, nil, fmt.Sprintf("the bill has it twice: see line %d", first))
		return
	}
	m.unmatched[strings.Clone(key)] = b.lineNo
	at := b.at.Unix()
	if !b.carried && (at < m.from.Unix() || at >= m.edge) {
		m.billException(ClassOutsideWindow, b, nil, fmt.Sprintf("at %s, at the edge of or outside the day: carried to %s",
			b.at.In(wxpay.Shanghai).Format(time.DateTime), m.next))
		return
	}
	if m.finder != nil && b.wechatID() != "" {
		m.unknown = append(m.unknown, b.clone()) // looked up on other days at the end (settleUnknown)
		return
	}
	m.billException(ClassMissingOurs, b, nil, "")
}

// clone copies a line whose strings may point into the parser's buffer.
func (b *billItem) clone() billItem {
	c := *b
	c.outTradeNo, c.txn, c.outRefundNo = strings.Clone(b.outTradeNo), strings.Clone(b.txn), strings.Clone(b.outRefundNo)
	c.refundID, c.state = strings.Clone(b.refundID), strings.Clone(b.state)
	return c
}

// settleUnknown classifies the lines that matched nothing of the day, after one
// lookup of them all on every day (LedgerFinder): a transaction we have on an earlier
// day reappears on this later day's bill, so the line is a duplicate (its first
// billing was that day's run); the others are missing on our side.
func (m *matcher) settleUnknown(ctx context.Context) error {
	if len(m.unknown) == 0 {
		return nil
	}
	ids := make([]string, len(m.unknown))
	for i := range m.unknown {
		ids[i] = m.unknown[i].wechatID()
	}
	earlier := map[string]time.Time{}
	err := m.finder.FindLedger(ctx, m.run.MchID, ids, func(r *Record) error {
		if r.At.Before(m.from) {
			id := r.TransactionID
			if r.Kind == KindRefund {
				id = r.RefundID
			}
			earlier[strings.Clone(id)] = r.At
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range m.unknown {
		b := &m.unknown[i]
		if at, ok := earlier[b.wechatID()]; ok {
			m.billException(ClassDuplicate, b, nil, "already billed on "+at.In(wxpay.Shanghai).Format(time.DateOnly)+
				" (our record of that day): it reappears on this later bill")
			continue
		}
		m.billException(ClassMissingOurs, b, nil, "")
	}
	m.unknown = nil
	return nil
}

// wechatID is WeChat's id of the line's kind: refund_id for refunds.
func (b *billItem) wechatID() string {
	if b.kind == KindRefund {
		return b.refundID
	}
	return b.txn
}

// ourNo is our number of the line's kind: out_refund_no for refunds.
func (b *billItem) ourNo() string {
	if b.kind == KindRefund {
		return b.outRefundNo
	}
	return b.outTradeNo
}

func (m *matcher) addBill(s *ClassStats, b *billItem) {
	if b.carried {
		return
	}
	s.BillLines++
	s.OrderFen += b.order
	s.SettlementFen += b.settlement
	s.RefundFen += b.refund
	s.RequestedRefundFen += b.requestedRefd
	s.FeeMilliFen += b.feeMilli
}

func (m *matcher) addOurs(s *ClassStats, r *ourRec) {
	s.OurRecords++
	s.OurAmountFen += r.amount
}

// billException records an exception about a bill line (and our record r, if any).
func (m *matcher) billException(c Class, b *billItem, r *ourRec, note string) {
	s := &m.run.Classes[c]
	s.Items++
	m.addBill(s, b)
	e := Exception{Class: c, Kind: b.kind, OutTradeNo: strings.Clone(b.outTradeNo), TransactionID: strings.Clone(b.txn),
		OutRefundNo: strings.Clone(b.outRefundNo), RefundID: strings.Clone(b.refundID), Note: note,
		Bill: &BillSide{LineNo: b.lineNo, State: strings.Clone(b.state), At: b.at, AmountFen: b.amount, FeeMilliFen: b.feeMilli}}
	if b.carried {
		e.CarriedFrom = m.prev
	}
	if r != nil {
		m.addOurs(s, r)
		e.Ours = m.ourSide(r)
		if r.flags&recCarried != 0 {
			e.CarriedFrom = m.prev
		}
	}
	m.push(e)
}

func (m *matcher) ourSide(r *ourRec) *OurSide {
	return &OurSide{Status: m.statuses[r.status], At: time.Unix(int64(r.at), 0).In(wxpay.Shanghai), AmountFen: r.amount, FeeFen: int64(r.fee)}
}

// oursException records an exception about our record alone, with its ids.
func (m *matcher) oursException(c Class, r *ourRec, fields [nFields]string, note string) {
	s := &m.run.Classes[c]
	s.Items++
	m.addOurs(s, r)
	e := Exception{Class: c, Kind: r.kind, OutTradeNo: strings.Clone(fields[fOutTradeNo]),
		TransactionID: strings.Clone(fields[fTransactionID]), OutRefundNo: strings.Clone(fields[fOutRefundNo]),
		RefundID: strings.Clone(fields[fRefundID]), Note: note, Ours: m.ourSide(r)}
	if r.flags&recCarried != 0 {
		e.CarriedFrom = m.prev
	}
	m.push(e)
}

func (m *matcher) push(e Exception) {
	e.Seq = len(m.exceptions) + 1
	m.exceptions = append(m.exceptions, e)
}

// sweep classifies the records no line claimed, in our ledger's order, then those
// carried in. A bill of one type (SUCCESS or REFUND) says nothing about the other
// kind, whose records are left out. The index keeps no ids: when any record is left,
// our ledger is read a second time for theirs.
func (m *matcher) sweep(ctx context.Context, billType wxpay.TradeBillType) error {
	left := func(r *ourRec) bool {
		return r.flags&recMatched == 0 && (billType != wxpay.TradeBillSuccess || r.kind == KindPay) &&
			(billType != wxpay.TradeBillRefund || r.kind == KindRefund)
	}
	var (
		n         int
		positions []int64 // of the records left, when all are known
	)
	re, canReread := m.ledger.(LedgerRereader)
	for i := range m.n {
		if r := m.rec(i); left(r) && r.flags&recCarried == 0 {
			n++
			if canReread && r.ref > 0 && len(positions) < 1<<20 {
				positions = append(positions, int64(r.ref))
			} else {
				canReread = false
			}
		}
	}
	if n > 0 {
		stream := m.ledger.StreamLedger
		if canReread {
			stream = func(ctx context.Context, q LedgerQuery, fn func(*Record) error) error {
				return re.RestreamLedger(ctx, q, positions, fn)
			}
		}
		err := stream(ctx, m.query, func(rec *Record) error {
			tag, id := keyOf(rec.Kind, rec.OutTradeNo, rec.TransactionID, rec.OutRefundNo, rec.RefundID)
			i := m.lookup(tag, id)
			if i < 0 {
				return nil // booked after the first pass
			}
			if r := m.rec(i); left(r) && r.flags&recCarried == 0 {
				m.sweepOne(r, fieldsOf(rec))
				r.flags |= recMatched // reported once, however often the ledger has it
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("our ledger, read again for the records no line claimed: %w", err)
		}
	}
	for i := range m.n {
		if r := m.rec(i); left(r) && r.flags&recCarried != 0 {
			m.sweepOne(r, m.carried[i])
		}
	}
	return nil
}

func (m *matcher) sweepOne(r *ourRec, fields [nFields]string) {
	switch at := int64(r.at); {
	case r.flags&recCarried != 0:
		m.oursException(ClassMissingWeChat, r, fields, "carried from "+m.prev+": in neither bill")
	case at < m.from.Unix() || at >= m.edge:
		m.oursException(ClassOutsideWindow, r, fields, fmt.Sprintf("at %s, at the edge of or outside the day: carried to %s",
			time.Unix(at, 0).In(wxpay.Shanghai).Format(time.DateTime), m.next))
	default:
		m.oursException(ClassMissingWeChat, r, fields, "")
	}
}
