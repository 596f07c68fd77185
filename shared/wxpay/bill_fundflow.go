package wxpay

import (
	"io"
	"slices"
	"time"
)

// Directions of a fund-flow line (收支类型).
const (
	FlowIncome  = "收入"
	FlowExpense = "支出"
)

// FundFlowLine is one detail line of a fund-flow bill (shared/wxpay/WECHATPAY.md e, FMTF).
// Amount is always positive; Direction says which way it went.
type FundFlowLine struct {
	LineNo    int
	BookedAt  time.Time // 记账时间
	BizNo     string    // 微信支付业务单号: transaction_id or refund_id
	FlowNo    string    // 资金流水单号
	BizName   string    // 业务名称: 交易, 退款, ...
	BizType   string    // 业务类型: 交易, 扣除交易手续费, 退款, ...
	Direction string    // 收入 or 支出
	Amount    int64     // fen
	Balance   int64     // fen, account balance after the line
	Applicant string    // 资金变更提交申请人
	Remark    string    // 备注
	VoucherNo string    // 业务凭证号: out_trade_no or out_refund_no
}

// FundFlowTotals are the summary figures of a fund-flow bill.
type FundFlowTotals struct {
	Count         int64 // 资金流水总笔数
	IncomeCount   int64 // 收入笔数
	IncomeAmount  int64 // 收入金额, fen
	ExpenseCount  int64 // 支出笔数
	ExpenseAmount int64 // 支出金额, fen
}

type flowCol int

const (
	fcIgnored flowCol = iota
	fcBookedAt
	fcBizNo
	fcFlowNo
	fcBizName
	fcBizType
	fcDirection
	fcAmount
	fcBalance
	fcApplicant
	fcRemark
	fcVoucherNo
)

var flowColumns = map[string]flowCol{
	"记账时间": fcBookedAt, "微信支付业务单号": fcBizNo, "资金流水单号": fcFlowNo, "业务名称": fcBizName,
	"业务类型": fcBizType, "收支类型": fcDirection, "收支金额": fcAmount, "账户结余": fcBalance,
	"资金变更提交申请人": fcApplicant, "备注": fcRemark, "业务凭证号": fcVoucherNo,
}

type flowSumCol int

const (
	fsIgnored flowSumCol = iota
	fsCount
	fsIncomeCount
	fsIncomeAmount
	fsExpenseCount
	fsExpenseAmount
)

var flowSummaryColumns = map[string]flowSumCol{
	"资金流水总笔数": fsCount, "收入笔数": fsIncomeCount, "收入金额": fsIncomeAmount,
	"支出笔数": fsExpenseCount, "支出金额": fsExpenseAmount,
}

// FundFlowBillReader reads a fund-flow bill like TradeBillReader reads a trade bill.
type FundFlowBillReader struct {
	b       billReader
	cols    []flowCol
	line    FundFlowLine
	sums    FundFlowTotals
	summary *FundFlowTotals
}

// NewFundFlowBillReader reads the header of a fund-flow bill from r.
func NewFundFlowBillReader(r io.Reader) (*FundFlowBillReader, error) {
	sc, err := newLineScanner(r)
	if err != nil {
		return nil, err
	}
	f := &FundFlowBillReader{}
	isHeader := func(names []string) bool {
		return slices.Contains(names, "记账时间") && slices.Contains(names, "收支类型")
	}
	if err := f.b.start(sc, "资金流水总笔数", isHeader); err != nil {
		return nil, err
	}
	f.cols = columnIndex(f.b.header, flowColumns)
	return f, nil
}

// Next advances to the next well-formed detail line.
func (f *FundFlowBillReader) Next() bool {
	for {
		fields, kind, ok := f.b.next()
		if !ok {
			return false
		}
		if kind == recordSummary {
			f.readSummary(fields)
			continue
		}
		if f.decode(fields) {
			f.add()
			return true
		}
	}
}

// Line is the current line (reused by Next).
func (f *FundFlowBillReader) Line() *FundFlowLine { return &f.line }

// Err is the I/O or decompression error that ended the parse early, if any.
func (f *FundFlowBillReader) Err() error { return f.b.sc.err }

// Problems are the malformed lines and summary differences (the first 1000).
func (f *FundFlowBillReader) Problems() []LineError { return f.b.problems }

// ProblemCount counts all problems.
func (f *FundFlowBillReader) ProblemCount() int { return f.b.nProblems }

// Totals are the sums of the well-formed detail lines read so far.
func (f *FundFlowBillReader) Totals() FundFlowTotals { return f.sums }

// Summary is the summary line of the file, once read.
func (f *FundFlowBillReader) Summary() (FundFlowTotals, bool) {
	if f.summary == nil {
		return FundFlowTotals{}, false
	}
	return *f.summary, true
}

func (f *FundFlowBillReader) add() {
	f.sums.Count++
	if f.line.Direction == FlowIncome {
		f.sums.IncomeCount++
		f.sums.IncomeAmount += f.line.Amount
	} else {
		f.sums.ExpenseCount++
		f.sums.ExpenseAmount += f.line.Amount
	}
}

func (f *FundFlowBillReader) decode(fields []string) bool {
	l := &f.line
	*l = FundFlowLine{LineNo: f.b.sc.lineNo}
	for i, v := range fields {
		var ok = true
		switch f.cols[i] {
		case fcBookedAt:
			l.BookedAt, ok = parseBillTime(v)
		case fcBizNo:
			l.BizNo = v
		case fcFlowNo:
			l.FlowNo = v
		case fcBizName:
			l.BizName = v
		case fcBizType:
			l.BizType = v
		case fcDirection:
			l.Direction = v
			ok = v == FlowIncome || v == FlowExpense
		case fcAmount:
			l.Amount, ok = parseFixed(v, fenScale)
			ok = ok && l.Amount >= 0
		case fcBalance:
			l.Balance, ok = parseFixed(v, fenScale)
		case fcApplicant:
			l.Applicant = v
		case fcRemark:
			l.Remark = v
		case fcVoucherNo:
			l.VoucherNo = v
		}
		if !ok {
			f.b.problem("column %s: %.40q is not valid", f.b.header[i], v)
			return false
		}
	}
	if l.Direction == "" {
		f.b.problem("no 收支类型")
		return false
	}
	return true
}

func (f *FundFlowBillReader) readSummary(fields []string) {
	s := FundFlowTotals{}
	cols := columnIndex(f.b.summaryHeader, flowSummaryColumns)
	present := make(map[flowSumCol]bool, len(cols))
	for i, v := range fields {
		var ok = true
		switch cols[i] {
		case fsCount:
			s.Count, ok = parseCount(v)
		case fsIncomeCount:
			s.IncomeCount, ok = parseCount(v)
		case fsIncomeAmount:
			s.IncomeAmount, ok = parseFixed(v, fenScale)
		case fsExpenseCount:
			s.ExpenseCount, ok = parseCount(v)
		case fsExpenseAmount:
			s.ExpenseAmount, ok = parseFixed(v, fenScale)
		}
		if !ok {
			f.b.problem("summary column %s: %.40q is not valid", f.b.summaryHeader[i], v)
			return
		}
		present[cols[i]] = true
	}
	f.summary = &s
	f.b.checkSums(
		sumCheck{present[fsCount], "资金流水总笔数", s.Count, f.sums.Count, formatCount},
		sumCheck{present[fsIncomeCount], "收入笔数", s.IncomeCount, f.sums.IncomeCount, formatCount},
		sumCheck{present[fsIncomeAmount], "收入金额", s.IncomeAmount, f.sums.IncomeAmount, FormatFen},
		sumCheck{present[fsExpenseCount], "支出笔数", s.ExpenseCount, f.sums.ExpenseCount, formatCount},
		sumCheck{present[fsExpenseAmount], "支出金额", s.ExpenseAmount, f.sums.ExpenseAmount, FormatFen},
	)
}
