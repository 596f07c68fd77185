package reconciliation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// The fund-flow bill (资金账单) is the account's money as it moved: each payment's
// income (交易), the fee taken from it (扣除交易手续费), each refund paid out (退款) and
// a fee given back (退还交易手续费, or inside the refund's line). Its run sits beside the
// day's trade-bill runs (bill type FUNDFLOW) and checks each of those lines against our
// books, whatever day we have them on: the payment's amount (settlement), the refund's
// amount, and the fee booked from the trade bill (fees). Lines of other business
// (withdrawals to the bank, transfers) are not ours to match and are left out; every
// line's 账户结余 must follow from the one before.

// BillFundFlow is the bill type of a fund-flow run.
const BillFundFlow wxpay.TradeBillType = "FUNDFLOW"

// CodeLedgerCannotFind: fund-flow runs need a ledger that finds records by id.
const CodeLedgerCannotFind = "recon.ledger_cannot_find"

// Fund-flow business types (业务类型) the run matches.
const (
	flowTrade       = "交易"
	flowFee         = "扣除交易手续费"
	flowRefund      = "退款"
	flowFeeReturned = "退还交易手续费"
)

// refundRemark is how a refund's line says what it contains: 退款总金额X元;含手续费Y元.
var refundRemark = regexp.MustCompile(`退款总金额([0-9]+\.[0-9]{2})元;含手续费([0-9]+\.[0-9]{2})元`)

// RunFundFlowFile reconciles merchant mchid's fund-flow bill of date read from bill
// (plain or gzip) against ledger, and replaces the date's previous fund-flow run.
func (s *Service) RunFundFlowFile(ctx context.Context, mchid, date string, bill io.Reader, ledger LedgerSource) (*Report, error) {
	return s.fundFlow(ctx, mchid, date, SourceFile, ledger, bill)
}

// RunFundFlowDownload downloads the day's fund-flow bill of the client's basic
// account and reconciles it as RunFundFlowFile does.
func (s *Service) RunFundFlowDownload(ctx context.Context, client *wxpay.Client, date string, ledger LedgerSource) (*Report, error) {
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := client.DownloadFundFlowBill(ctx, wxpay.FundFlowBillRequest{Date: date, Gzip: true}, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	rep, err := s.fundFlow(ctx, client.MchID(), date, SourceDownloaded, ledger, pr)
	pr.CloseWithError(errors.New("reconciliation stopped reading"))
	if dlErr := <-done; dlErr != nil && err != nil {
		return nil, fmt.Errorf("reconciliation %s: download the fund-flow bill: %w", date, dlErr)
	}
	return rep, err
}

// flowItem is a fund-flow line the run matches against our record.
type flowItem struct {
	line      wxpay.FundFlowLine
	kind      Kind
	amountFen int64 // what is compared with our record: the payment, the refund (fee included), or the fee
	fee       bool  // a fee line: compared with the fee we booked
	feeBack   int64 // a refund line's fee given back (含手续费), fen
}

func (s *Service) fundFlow(ctx context.Context, mchid, date string, source Source, ledger LedgerSource, bill io.Reader) (*Report, error) {
	if _, _, err := dayWindow(date); err != nil {
		return nil, errs.E(errs.KindInvalid, CodeInvalidDate, fmt.Sprintf("bill date %q is not yyyy-MM-dd", date)).WithField("date")
	}
	finder, ok := ledger.(LedgerFinder)
	if !ok {
		return nil, errs.E(errs.KindUnprocessable, CodeLedgerCannotFind, "a fund-flow bill is reconciled against the billing ledger, which finds records by WeChat's ids")
	}
	run := &Run{ID: uuid.Must(uuid.NewV7()), MchID: mchid, Date: date, Source: source, BillType: BillFundFlow, StartedAt: s.now()}
	rd, err := wxpay.NewFundFlowBillReader(bill)
	if err != nil {
		return nil, errs.Wrap(err, errs.KindInvalid, CodeBillUnreadable, "the file is not a WeChat Pay fund-flow bill")
	}
	var items []flowItem
	var excs []Exception
	problem := func(line int, reason string) {
		run.ProblemCount++
		if len(run.Problems) < 1000 {
			run.Problems = append(run.Problems, Problem{Line: line, Reason: reason})
		}
	}
	seen := map[string]int{}
	var prevBalance int64
	first := true
	for rd.Next() {
		l := *rd.Line()
		signed := l.Amount
		if l.Direction == wxpay.FlowExpense {
			signed = -l.Amount
		}
		if !first && l.Balance != prevBalance+signed {
			problem(l.LineNo, fmt.Sprintf("账户结余 %s does not follow from %s %s", wxpay.FormatFen(l.Balance), wxpay.FormatFen(prevBalance), wxpay.FormatFen(signed)))
		}
		first, prevBalance = false, l.Balance
		it := flowItem{line: l, kind: KindPay, amountFen: l.Amount}
		switch l.BizType {
		case flowTrade:
		case flowFee:
			it.fee = true
		case flowRefund:
			it.kind = KindRefund
			if m := refundRemark.FindStringSubmatch(l.Remark); m != nil {
				total, _ := money.ParseYuan(m[1])
				back, _ := money.ParseYuan(m[2])
				it.amountFen, it.feeBack = total.Fen(), back.Fen()
			}
		case flowFeeReturned:
			it.kind, it.fee = KindRefund, true
			it.amountFen = -l.Amount
		default:
			continue // withdrawals, transfers: not a payment's or a refund's money
		}
		key := l.BizType + "/" + l.FlowNo
		if firstLine, dup := seen[key]; dup && l.FlowNo != "" {
			st := &run.Classes[ClassDuplicate]
			st.Items++
			st.BillLines++
			run.Totals.Count++ // a line of the bill, never in its figures
			excs = append(excs, flowException(ClassDuplicate, &it, nil, fmt.Sprintf("the bill has flow %s twice: see line %d", l.FlowNo, firstLine)))
			continue
		}
		seen[key] = l.LineNo
		items = append(items, it)
	}
	if err := rd.Err(); err != nil {
		return nil, errs.Wrap(err, errs.KindInvalid, CodeBillUnreadable, "the fund-flow bill cannot be read")
	}
	for _, p := range rd.Problems() {
		problem(p.Line, p.Reason)
	}
	ids := make([]string, 0, len(items))
	for i := range items {
		ids = append(ids, items[i].line.BizNo)
	}
	ours := map[string]Record{}
	if len(ids) > 0 {
		err = finder.FindLedger(ctx, mchid, ids, func(r *Record) error {
			id := r.TransactionID
			if r.Kind == KindRefund {
				id = r.RefundID
			}
			rec := *r
			rec.OutTradeNo, rec.TransactionID, rec.OutRefundNo, rec.RefundID = strings.Clone(r.OutTradeNo),
				strings.Clone(r.TransactionID), strings.Clone(r.OutRefundNo), strings.Clone(r.RefundID)
			ours[r.Kind.String()+"/"+strings.Clone(id)] = rec
			run.LedgerRecords++
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("reconciliation %s: our ledger: %w", date, err)
		}
	}
	t := &run.Totals
	for i := range items {
		it := &items[i]
		t.Count++
		var st *ClassStats
		r, found := ours[it.kind.String()+"/"+it.line.BizNo]
		want := r.AmountFen
		if it.fee {
			want = r.FeeFen
		}
		c, note := ClassMatched, ""
		switch {
		case !found:
			c = ClassMissingOurs
		case it.fee && r.FeeFen == 0:
			c, note = ClassAmountMismatch, fmt.Sprintf("fee %s, none booked on our side (reconcile the day's trade bill first)", wxpay.FormatFen(it.amountFen))
		case it.amountFen != want:
			c, note = ClassAmountMismatch, fmt.Sprintf("WeChat %s, ours %s (difference %s)", wxpay.FormatFen(it.amountFen), wxpay.FormatFen(want), wxpay.FormatFen(it.amountFen-want))
		case it.feeBack != 0 && r.FeeFen != 0 && it.feeBack != -r.FeeFen:
			c, note = ClassAmountMismatch, fmt.Sprintf("fee given back %s, ours %s", wxpay.FormatFen(it.feeBack), wxpay.FormatFen(-r.FeeFen))
		}
		st = &run.Classes[c]
		st.Items++
		st.BillLines++
		switch {
		case it.fee:
			st.FeeMilliFen += it.amountFen * 1000
			t.FeeMilliFen += it.amountFen * 1000
		case it.kind == KindRefund:
			st.RefundFen += it.amountFen
			st.RequestedRefundFen += it.amountFen
			st.FeeMilliFen -= it.feeBack * 1000
			t.RefundAmount += it.amountFen
			t.RequestedRefund += it.amountFen
			t.FeeMilliFen -= it.feeBack * 1000
		default:
			st.SettlementFen += it.amountFen
			st.OrderFen += it.amountFen
			t.SettlementTotal += it.amountFen
			t.OrderAmount += it.amountFen
		}
		if found {
			st.OurRecords++
			st.OurAmountFen += want
		}
		if c != ClassMatched {
			var rp *Record
			if found {
				rp = &r
			}
			excs = append(excs, flowException(c, it, rp, note))
		}
	}
	run.NetMilliFen = (t.SettlementTotal-t.RefundAmount)*1000 - t.FeeMilliFen
	for i := range excs {
		excs[i].Seq = i + 1
	}
	switch {
	case run.ProblemCount > 0:
		run.State = StateIncomplete
	case run.Exceptions() > 0:
		run.State = StateUnbalanced
	default:
		run.State = StateBalanced
	}
	run.FinishedAt = s.now()
	if err := s.save(ctx, run, excs); err != nil {
		return nil, fmt.Errorf("reconciliation %s: save: %w", date, err)
	}
	s.log.InfoContext(ctx, "reconciliation fund-flow run", "mchid", mchid, "date", date, "state", run.State,
		"lines", t.Count, "matched", run.Classes[ClassMatched].Items, "exceptions", run.Exceptions(), "problems", run.ProblemCount)
	return &Report{Run: *run, Top: topExceptions(excs, TopExceptions)}, nil
}

func flowException(c Class, it *flowItem, r *Record, note string) Exception {
	l := &it.line
	e := Exception{Class: c, Kind: it.kind, Note: note,
		Bill: &BillSide{LineNo: l.LineNo, State: l.BizType, At: l.BookedAt, AmountFen: it.amountFen}}
	if it.kind == KindRefund {
		e.RefundID, e.OutRefundNo = l.BizNo, l.VoucherNo
	} else {
		e.TransactionID, e.OutTradeNo = l.BizNo, l.VoucherNo
	}
	if r != nil {
		e.OutTradeNo, e.TransactionID, e.OutRefundNo, e.RefundID = r.OutTradeNo, r.TransactionID, r.OutRefundNo, r.RefundID
		amount := r.AmountFen
		if it.fee {
			amount = r.FeeFen
		}
		e.Ours = &OurSide{Status: r.Status, At: r.At.In(wxpay.Shanghai), AmountFen: amount, FeeFen: r.FeeFen}
	}
	return e
}
