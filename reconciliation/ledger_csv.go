package reconciliation

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/tandemcrm/tandem/shared/errs"
)

// CSVLedger is a LedgerSource over a CSV file in the format `tandem wxsim bill
// --ledger` writes (plain or gzip):
//
//	kind,out_trade_no,transaction_id,out_refund_no,refund_id,amount_fen,fee_fen,occurred_at
//	PAY,TD2025031400000001,4200001234202503140000000001,,,12345,74,2025-03-14T00:00:00+08:00
//
// Columns are found by name, in any order; out_refund_no, refund_id, fee_fen and
// status are optional (status defaults to SUCCESS). Fields are not quoted. It
// streams the records of the query's window; a malformed row fails the stream with
// its line number, since a ledger with holes would make every result suspect.
type CSVLedger struct {
	open func() (io.ReadCloser, error)
	path string
	// marks are the byte offsets of lines 1, 1+markStride, 1+2·markStride… of the
	// last StreamLedger of a plain (not gzip) file, and cols its header: what
	// RestreamLedger needs to read a few records again without the rest.
	marks []int64
	cols  []ledgerCol
}

// markStride is how many lines apart the offsets RestreamLedger starts from are:
// a re-read of one record parses at most this many lines.
const markStride = 4096

// CSVLedgerFile reads the ledger from path on every StreamLedger.
func CSVLedgerFile(path string) *CSVLedger {
	return &CSVLedger{open: func() (io.ReadCloser, error) { return os.Open(path) }, path: path}
}

// LedgerSizeHint estimates the records of a ledger file from its size (a record
// of the wxsim format is about 100 bytes); 0 when unknown.
func (c *CSVLedger) LedgerSizeHint(context.Context, LedgerQuery) int {
	if c.path == "" {
		return 0
	}
	fi, err := os.Stat(c.path)
	if err != nil {
		return 0
	}
	return int(min(fi.Size()/96, 1<<28))
}

// CSVLedgerReader reads the ledger from r, whole, on the first StreamLedger, and
// streams it from memory every time (a run reads its ledger twice when records are
// left unclaimed): for small ledgers, tests and tools. A file is CSVLedgerFile.
func CSVLedgerReader(r io.Reader) *CSVLedger {
	var (
		data []byte
		err  error
		read bool
	)
	return &CSVLedger{open: func() (io.ReadCloser, error) {
		if !read {
			data, err = io.ReadAll(r)
			read = true
		}
		if err != nil {
			return nil, err
		}
		return bytesFile{bytes.NewReader(data)}, nil
	}}
}

// bytesFile is a ledger in memory as a file: it reads at offsets too (RestreamLedger).
type bytesFile struct{ *bytes.Reader }

func (bytesFile) Close() error { return nil }

// csvChunk is how much of the file is read at once. Lines and fields are sliced
// from one reused buffer, allocating nothing per chunk or field: a Record's strings
// are valid only during the callback (LedgerSource), which copies what it keeps.
const csvChunk = 256 << 10

type ledgerCol int

const (
	lcIgnored ledgerCol = iota
	lcKind
	lcOutTradeNo
	lcTransactionID
	lcOutRefundNo
	lcRefundID
	lcAmount
	lcFee
	lcStatus
	lcAt
)

var ledgerColumns = map[string]ledgerCol{
	"kind": lcKind, "out_trade_no": lcOutTradeNo, "transaction_id": lcTransactionID,
	"out_refund_no": lcOutRefundNo, "refund_id": lcRefundID, "amount_fen": lcAmount, "fee_fen": lcFee,
	"status": lcStatus, "occurred_at": lcAt,
}

// StreamLedger implements LedgerSource.
func (c *CSVLedger) StreamLedger(ctx context.Context, q LedgerQuery, fn func(*Record) error) error {
	return c.stream(ctx, q, nil, fn)
}

// stream reads the whole file; want (sorted line numbers), when not nil, are the
// only lines parsed.
func (c *CSVLedger) stream(ctx context.Context, q LedgerQuery, want []int64, fn func(*Record) error) error {
	rc, err := c.open()
	if err != nil {
		return errs.Wrap(err, errs.KindInvalid, CodeLedgerUnreadable, "cannot open the ledger file")
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	var src io.Reader = br
	p := ledgerParser{q: q, fn: fn, marks: []int64{}, want: want}
	if head, _ := br.Peek(2); bytes.Equal(head, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return errs.Wrap(err, errs.KindInvalid, CodeLedgerUnreadable, "the ledger file is not valid gzip")
		}
		defer zr.Close()
		src, p.marks = zr, nil // no offsets to read again from
	}
	if want != nil {
		p.marks = nil
		return p.run(ctx, src)
	}
	c.marks, c.cols = nil, nil
	if err := p.run(ctx, src); err != nil {
		return err
	}
	c.marks, c.cols = p.marks, p.cols
	return nil
}

var _ LedgerRereader = (*CSVLedger)(nil)

// RestreamLedger implements LedgerRereader: positions are line numbers. From a
// plain file it reads only the blocks of markStride lines that hold them; from
// gzip it reads the file again and parses only the wanted lines.
func (c *CSVLedger) RestreamLedger(ctx context.Context, q LedgerQuery, positions []int64, fn func(*Record) error) error {
	want := slices.Clone(positions)
	slices.Sort(want)
	rc, err := c.open()
	if err != nil {
		return errs.Wrap(err, errs.KindInvalid, CodeLedgerUnreadable, "cannot open the ledger file")
	}
	ra, seekable := rc.(io.ReaderAt)
	if !seekable || c.marks == nil {
		rc.Close()
		return c.stream(ctx, q, want, fn)
	}
	defer rc.Close()
	size := int64(math.MaxInt64)
	if st, ok := rc.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil {
			size = fi.Size()
		}
	} else if sz, ok := rc.(interface{ Size() int64 }); ok {
		size = sz.Size()
	}
	for len(want) > 0 {
		b := int((want[0] - 1) / markStride)
		if b >= len(c.marks) {
			return errs.E(errs.KindInvalid, CodeLedgerUnreadable, fmt.Sprintf("ledger line %d: beyond the file read before", want[0]))
		}
		end := size
		if b+1 < len(c.marks) {
			end = c.marks[b+1]
		}
		n := sort.Search(len(want), func(i int) bool { return want[i] > int64(b+1)*markStride })
		p := ledgerParser{q: q, fn: fn, cols: c.cols, lineNo: b * markStride, want: want[:n]}
		if err := p.run(ctx, io.NewSectionReader(ra, c.marks[b], end-c.marks[b])); err != nil {
			return err
		}
		want = want[n:]
	}
	return nil
}

type ledgerParser struct {
	q      LedgerQuery
	fn     func(*Record) error
	cols   []ledgerCol
	lineNo int
	rec    Record
	fields []string
	// marks collects the offset of every markStride-th line (CSVLedger.marks); nil: not.
	marks []int64
	// want, when not nil, are the only lines parsed (sorted line numbers).
	want []int64
}

func (p *ledgerParser) fail(format string, args ...any) error {
	return errs.E(errs.KindInvalid, CodeLedgerUnreadable,
		fmt.Sprintf("ledger line %d: %s", p.lineNo, fmt.Sprintf(format, args...)))
}

// run reads chunks of whole lines and hands each line to p.line.
func (p *ledgerParser) run(ctx context.Context, r io.Reader) error {
	buf, held := make([]byte, 0, csvChunk), make([]byte, 0, csvChunk)
	var offset int64 // of held[0] in the input
	for eof := false; !eof; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(r, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			eof = true
		case err != nil:
			return errs.Wrap(err, errs.KindInvalid, CodeLedgerUnreadable, "cannot read the ledger file")
		}
		end := bytes.LastIndexByte(buf, '\n') + 1
		if eof {
			end = len(buf)
		} else if end == 0 {
			if len(buf) == cap(buf) { // one line longer than a chunk: grow
				buf = append(buf, 0)[:len(buf)]
			}
			continue
		}
		held = append(held[:0], buf[:end]...)
		chunk := unsafe.String(unsafe.SliceData(held), len(held)) // overwritten by the next chunk: see csvChunk
		buf = buf[:copy(buf, buf[end:])]
		lineAt := offset
		offset += int64(len(held))
		for len(chunk) > 0 {
			if p.marks != nil && p.lineNo%markStride == 0 {
				p.marks = append(p.marks, lineAt+int64(len(held)-len(chunk)))
			}
			line := chunk
			if i := strings.IndexByte(chunk, '\n'); i >= 0 {
				line, chunk = chunk[:i], chunk[i+1:]
			} else {
				chunk = ""
			}
			if err := p.line(strings.TrimSuffix(line, "\r")); err != nil {
				return err
			}
		}
	}
	if p.cols == nil {
		return p.fail("no header")
	}
	return nil
}

func (p *ledgerParser) line(line string) error {
	p.lineNo++
	if p.want != nil && p.cols != nil { // the header is read in any case
		if _, ok := slices.BinarySearch(p.want, int64(p.lineNo)); !ok {
			return nil
		}
	}
	if p.lineNo == 1 {
		line = strings.TrimPrefix(line, "\uFEFF")
	}
	if strings.TrimSpace(line) == "" {
		return nil
	}
	p.fields = splitComma(line, p.fields[:0])
	if p.cols == nil {
		return p.header()
	}
	if len(p.fields) != len(p.cols) {
		return p.fail("%d fields, the header has %d", len(p.fields), len(p.cols))
	}
	r := &p.rec
	*r = Record{Status: StatusSuccess, Pos: int64(p.lineNo)}
	for i, f := range p.fields {
		var ok = true
		switch p.cols[i] {
		case lcKind:
			r.Kind, ok = ParseKind(f)
		case lcOutTradeNo:
			r.OutTradeNo = f
		case lcTransactionID:
			r.TransactionID = f
		case lcOutRefundNo:
			r.OutRefundNo = f
		case lcRefundID:
			r.RefundID = f
		case lcAmount:
			r.AmountFen, ok = parseInt(f)
		case lcFee:
			if f != "" {
				r.FeeFen, ok = parseInt(f)
			}
		case lcStatus:
			if f != "" {
				r.Status = f
			}
		case lcAt:
			r.At, ok = parseRFC3339(f)
		}
		if !ok {
			return p.fail("%s: %.40q is not valid", p.cols[i].name(), f)
		}
	}
	if r.At.Before(p.q.From) || !r.At.Before(p.q.To) {
		return nil
	}
	return p.fn(r)
}

func (p *ledgerParser) header() error {
	p.cols = make([]ledgerCol, len(p.fields))
	seen := map[ledgerCol]bool{}
	for i, f := range p.fields {
		p.cols[i] = ledgerColumns[strings.TrimSpace(f)]
		seen[p.cols[i]] = true
	}
	for _, c := range []ledgerCol{lcKind, lcOutTradeNo, lcTransactionID, lcAmount, lcAt} {
		if !seen[c] {
			return p.fail("the header has no column %s", c.name())
		}
	}
	return nil
}

func (c ledgerCol) name() string {
	for n, col := range ledgerColumns {
		if col == c {
			return n
		}
	}
	return "?"
}

func splitComma(s string, out []string) []string {
	for {
		i := strings.IndexByte(s, ',')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

func parseInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseRFC3339 reads "2006-01-02T15:04:05" followed by "Z" or "±hh:mm" by hand (the
// ledger's format, and time.Parse would dominate a ledger line), and anything else
// RFC 3339 allows through time.Parse.
func parseRFC3339(s string) (time.Time, bool) {
	if len(s) == 25 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
		(s[19] == '+' || s[19] == '-') && s[22] == ':' {
		d := func(i, n int) int {
			v := 0
			for _, c := range []byte(s[i : i+n]) {
				if c < '0' || c > '9' {
					return -1
				}
				v = v*10 + int(c-'0')
			}
			return v
		}
		y, mo, dd, h, mi, sec, oh, om := d(0, 4), d(5, 2), d(8, 2), d(11, 2), d(14, 2), d(17, 2), d(20, 2), d(23, 2)
		if y >= 0 && mo >= 1 && mo <= 12 && dd >= 1 && dd <= 31 && h >= 0 && h < 24 && mi >= 0 && mi < 60 &&
			sec >= 0 && sec < 60 && oh >= 0 && om >= 0 {
			off := (oh*60 + om) * 60
			if s[19] == '-' {
				off = -off
			}
			t := time.Date(y, time.Month(mo), dd, h, mi, sec, 0, time.UTC)
			if t.Day() == dd {
				return t.Add(-time.Duration(off) * time.Second), true
			}
			return time.Time{}, false
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}
