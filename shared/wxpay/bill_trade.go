package wxpay

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// TradeLine is one detail line of a trade bill. Amounts are fen, the fee is
// milli-fen (bills print it with five decimals). A refund is its own line with
// TradeState "REFUND", 应结订单金额 = 订单金额 = 0 and a negative fee (shared/wxpay/WECHATPAY.md e).
type TradeLine struct {
	LineNo            int
	TradeTime         time.Time // 交易时间: payment success, or the refund's own time in ALL bills
	AppID             string
	MchID             string
	SubMchID          string // 特约商户号, "0" for a direct merchant
	DeviceInfo        string
	TransactionID     string
	OutTradeNo        string
	OpenID            string
	TradeType         string
	TradeState        string // SUCCESS, REFUND, ...
	BankType          string
	Currency          string
	SettlementTotal   int64 // 应结订单金额
	Coupon            int64 // 代金券金额
	RefundID          string
	OutRefundNo       string
	RefundAmount      int64 // 退款金额
	CouponRefund      int64 // 充值券退款金额
	RefundType        string
	RefundStatus      string
	Body              string // 商品名称
	Attach            string // 商户数据包
	FeeMilliFen       int64  // 手续费, negative on refund lines
	FeeRate           string // 费率, e.g. "0.60%"
	OrderAmount       int64  // 订单金额
	RequestedRefund   int64  // 申请退款金额
	FeeRemark         string
	RefundApplyTime   time.Time // REFUND bills only
	RefundSuccessTime time.Time // REFUND bills only, zero when not yet successful
}

// IsRefund reports whether the line is a refund line.
func (l *TradeLine) IsRefund() bool { return l.TradeState == "REFUND" }

// TradeTotals are the summary figures of a trade bill.
type TradeTotals struct {
	Count           int64 // 总交易单数: every detail line, refunds included
	SettlementTotal int64 // 应结订单总金额
	RefundAmount    int64 // 退款总金额
	CouponRefund    int64 // 充值券退款总金额
	FeeMilliFen     int64 // 手续费总金额, net of returned fees
	OrderAmount     int64 // 订单总金额
	RequestedRefund int64 // 申请退款总金额
}

type tradeCol int

const (
	tcIgnored tradeCol = iota
	tcTradeTime
	tcAppID
	tcMchID
	tcSubMchID
	tcDeviceInfo
	tcTransactionID
	tcOutTradeNo
	tcOpenID
	tcTradeType
	tcTradeState
	tcBankType
	tcCurrency
	tcSettlementTotal
	tcCoupon
	tcRefundID
	tcOutRefundNo
	tcRefundAmount
	tcCouponRefund
	tcRefundType
	tcRefundStatus
	tcBody
	tcAttach
	tcFee
	tcFeeRate
	tcOrderAmount
	tcRequestedRefund
	tcFeeRemark
	tcRefundApplyTime
	tcRefundSuccessTime
	tcLegacyTotal // 总金额 of the old 24-column layout
)

// tradeColumns maps header names, current and legacy (shared/wxpay/WECHATPAY.md e), to columns.
var tradeColumns = map[string]tradeCol{
	"交易时间": tcTradeTime, "公众账号ID": tcAppID, "商户号": tcMchID,
	"特约商户号": tcSubMchID, "子商户号": tcSubMchID, "设备号": tcDeviceInfo,
	"微信订单号": tcTransactionID, "商户订单号": tcOutTradeNo, "用户标识": tcOpenID,
	"交易类型": tcTradeType, "交易状态": tcTradeState, "付款银行": tcBankType, "货币种类": tcCurrency,
	"应结订单金额": tcSettlementTotal, "代金券金额": tcCoupon, "企业红包金额": tcCoupon,
	"微信退款单号": tcRefundID, "商户退款单号": tcOutRefundNo, "退款金额": tcRefundAmount,
	"充值券退款金额": tcCouponRefund, "企业红包退款金额": tcCouponRefund,
	"退款类型": tcRefundType, "退款状态": tcRefundStatus, "商品名称": tcBody, "商户数据包": tcAttach,
	"手续费": tcFee, "费率": tcFeeRate, "订单金额": tcOrderAmount, "申请退款金额": tcRequestedRefund,
	"费率备注": tcFeeRemark, "退款申请时间": tcRefundApplyTime, "退款成功时间": tcRefundSuccessTime,
	"总金额": tcLegacyTotal,
}

type tradeSumCol int

const (
	tsIgnored tradeSumCol = iota
	tsCount
	tsSettlementTotal
	tsRefundAmount
	tsCouponRefund
	tsFee
	tsOrderAmount
	tsRequestedRefund
)

// tradeSummaryColumns: the 7-column ALL/REFUND summary, the 4-column SUCCESS
// summary of the 2024 document and the legacy names all map here; which ones a
// file has does not matter (shared/wxpay/WECHATPAY.md, disagreement 1).
var tradeSummaryColumns = map[string]tradeSumCol{
	"总交易单数": tsCount, "应结订单总金额": tsSettlementTotal, "总交易额": tsSettlementTotal,
	"退款总金额": tsRefundAmount, "总退款金额": tsRefundAmount,
	"充值券退款总金额": tsCouponRefund, "总企业红包退款金额": tsCouponRefund,
	"手续费总金额": tsFee, "订单总金额": tsOrderAmount, "申请退款总金额": tsRequestedRefund,
}

// TradeBillReader reads a trade bill (ALL, SUCCESS or REFUND, current or legacy
// layout, plain or gzip) one line at a time in constant memory:
//
//	r, err := wxpay.NewTradeBillReader(f)
//	for r.Next() { use(r.Line()) }
//	if r.Err() != nil { ... }        // I/O: the file is incomplete
//	problems := r.Problems()          // malformed lines and summary differences
type TradeBillReader struct {
	b       billReader
	cols    []tradeCol
	typ     TradeBillType
	line    TradeLine
	sums    TradeTotals
	summary *TradeTotals
}

// NewTradeBillReader reads the header of a trade bill from r.
func NewTradeBillReader(r io.Reader) (*TradeBillReader, error) {
	sc, err := newLineScanner(r)
	if err != nil {
		return nil, err
	}
	t := &TradeBillReader{}
	isHeader := func(names []string) bool {
		return slices.Contains(names, "交易时间") && slices.Contains(names, "微信订单号")
	}
	if err := t.b.start(sc, "总交易单数", isHeader); err != nil {
		return nil, err
	}
	t.cols = columnIndex(t.b.header, tradeColumns)
	switch {
	case slices.Contains(t.cols, tcRefundApplyTime):
		t.typ = TradeBillRefund
	case slices.Contains(t.cols, tcRefundID):
		t.typ = TradeBillAll
	default:
		t.typ = TradeBillSuccess
	}
	if missing := t.missingColumns(); len(missing) > 0 {
		return nil, fmt.Errorf("%w: the %s bill lacks the column(s) %s", ErrNotABill, t.typ, strings.Join(missing, ", "))
	}
	return t, nil
}

// requiredTradeColumns are what reconciliation cannot do without, per bill type:
// a bill without one of them is refused whole rather than read as zeros.
var requiredTradeColumns = map[tradeCol]string{tcTradeTime: "交易时间", tcMchID: "商户号", tcTransactionID: "微信订单号",
	tcOutTradeNo: "商户订单号", tcTradeState: "交易状态", tcFee: "手续费"}

var requiredRefundColumns = map[tradeCol]string{tcRefundID: "微信退款单号", tcOutRefundNo: "商户退款单号",
	tcRefundAmount: "退款金额", tcRefundStatus: "退款状态"}

func (t *TradeBillReader) missingColumns() []string {
	var missing []string
	need := func(req map[tradeCol]string) {
		for c, name := range req {
			if !slices.Contains(t.cols, c) {
				missing = append(missing, name)
			}
		}
	}
	need(requiredTradeColumns)
	if t.typ != TradeBillSuccess {
		need(requiredRefundColumns)
	}
	if !slices.Contains(t.cols, tcSettlementTotal) && !slices.Contains(t.cols, tcLegacyTotal) {
		missing = append(missing, "应结订单金额")
	}
	slices.Sort(missing)
	return missing
}

// Type is the bill type the header shows.
func (t *TradeBillReader) Type() TradeBillType { return t.typ }

// Header is the detail header as read.
func (t *TradeBillReader) Header() []string { return t.b.header }

// Next advances to the next well-formed detail line.
func (t *TradeBillReader) Next() bool {
	for {
		fields, kind, ok := t.b.next()
		if !ok {
			return false
		}
		if kind == recordSummary {
			t.readSummary(fields)
			continue
		}
		if t.decode(fields) {
			t.add()
			return true
		}
	}
}

// Line is the current line. The struct is reused by Next; its strings are not.
func (t *TradeBillReader) Line() *TradeLine { return &t.line }

// Err is the I/O or decompression error that ended the parse early, if any.
func (t *TradeBillReader) Err() error { return t.b.sc.err }

// Problems are the malformed lines and summary differences found so far (the
// first 1000); complete once Next has returned false.
func (t *TradeBillReader) Problems() []LineError { return t.b.problems }

// ProblemCount counts all problems, including those beyond the kept ones.
func (t *TradeBillReader) ProblemCount() int { return t.b.nProblems }

// Totals are the sums of the well-formed detail lines read so far.
func (t *TradeBillReader) Totals() TradeTotals { return t.sums }

// Summary is the summary line of the file, once read.
func (t *TradeBillReader) Summary() (TradeTotals, bool) {
	if t.summary == nil {
		return TradeTotals{}, false
	}
	return *t.summary, true
}

func (t *TradeBillReader) add() {
	l := &t.line
	t.sums.Count++
	t.sums.SettlementTotal += l.SettlementTotal
	t.sums.RefundAmount += l.RefundAmount
	t.sums.CouponRefund += l.CouponRefund
	t.sums.FeeMilliFen += l.FeeMilliFen
	t.sums.OrderAmount += l.OrderAmount
	t.sums.RequestedRefund += l.RequestedRefund
}

// decode fills t.line from fields, reporting the first bad value as a problem.
func (t *TradeBillReader) decode(fields []string) bool {
	l := &t.line
	*l = TradeLine{LineNo: t.b.sc.lineNo}
	for i, f := range fields {
		var ok = true
		// Spaces around a value (an export tool's padding) are not part of it.
		if f != "" && (f[0] == ' ' || f[len(f)-1] == ' ' || f[0] == '\t' || f[len(f)-1] == '\t') {
			f = strings.TrimSpace(f)
		}
		switch t.cols[i] {
		case tcTradeTime:
			l.TradeTime, ok = parseBillTime(f)
		case tcAppID:
			l.AppID = f
		case tcMchID:
			l.MchID = f
		case tcSubMchID:
			l.SubMchID = f
		case tcDeviceInfo:
			l.DeviceInfo = f
		case tcTransactionID:
			l.TransactionID = f
			ok = f != ""
		case tcOutTradeNo:
			l.OutTradeNo = f
		case tcOpenID:
			l.OpenID = f
		case tcTradeType:
			l.TradeType = f
		case tcTradeState:
			l.TradeState = f
			ok = f != ""
		case tcBankType:
			l.BankType = f
		case tcCurrency:
			l.Currency = f
		case tcSettlementTotal:
			l.SettlementTotal, ok = parseFixed(f, fenScale)
		case tcCoupon:
			l.Coupon, ok = parseFixed(f, fenScale)
		case tcRefundID:
			l.RefundID = f
		case tcOutRefundNo:
			l.OutRefundNo = f
		case tcRefundAmount:
			l.RefundAmount, ok = parseFixed(f, fenScale)
		case tcCouponRefund:
			l.CouponRefund, ok = parseFixed(f, fenScale)
		case tcRefundType:
			l.RefundType = f
		case tcRefundStatus:
			l.RefundStatus = f
		case tcBody:
			l.Body = f
		case tcAttach:
			l.Attach = f
		case tcFee:
			l.FeeMilliFen, ok = parseFixed(f, milliFenScale)
		case tcFeeRate:
			l.FeeRate = f
		case tcOrderAmount:
			l.OrderAmount, ok = parseFixed(f, fenScale)
		case tcRequestedRefund:
			l.RequestedRefund, ok = parseFixed(f, fenScale)
		case tcFeeRemark:
			l.FeeRemark = f
		case tcRefundApplyTime:
			l.RefundApplyTime, ok = parseBillTime(f)
		case tcRefundSuccessTime:
			if f != "" {
				l.RefundSuccessTime, ok = parseBillTime(f)
			}
		case tcLegacyTotal:
			l.OrderAmount, ok = parseFixed(f, fenScale)
			l.SettlementTotal = l.OrderAmount
		}
		if !ok {
			t.b.problem("column %s: %.40q is not valid", t.b.header[i], f)
			return false
		}
	}
	return true
}

func (t *TradeBillReader) readSummary(fields []string) {
	s := TradeTotals{}
	cols := columnIndex(t.b.summaryHeader, tradeSummaryColumns)
	present := make(map[tradeSumCol]bool, len(cols))
	for i, f := range fields {
		var ok = true
		switch cols[i] {
		case tsCount:
			s.Count, ok = parseCount(f)
		case tsSettlementTotal:
			s.SettlementTotal, ok = parseFixed(f, fenScale)
		case tsRefundAmount:
			s.RefundAmount, ok = parseFixed(f, fenScale)
		case tsCouponRefund:
			s.CouponRefund, ok = parseFixed(f, fenScale)
		case tsFee:
			s.FeeMilliFen, ok = parseFixed(f, milliFenScale)
		case tsOrderAmount:
			s.OrderAmount, ok = parseFixed(f, fenScale)
		case tsRequestedRefund:
			s.RequestedRefund, ok = parseFixed(f, fenScale)
		}
		if !ok {
			t.b.problem("summary column %s: %.40q is not valid", t.b.summaryHeader[i], f)
			return
		}
		present[cols[i]] = true
	}
	if !present[tsCount] {
		t.b.problem("summary has no 总交易单数")
		return
	}
	t.summary = &s
	// Compared against the lines before it; lines after the summary are
	// reported as such and never added.
	fen := FormatFen
	t.b.checkSums(
		sumCheck{present[tsCount], "总交易单数", s.Count, t.sums.Count, formatCount},
		sumCheck{present[tsSettlementTotal], "应结订单总金额", s.SettlementTotal, t.sums.SettlementTotal, fen},
		sumCheck{present[tsRefundAmount], "退款总金额", s.RefundAmount, t.sums.RefundAmount, fen},
		sumCheck{present[tsCouponRefund], "充值券退款总金额", s.CouponRefund, t.sums.CouponRefund, fen},
		sumCheck{present[tsFee], "手续费总金额", s.FeeMilliFen, t.sums.FeeMilliFen, FormatMilliFen},
		sumCheck{present[tsOrderAmount], "订单总金额", s.OrderAmount, t.sums.OrderAmount, fen},
		sumCheck{present[tsRequestedRefund], "申请退款总金额", s.RequestedRefund, t.sums.RequestedRefund, fen},
	)
}

// String renders a line for messages and tests.
func (l *TradeLine) String() string {
	return fmt.Sprintf("line %d %s %s %s/%s settle=%s refund=%s fee=%s", l.LineNo, l.TradeState,
		l.TradeTime.Format(time.DateTime), l.OutTradeNo, l.OutRefundNo,
		FormatFen(l.SettlementTotal), FormatFen(l.RefundAmount), FormatMilliFen(l.FeeMilliFen))
}
