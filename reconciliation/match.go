package reconciliation

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"strings"
	"time"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// The engine is a hash join. Our records of the window are loaded into ourRec
// values: fixed-size, pointer-free structs whose ids live in one byte arena, chained
// from a map of 64-bit hashes (map[uint64]int32). That is about 100 bytes per record
// all told, nothing for the garbage collector to scan, and exact: a hash only finds
// the chain, the ids are then compared byte for byte. The bill is streamed through
// it once; whatever no line claimed is swept up at the end.

// Id tags: which id of which kind a chain is keyed by. Payments are matched by
// transaction_id, refunds by refund_id; a record that lacks WeChat's id (we never
// learned it) is keyed by our number instead, and a line falls back to that.
const (
	tagTxn       uint8 = 1 // payment by transaction_id
	tagOutTrade  uint8 = 2 // payment by out_trade_no
	tagRefundID  uint8 = 3 // refund by refund_id
	tagOutRefund uint8 = 4 // refund by out_refund_no
)

// Field indexes of an ourRec's strings in the arena, in this order.
const (
	fOutTradeNo = iota
	fTransactionID
	fOutRefundNo
	fRefundID
	fStatus
	nFields
)

type ourRec struct {
	amount  int64 // fen
	fee     int64 // fen
	at      int64 // unix seconds
	off     uint32
	next    int32 // next record of the same hash, -1 at the end
	line    int32 // the bill line that matched it
	lens    [nFields]uint8
	kind    Kind
	tag     uint8
	matched bool
	carried bool // an outside_window item of the previous date's run
}

// billItem is a bill line as the matcher sees it: a line of this bill, or one
// carried in from the previous date's run.
type billItem struct {
	kind                                     Kind
	lineNo                                   int
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

	seed  maphash.Seed
	heads map[uint64]int32
	recs  []ourRec
	arena []byte

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
		seed: maphash.MakeSeed(), heads: make(map[uint64]int32, 1<<12), unmatched: map[string]int{},
	}
}

func (m *matcher) hash(tag uint8, id string) uint64 {
	return maphash.String(m.seed, id) + uint64(tag)*0x9E3779B97F4A7C15
}

func (m *matcher) field(r *ourRec, f int) string {
	off := int(r.off)
	for i := range f {
		off += int(r.lens[i])
	}
	return string(m.arena[off : off+int(r.lens[f])])
}

// lookup returns the record keyed by (tag, id), or -1.
func (m *matcher) lookup(tag uint8, id string) int32 {
	i, ok := m.heads[m.hash(tag, id)]
	if !ok {
		return -1
	}
	field := fTransactionID
	switch tag {
	case tagOutTrade:
		field = fOutTradeNo
	case tagRefundID:
		field = fRefundID
	case tagOutRefund:
		field = fOutRefundNo
	}
	for ; i >= 0; i = m.recs[i].next {
		r := &m.recs[i]
		if r.tag != tag || int(r.lens[field]) != len(id) {
			continue
		}
		off := int(r.off)
		for f := range field {
			off += int(r.lens[f])
		}
		if string(m.arena[off:off+len(id)]) == id { // compiled without a copy
			return i
		}
	}
	return -1
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

// add indexes one of our records. A record whose id is already indexed is a
// duplicate in our ledger: it becomes an exception and the first one stays matchable.
func (m *matcher) add(r *Record, carried bool) error {
	if r.Kind != KindPay && r.Kind != KindRefund {
		return errs.E(errs.KindInvalid, CodeLedgerUnreadable, fmt.Sprintf("ledger record %s: unknown kind", r.OutTradeNo))
	}
	tag, id := keyOf(r.Kind, r.OutTradeNo, r.TransactionID, r.OutRefundNo, r.RefundID)
	if id == "" {
		return errs.E(errs.KindInvalid, CodeLedgerUnreadable,
			fmt.Sprintf("ledger %s record at %s has neither WeChat's id nor our number", r.Kind, r.At.Format(time.RFC3339)))
	}
	fields := [nFields]string{r.OutTradeNo, r.TransactionID, r.OutRefundNo, r.RefundID, r.Status}
	rec := ourRec{amount: r.AmountFen, fee: r.FeeFen, at: r.At.Unix(), kind: r.Kind, tag: tag, carried: carried, line: -1}
	if len(m.arena) > math.MaxUint32-5*255 || len(m.recs) >= math.MaxInt32 {
		return errs.E(errs.KindUnprocessable, CodeLedgerUnreadable, "the ledger is too large for one run")
	}
	rec.off = uint32(len(m.arena))
	for i, f := range fields {
		if len(f) > 255 {
			return errs.E(errs.KindInvalid, CodeLedgerUnreadable, fmt.Sprintf("ledger record %s: a value is longer than 255 bytes", id))
		}
		rec.lens[i] = uint8(len(f))
	}
	if m.lookup(tag, id) >= 0 {
		m.oursException(ClassDuplicate, &rec, fields, "our ledger has it twice")
		return nil
	}
	for _, f := range fields {
		m.arena = append(m.arena, f...)
	}
	h := m.hash(tag, id)
	rec.next = -1
	if head, ok := m.heads[h]; ok {
		rec.next = head
	}
	m.heads[h] = int32(len(m.recs))
	m.recs = append(m.recs, rec)
	return nil
}

// loadOurs streams the ledger of the window into the index.
func (m *matcher) loadOurs(ctx context.Context, src LedgerSource) error {
	q := LedgerQuery{MchID: m.run.MchID, From: m.from, To: m.to}
	if h, ok := src.(LedgerSizeHinter); ok {
		if n := h.LedgerSizeHint(ctx, q); n > 0 {
			m.heads = make(map[uint64]int32, n)
			m.recs = make([]ourRec, 0, n)
			m.arena = make([]byte, 0, n*48)
		}
	}
	return src.StreamLedger(ctx, q, func(r *Record) error {
		m.run.LedgerRecords++
		return m.add(r, false)
	})
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

// matchBill streams the bill's lines through the index.
func (m *matcher) matchBill(ctx context.Context, rd *wxpay.TradeBillReader) error {
	var b billItem
	refundBill := rd.Type() == wxpay.TradeBillRefund
	for n := 0; rd.Next(); n++ {
		if n&0xffff == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		l := rd.Line()
		at := l.TradeTime
		if refundBill && !l.RefundApplyTime.IsZero() { // a REFUND bill's 交易时间 is the payment's
			at = l.RefundApplyTime
		}
		b = billItem{lineNo: l.LineNo, outTradeNo: l.OutTradeNo, txn: l.TransactionID, at: at,
			feeMilli: l.FeeMilliFen, order: l.OrderAmount, settlement: l.SettlementTotal, refund: l.RefundAmount,
			requestedRefd: l.RequestedRefund}
		if l.IsRefund() {
			b.kind, b.outRefundNo, b.refundID, b.state = KindRefund, l.OutRefundNo, l.RefundID, l.RefundStatus
			b.amount = l.RequestedRefund
			if b.amount == 0 { // legacy layout: no 申请退款金额
				b.amount = l.RefundAmount
			}
		} else {
			if l.TradeState == wxpay.TradeStateRevoked {
				m.revokedSettleFen += l.SettlementTotal
				m.revokedFeeMilli += l.FeeMilliFen
			}
			b.kind, b.state, b.amount = KindPay, l.TradeState, l.OrderAmount
			if b.amount == 0 {
				b.amount = l.SettlementTotal
			}
		}
		if l.MchID != "" && l.MchID != m.run.MchID {
			m.problem(l.LineNo, fmt.Sprintf("merchant %s, not %s: a bill of another merchant?", l.MchID, m.run.MchID))
		}
		m.classify(&b)
	}
	if err := rd.Err(); err != nil {
		return errs.Wrap(err, errs.KindInvalid, CodeBillUnreadable, "the bill file is incomplete or corrupt")
	}
	return nil
}

func (m *matcher) problem(line int, reason string) {
	m.run.ProblemCount++
	if len(m.run.Problems) < 1000 {
		m.run.Problems = append(m.run.Problems, Problem{Line: line, Reason: reason})
	}
}

func (m *matcher) classify(b *billItem) {
	if i := m.find(b.kind, b.wechatID(), b.ourNo()); i >= 0 {
		r := &m.recs[i]
		if r.matched {
			note := fmt.Sprintf("the bill has it twice: line %d matched it already", r.line)
			m.billException(ClassDuplicate, b, nil, note)
			return
		}
		r.matched, r.line = true, int32(b.lineNo)
		ourStatus := m.field(r, fStatus)
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
				f := FeeFact{Kind: b.kind, OutTradeNo: m.field(r, fOutTradeNo), FeeMilliFen: b.feeMilli}
				if b.kind == KindRefund {
					f.OutRefundNo = m.field(r, fOutRefundNo)
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
		if r.carried {
			e.CarriedFrom = m.prev
		}
	}
	m.push(e)
}

func (m *matcher) ourSide(r *ourRec) *OurSide {
	return &OurSide{Status: m.field(r, fStatus), At: time.Unix(r.at, 0).In(wxpay.Shanghai), AmountFen: r.amount, FeeFen: r.fee}
}

// oursException records an exception about our record alone.
func (m *matcher) oursException(c Class, r *ourRec, fields [nFields]string, note string) {
	s := &m.run.Classes[c]
	s.Items++
	m.addOurs(s, r)
	e := Exception{Class: c, Kind: r.kind, OutTradeNo: strings.Clone(fields[fOutTradeNo]),
		TransactionID: strings.Clone(fields[fTransactionID]), OutRefundNo: strings.Clone(fields[fOutRefundNo]),
		RefundID: strings.Clone(fields[fRefundID]), Note: note,
		Ours: &OurSide{Status: strings.Clone(fields[fStatus]), At: time.Unix(r.at, 0).In(wxpay.Shanghai), AmountFen: r.amount, FeeFen: r.fee}}
	if r.carried {
		e.CarriedFrom = m.prev
	}
	m.push(e)
}

func (m *matcher) push(e Exception) {
	e.Seq = len(m.exceptions) + 1
	m.exceptions = append(m.exceptions, e)
}

// sweep classifies the records no line claimed. A bill of one type (SUCCESS or
// REFUND) says nothing about the other kind, whose records are left out.
func (m *matcher) sweep(billType wxpay.TradeBillType) {
	for i := range m.recs {
		r := &m.recs[i]
		if r.matched || (billType == wxpay.TradeBillSuccess && r.kind != KindPay) ||
			(billType == wxpay.TradeBillRefund && r.kind != KindRefund) {
			continue
		}
		var fields [nFields]string
		for f := range fields {
			fields[f] = m.field(r, f)
		}
		switch {
		case r.carried:
			m.oursException(ClassMissingWeChat, r, fields, "carried from "+m.prev+": in neither bill")
		case r.at < m.from.Unix() || r.at >= m.edge:
			m.oursException(ClassOutsideWindow, r, fields, fmt.Sprintf("at %s, at the edge of or outside the day: carried to %s",
				time.Unix(r.at, 0).In(wxpay.Shanghai).Format(time.DateTime), m.next))
		default:
			m.oursException(ClassMissingWeChat, r, fields, "")
		}
	}
}
