package reconciliation_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

const testMch = "1900000109"

const headerAll = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"

// billLine is one detail line of a crafted ALL bill. Amounts are fen, fee milli-fen.
type billLine struct {
	at                 string // "2025-03-14 10:00:00"
	txn, outTradeNo    string
	refundID, outRefNo string // refunds only
	amount             int64  // the payment's order amount, or the refund
	refundStatus       string // refunds ["SUCCESS"]
	feeMilli           int64
	raw                string // a literal line instead (malformed lines)
}

func (l billLine) text() string {
	if l.raw != "" {
		return l.raw
	}
	f := wxpay.FormatFen
	if l.refundID != "" {
		st := l.refundStatus
		if st == "" {
			st = "SUCCESS"
		}
		return strings.Join([]string{l.at, "wxd678efh567hg6787", testMch, "0", "", l.txn, l.outTradeNo, "oUser", "JSAPI", "REFUND",
			"OTHERS", "CNY", "0.00", "0.00", l.refundID, l.outRefNo, f(l.amount), "0.00", "ORIGINAL", st, "Tandem", "",
			wxpay.FormatMilliFen(l.feeMilli), "0.60%", "0.00", f(l.amount), ""}, ",`")
	}
	return strings.Join([]string{l.at, "wxd678efh567hg6787", testMch, "0", "", l.txn, l.outTradeNo, "oUser", "JSAPI", "SUCCESS",
		"OTHERS", "CNY", f(l.amount), "0.00", "0", "0", "0.00", "0.00", "", "", "Tandem", "",
		wxpay.FormatMilliFen(l.feeMilli), "0.60%", f(l.amount), "0.00", ""}, ",`")
}

// billText is a whole ALL bill: BOM, CRLF, header, lines and a summary that adds
// up (malformed lines left out of it, as WeChat would never write them).
func billText(lines ...billLine) string {
	var b strings.Builder
	b.WriteString("\uFEFF" + headerAll + "\r\n")
	var n, settle, refund, fee, requested int64
	for _, l := range lines {
		b.WriteString("`" + l.text() + "\r\n")
		if l.raw != "" {
			continue
		}
		n++
		fee += l.feeMilli
		if l.refundID != "" {
			refund += l.amount
			requested += l.amount
		} else {
			settle += l.amount
		}
	}
	b.WriteString("总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n")
	fmt.Fprintf(&b, "`%d,`%s,`%s,`0.00,`%s,`%s,`%s\r\n", n, wxpay.FormatFen(settle), wxpay.FormatFen(refund),
		wxpay.FormatMilliFen(fee), wxpay.FormatFen(settle), wxpay.FormatFen(requested))
	return b.String()
}

// ledgerCSV is our side in the CSV format with the optional status column.
func ledgerCSV(rows ...string) string {
	return "kind,out_trade_no,transaction_id,out_refund_no,refund_id,amount_fen,fee_fen,occurred_at,status\n" +
		strings.Join(rows, "\n") + "\n"
}

// fakeRepairer is billing's repair port as a test double: it records every call
// and confirms what it was told WeChat has.
type fakeRepairer struct {
	mu      sync.Mutex
	calls   []reconciliation.RepairRequest
	confirm func(context.Context, reconciliation.RepairRequest) (bool, error)
}

func (f *fakeRepairer) Repair(ctx context.Context, req reconciliation.RepairRequest) (bool, error) {
	f.mu.Lock()
	f.calls = append(f.calls, req)
	f.mu.Unlock()
	if f.confirm == nil {
		return true, nil
	}
	return f.confirm(ctx, req)
}

func (f *fakeRepairer) Calls() []reconciliation.RepairRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]reconciliation.RepairRequest(nil), f.calls...)
}

// byKey indexes exceptions by class and our number ("missing_ours TD2").
func byKey(excs []reconciliation.Exception) map[string]reconciliation.Exception {
	out := map[string]reconciliation.Exception{}
	for _, e := range excs {
		no := e.OutTradeNo
		if e.Kind == reconciliation.KindRefund {
			no = e.OutRefundNo
		}
		k := e.Class.String() + " " + no
		if _, dup := out[k]; dup {
			k += "#2"
		}
		out[k] = e
	}
	return out
}

// checkSums: the bill's side of every class adds up to the parser's totals.
func checkSums(t *testing.T, run reconciliation.Run) {
	t.Helper()
	var s reconciliation.ClassStats
	for _, c := range run.Classes {
		s.BillLines += c.BillLines
		s.OrderFen += c.OrderFen
		s.SettlementFen += c.SettlementFen
		s.RefundFen += c.RefundFen
		s.RequestedRefundFen += c.RequestedRefundFen
		s.FeeMilliFen += c.FeeMilliFen
	}
	tot := run.Totals
	if s.BillLines != tot.Count || s.OrderFen != tot.OrderAmount || s.SettlementFen != tot.SettlementTotal ||
		s.RefundFen != tot.RefundAmount || s.RequestedRefundFen != tot.RequestedRefund || s.FeeMilliFen != tot.FeeMilliFen {
		t.Fatalf("class sums %+v do not add up to the bill's totals %+v", s, tot)
	}
	dup := run.Classes[reconciliation.ClassDuplicate]
	if run.NetMilliFen != (tot.SettlementTotal-tot.RefundAmount-dup.SettlementFen+dup.RefundFen)*1000-(tot.FeeMilliFen-dup.FeeMilliFen) {
		t.Fatalf("net %d", run.NetMilliFen)
	}
}

func shanghai(s string) time.Time {
	t, err := time.ParseInLocation(time.DateTime, s, wxpay.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}
