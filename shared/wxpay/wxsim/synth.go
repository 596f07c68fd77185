package wxsim

import (
	"bufio"
	"compress/gzip"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// SynthOptions describes a synthetic trade bill: no database, no keys, the same
// writer and format as the bills the simulator serves.
type SynthOptions struct {
	Date    string // "2006-01-02"
	Lines   int    // detail lines
	Type    string // ALL, SUCCESS or REFUND [ALL]
	Gzip    bool
	Seed    uint64
	FeeRate string // ["0.60%"]
	MchID   string // ["1900000001"]
	AppID   string // ["wxd678efh567hg6787"]
	NoBOM   bool
	LF      bool
	// Ledger, when set, receives the matching ledger as CSV (header
	// kind,out_trade_no,transaction_id,out_refund_no,refund_id,amount_fen,fee_fen,occurred_at):
	// what Tandem's own books would say about the same lines.
	Ledger io.Writer
}

// SynthResult is what was written.
type SynthResult struct {
	Lines int
	SHA1  string // of the uncompressed bill, as WeChat would announce it
}

// WriteSyntheticBill writes a synthetic trade bill to w. In ALL bills every
// tenth line is a refund, in REFUND bills every line: a refund (half of them
// partial) of a payment made 24 hours before it.
func WriteSyntheticBill(w io.Writer, o SynthOptions) (SynthResult, error) {
	day, err := time.ParseInLocation("2006-01-02", o.Date, shanghai)
	if err != nil {
		return SynthResult{}, fmt.Errorf("date %q: want yyyy-MM-dd", o.Date)
	}
	if o.Type == "" {
		o.Type = "ALL"
	}
	if o.Type != "ALL" && o.Type != "SUCCESS" && o.Type != "REFUND" {
		return SynthResult{}, fmt.Errorf("type %q: want ALL, SUCCESS or REFUND", o.Type)
	}
	if o.FeeRate == "" {
		o.FeeRate = "0.60%"
	}
	rate, err := parseFeeRate(o.FeeRate)
	if err != nil {
		return SynthResult{}, err
	}
	if o.MchID == "" {
		o.MchID = DevMchID
	}
	if o.AppID == "" {
		o.AppID = DevAppID
	}

	sum := sha1.New()
	var out io.Writer
	var zw *gzip.Writer
	if o.Gzip {
		zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed) // the level is valid
		out = io.MultiWriter(sum, zw)
	} else {
		out = io.MultiWriter(sum, w)
	}
	format := fileFormat{bom: !o.NoBOM, eol: "\r\n"}
	if o.LF {
		format.eol = "\n"
	}
	bw, err := newTradeBillWriter(out, o.Type, format)
	if err != nil {
		return SynthResult{}, err
	}
	var ledger *ledgerWriter
	if o.Ledger != nil {
		if ledger, err = newLedgerWriter(o.Ledger); err != nil {
			return SynthResult{}, err
		}
	}

	g := synth{rng: rand.New(rand.NewPCG(o.Seed, 0x7a6e64656d)), day: day, lines: o.Lines, rate: rate,
		mchID: o.MchID, appID: o.AppID, date: day.Format("20060102")}
	var row TradeRow
	var refund TradeRefund
	for i := range o.Lines {
		g.payment(i, &row)
		isRefund := o.Type == "REFUND" || (o.Type == "ALL" && i%10 == 9)
		if isRefund {
			g.refund(i, &row, &refund)
		} else {
			row.Refund = nil
		}
		if err := bw.write(&row); err != nil {
			return SynthResult{}, err
		}
		if ledger != nil {
			if err := ledger.write(&row); err != nil {
				return SynthResult{}, err
			}
		}
	}
	if err := bw.close(); err != nil {
		return SynthResult{}, err
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return SynthResult{}, err
		}
	}
	if ledger != nil {
		if err := ledger.w.Flush(); err != nil {
			return SynthResult{}, err
		}
	}
	return SynthResult{Lines: o.Lines, SHA1: hex.EncodeToString(sum.Sum(nil))}, nil
}

type synth struct {
	rng                *rand.Rand
	day                time.Time
	lines              int
	rate               feeRate
	mchID, appID, date string
	scratch            []byte
}

func (g *synth) id(prefix string, width int, n int) string {
	b := append(g.scratch[:0], prefix...)
	b = append(b, g.date...)
	s := strconv.AppendInt(nil, int64(n), 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	g.scratch = append(b, s...)
	return string(g.scratch)
}

// payment fills row with the i-th synthetic payment, times spread over the day.
func (g *synth) payment(i int, row *TradeRow) {
	total := 100 + g.rng.Int64N(50_000)
	*row = TradeRow{
		PayTime:       g.day.Add(time.Duration(int64(i)*86400/int64(max(g.lines, 1))) * time.Second), // i*24h in ns would overflow int64 past 106,751 lines
		AppID:         g.appID,
		MchID:         g.mchID,
		TransactionID: g.id("4200001234", 10, i),
		OutTradeNo:    g.id("TD", 8, i),
		OpenID:        "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
		TradeType:     "JSAPI",
		BankType:      "OTHERS",
		Body:          "Tandem 订单",
		Total:         total,
		Fee:           g.rate.fee(total),
		FeeRate:       g.rate.text,
	}
	if i%3 == 0 {
		row.TradeType, row.BankType = "NATIVE", "CMB_DEBIT"
	}
}

// refund turns row into a refund line, full or half, at the line's time of a
// payment made a day earlier.
func (g *synth) refund(i int, row *TradeRow, r *TradeRefund) {
	amount := row.Total
	if i%2 == 1 {
		amount = row.Total / 2
	}
	at := row.PayTime
	row.PayTime = at.Add(-24 * time.Hour)
	*r = TradeRefund{
		RefundID: g.id("50300012", 12, i), OutRefundNo: g.id("RF", 8, i), Status: "SUCCESS", Amount: amount,
		ReturnedFee: returnedShare(row.Fee, 0, row.Total, 0, amount), CreatedAt: at, SuccessTime: &at,
	}
	row.Refund = r
}

// ledgerWriter writes the ledger CSV that matches a synthetic bill.
type ledgerWriter struct {
	w   *bufio.Writer
	buf []byte
}

func newLedgerWriter(w io.Writer) (*ledgerWriter, error) {
	l := &ledgerWriter{w: bufio.NewWriterSize(w, 256<<10)}
	_, err := l.w.WriteString("kind,out_trade_no,transaction_id,out_refund_no,refund_id,amount_fen,fee_fen,occurred_at\n")
	return l, err
}

func (l *ledgerWriter) write(r *TradeRow) error {
	b := l.buf[:0]
	if r.Refund == nil {
		b = append(b, "PAY,"...)
		b = append(b, r.OutTradeNo...)
		b = append(b, ',')
		b = append(b, r.TransactionID...)
		b = append(b, ",,,"...)
		b = strconv.AppendInt(b, r.Total, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.Fee, 10)
		b = append(b, ',')
		b = r.PayTime.In(shanghai).AppendFormat(b, time.RFC3339)
	} else {
		b = append(b, "REFUND,"...)
		b = append(b, r.OutTradeNo...)
		b = append(b, ',')
		b = append(b, r.TransactionID...)
		b = append(b, ',')
		b = append(b, r.Refund.OutRefundNo...)
		b = append(b, ',')
		b = append(b, r.Refund.RefundID...)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.Refund.Amount, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, -r.Refund.ReturnedFee, 10)
		b = append(b, ',')
		b = r.Refund.CreatedAt.In(shanghai).AppendFormat(b, time.RFC3339)
	}
	b = append(b, '\n')
	l.buf = b
	_, err := l.w.Write(b)
	return err
}
