package wxsim

import (
	"bufio"
	"io"
	"strconv"
	"time"
)

// Bill layouts, from the 2024.11.25 format page (shared/wxpay/WECHATPAY.md e, FMT).
const (
	headerAll     = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
	headerSuccess = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注"
	headerRefund  = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"
	// The SUCCESS summary has 4 columns in the 2024 document, 7 in two real
	// downloads (disagreement 1); the simulator follows the document.
	summaryFull     = "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额"
	summarySuccess  = "总交易单数,应结订单总金额,手续费总金额,订单总金额"
	headerFundFlow  = "记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号"
	summaryFundFlow = "资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额"
)

// TradeRow is what one trade-bill line is written from: a payment, or with
// Refund set, a refund of that payment.
type TradeRow struct {
	PayTime       time.Time
	AppID         string
	MchID         string
	TransactionID string
	OutTradeNo    string
	OpenID        string
	TradeType     string
	BankType      string
	Body          string
	Attach        string
	Total         int64 // fen
	Fee           int64 // fen, the payment's fee
	FeeRate       string
	Refund        *TradeRefund
}

// TradeRefund is the refund part of a refund line.
type TradeRefund struct {
	RefundID    string
	OutRefundNo string
	Status      string
	Amount      int64 // fen
	ReturnedFee int64 // fen, printed negative in 手续费
	CreatedAt   time.Time
	SuccessTime *time.Time
}

// fileFormat is what WeChat does not document about bill files (shared/wxpay/WECHATPAY.md e,
// disagreement 3): real downloads were seen with a BOM and with CRLF.
type fileFormat struct {
	bom bool
	eol string
}

// billWriter holds what the trade and fund-flow writers share: buffered output
// of backtick-prefixed fields.
type billWriter struct {
	w   *bufio.Writer
	eol string
	buf []byte
}

func newBillWriter(w io.Writer, f fileFormat, header string) (*billWriter, error) {
	b := &billWriter{w: bufio.NewWriterSize(w, 256<<10), eol: f.eol, buf: make([]byte, 0, 1024)}
	if f.bom {
		b.buf = append(b.buf, "\uFEFF"...)
	}
	b.buf = append(b.buf, header...)
	b.buf = append(b.buf, f.eol...)
	return b, b.flushLine()
}

func (b *billWriter) text(s string) {
	b.buf = append(b.buf, '`')
	b.buf = append(b.buf, s...)
	b.buf = append(b.buf, ',')
}

func (b *billWriter) fen(v int64) {
	b.buf = append(b.buf, '`')
	b.buf = appendYuan(b.buf, v)
	b.buf = append(b.buf, ',')
}

// fee prints a fee the way bills do: yuan with five decimals (shared/wxpay/WECHATPAY.md e).
func (b *billWriter) fee(fen int64) {
	b.fen(fen)
	b.buf = append(b.buf[:len(b.buf)-1], "000,"...)
}

func (b *billWriter) time(t time.Time) {
	b.buf = append(b.buf, '`')
	b.buf = appendDateTime(b.buf, t)
	b.buf = append(b.buf, ',')
}

func (b *billWriter) count(n int64) {
	b.buf = append(b.buf, '`')
	b.buf = strconv.AppendInt(b.buf, n, 10)
	b.buf = append(b.buf, ',')
}

// endLine replaces the last field's comma by the line end and writes the line.
func (b *billWriter) endLine() error {
	b.buf = append(b.buf[:len(b.buf)-1], b.eol...)
	return b.flushLine()
}

func (b *billWriter) flushLine() error {
	_, err := b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return err
}

func (b *billWriter) line(s string) error {
	b.buf = append(b.buf, s...)
	b.buf = append(b.buf, b.eol...)
	return b.flushLine()
}

// tradeSums are the summary figures, kept while writing.
type tradeSums struct {
	count, settlement, refund, fee, order, requested int64
}

// tradeBillWriter writes one trade bill of type ALL, SUCCESS or REFUND.
type tradeBillWriter struct {
	*billWriter
	typ  string
	sums tradeSums
}

func newTradeBillWriter(w io.Writer, typ string, f fileFormat) (*tradeBillWriter, error) {
	header := map[string]string{"ALL": headerAll, "SUCCESS": headerSuccess, "REFUND": headerRefund}[typ]
	b, err := newBillWriter(w, f, header)
	return &tradeBillWriter{billWriter: b, typ: typ}, err
}

// write writes r. The rules of shared/wxpay/WECHATPAY.md e: a refund is its own line with
// 交易状态 REFUND, 应结订单金额 = 订单金额 = 0.00, the refund in 退款金额 and
// 申请退款金额 and the returned fee negative; a payment line has 0 as refund
// numbers and 0.00 as refund amounts. In REFUND bills 交易时间 is the payment's
// time with the refund's own times in their columns (real samples,
// disagreement 4); in ALL bills it is the time the refund was accepted.
func (b *tradeBillWriter) write(r *TradeRow) error {
	rf := r.Refund
	if rf != nil && b.typ == "SUCCESS" || rf == nil && b.typ == "REFUND" {
		return nil
	}
	switch {
	case rf == nil || b.typ == "REFUND":
		b.time(r.PayTime)
	default:
		b.time(rf.CreatedAt)
	}
	b.text(r.AppID)
	b.text(r.MchID)
	b.text("0")
	b.text("")
	b.text(r.TransactionID)
	b.text(r.OutTradeNo)
	b.text(r.OpenID)
	b.text(r.TradeType)
	settlement, fee, refundAmount := r.Total, r.Fee, int64(0)
	if rf != nil {
		settlement, fee, refundAmount = 0, -rf.ReturnedFee, rf.Amount
		b.text("REFUND")
	} else {
		b.text("SUCCESS")
	}
	b.text(r.BankType)
	b.text("CNY")
	b.fen(settlement)
	b.fen(0) // 代金券金额
	switch {
	case b.typ == "REFUND":
		b.time(rf.CreatedAt)
		if rf.SuccessTime != nil {
			b.time(*rf.SuccessTime)
		} else {
			b.text("")
		}
		b.refundColumns(rf)
	case b.typ == "ALL" && rf != nil:
		b.refundColumns(rf)
	case b.typ == "ALL":
		b.text("0")
		b.text("0")
		b.fen(0)
		b.fen(0)
		b.text("")
		b.text("")
	}
	b.text(r.Body)
	b.text(r.Attach)
	b.fee(fee)
	b.text(r.FeeRate)
	b.fen(settlement) // 订单金额: no WeChat-side discounts in the simulator
	if b.typ != "SUCCESS" {
		b.fen(refundAmount)
	}
	b.text("")
	b.sums.count++
	b.sums.settlement += settlement
	b.sums.refund += refundAmount
	b.sums.fee += fee
	b.sums.order += settlement
	b.sums.requested += refundAmount
	return b.endLine()
}

func (b *tradeBillWriter) refundColumns(rf *TradeRefund) {
	b.text(rf.RefundID)
	b.text(rf.OutRefundNo)
	b.fen(rf.Amount)
	b.fen(0) // 充值券退款金额
	b.text("ORIGINAL")
	b.text(rf.Status)
}

// close writes the summary lines: 总交易单数 counts every detail line, the amounts
// are plain sums of the detail columns (shared/wxpay/WECHATPAY.md e).
func (b *tradeBillWriter) close() error {
	s := b.sums
	if b.typ == "SUCCESS" {
		if err := b.line(summarySuccess); err != nil {
			return err
		}
		b.count(s.count)
		b.fen(s.settlement)
		b.fee(s.fee)
		b.fen(s.order)
	} else {
		if err := b.line(summaryFull); err != nil {
			return err
		}
		b.count(s.count)
		b.fen(s.settlement)
		b.fen(s.refund)
		b.fen(0)
		b.fee(s.fee)
		b.fen(s.order)
		b.fen(s.requested)
	}
	if err := b.endLine(); err != nil {
		return err
	}
	return b.w.Flush()
}

// fundFlowBillWriter writes a fund-flow bill (shared/wxpay/WECHATPAY.md e, FMTF).
type fundFlowBillWriter struct {
	*billWriter
	balance                  int64
	lines, inCount, outCount int64
	inAmount, outAmount      int64
}

func newFundFlowBillWriter(w io.Writer, f fileFormat, openingBalance int64) (*fundFlowBillWriter, error) {
	b, err := newBillWriter(w, f, headerFundFlow)
	return &fundFlowBillWriter{billWriter: b, balance: openingBalance}, err
}

func (b *fundFlowBillWriter) write(f *fundFlow) error {
	if f.Direction == "收入" {
		b.balance += f.Amount
		b.inCount++
		b.inAmount += f.Amount
	} else {
		b.balance -= f.Amount
		b.outCount++
		b.outAmount += f.Amount
	}
	b.lines++
	b.time(f.BookedAt)
	b.text(f.BizNo)
	b.text(f.FlowNo)
	b.text(f.BizName)
	b.text(f.BizType)
	b.text(f.Direction)
	b.fen(f.Amount)
	b.fen(b.balance)
	b.text(f.Applicant)
	b.text(escapeFlowText(f.Remark))
	b.text(escapeFlowText(f.VoucherNo))
	return b.endLine()
}

func (b *fundFlowBillWriter) close() error {
	if err := b.line(summaryFundFlow); err != nil {
		return err
	}
	b.count(b.lines)
	b.count(b.inCount)
	b.fen(b.inAmount)
	b.count(b.outCount)
	b.fen(b.outAmount)
	if err := b.endLine(); err != nil {
		return err
	}
	return b.w.Flush()
}

// escapeFlowText: in 备注 and 业务凭证号 WeChat writes \r and \n as the two
// characters \r and \n (shared/wxpay/WECHATPAY.md e, FMTF).
func escapeFlowText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' || s[i] == '\n' {
			out := make([]byte, 0, len(s)+4)
			for j := 0; j < len(s); j++ {
				switch s[j] {
				case '\r':
					out = append(out, `\r`...)
				case '\n':
					out = append(out, `\n`...)
				default:
					out = append(out, s[j])
				}
			}
			return string(out)
		}
	}
	return s
}

// appendYuan appends fen as yuan with two decimals, exactly.
func appendYuan(b []byte, fen int64) []byte {
	if fen < 0 {
		b = append(b, '-')
		fen = -fen
	}
	b = strconv.AppendInt(b, fen/100, 10)
	return append(b, '.', byte('0'+fen/10%10), byte('0'+fen%10))
}

func yuan(fen int64) string { return string(appendYuan(nil, fen)) }

// appendDateTime appends "2006-01-02 15:04:05" in Asia/Shanghai; hand-written
// because time.AppendFormat dominates the cost of a generated line otherwise.
func appendDateTime(b []byte, t time.Time) []byte {
	t = t.In(shanghai)
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	two := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append(two(b, int(mo)), '-')
	b = append(two(b, d), ' ')
	b = append(two(b, h), ':')
	b = append(two(b, mi), ':')
	return two(b, s)
}
