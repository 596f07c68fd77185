package wxpay_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/wxpay"
)

const allHeader = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注"

// sampleAll is an ALL bill shaped like the real 2024 download in shared/wxpay/WECHATPAY.md e
// (BOM, CRLF): a payment whose goods name holds a comma, and two refunds of it
// with the fee returned negative.
var sampleAll = "\uFEFF" + allHeader + "\r\n" +
	"`2024-01-16 10:49:30,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200002104202401162683911111,`P202401160001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`6.00,`0.00,`0,`0,`0.00,`0.00,`,`,`咖啡, 大杯,`a=1,`0.04000,`0.60%,`6.00,`0.00,`\r\n" +
	"`2024-01-16 11:02:01,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200002104202401162683911111,`P202401160001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50302208372024011645931111,`R202401160001,`0.01,`0.00,`ORIGINAL,`SUCCESS,`咖啡, 大杯,`a=1,`0.00000,`0.60%,`0.00,`0.01,`\r\n" +
	"`2024-01-16 12:00:00,`wx2421b1c4370ec43b,`1900000109,`0,`,`4200002104202401162683911111,`P202401160001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50302208372024011645932222,`R202401160002,`5.99,`0.00,`ORIGINAL,`SUCCESS,`咖啡, 大杯,`a=1,`-0.04000,`0.60%,`0.00,`5.99,`\r\n" +
	"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\r\n" +
	"`3,`6.00,`6.00,`0.00,`0.00000,`6.00,`6.00\r\n"

func readAll(t *testing.T, data string) (*wxpay.TradeBillReader, []wxpay.TradeLine) {
	t.Helper()
	r, err := wxpay.NewTradeBillReader(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var lines []wxpay.TradeLine
	for r.Next() {
		lines = append(lines, *r.Line())
	}
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	return r, lines
}

func TestParseTradeBillSample(t *testing.T) {
	for name, data := range map[string]string{
		"BOM CRLF":         sampleAll,
		"LF no BOM":        strings.ReplaceAll(strings.TrimPrefix(sampleAll, "\uFEFF"), "\r\n", "\n"),
		"no final newline": strings.TrimSuffix(sampleAll, "\r\n"),
	} {
		t.Run(name, func(t *testing.T) {
			r, lines := readAll(t, data)
			if r.ProblemCount() != 0 || r.Type() != wxpay.TradeBillAll || len(lines) != 3 {
				t.Fatalf("type %s, %d lines, problems %v", r.Type(), len(lines), r.Problems())
			}
			p := lines[0]
			want := wxpay.TradeLine{LineNo: 2, TradeTime: time.Date(2024, 1, 16, 10, 49, 30, 0, wxpay.Shanghai),
				AppID: "wx2421b1c4370ec43b", MchID: "1900000109", SubMchID: "0", TransactionID: "4200002104202401162683911111",
				OutTradeNo: "P202401160001", OpenID: "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", TradeType: "JSAPI", TradeState: "SUCCESS",
				BankType: "OTHERS", Currency: "CNY", SettlementTotal: 600, RefundID: "0", OutRefundNo: "0",
				Body: "咖啡, 大杯", Attach: "a=1", FeeMilliFen: 4000, FeeRate: "0.60%", OrderAmount: 600}
			if p != want {
				t.Fatalf("payment line\n got %+v\nwant %+v", p, want)
			}
			if rf := lines[2]; !rf.IsRefund() || rf.RefundAmount != 599 || rf.RequestedRefund != 599 || rf.FeeMilliFen != -4000 ||
				rf.RefundID != "50302208372024011645932222" || rf.RefundStatus != "SUCCESS" || rf.LineNo != 4 {
				t.Fatalf("refund line %+v", rf)
			}
			sum, ok := r.Summary()
			if !ok || sum != r.Totals() || sum.Count != 3 || sum.RefundAmount != 600 {
				t.Fatalf("summary %+v, totals %+v", sum, r.Totals())
			}
		})
	}
}

func TestParseGzipDetected(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(sampleAll))
	zw.Close()
	r, err := wxpay.NewTradeBillReader(&z)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r.Next() {
		n++
	}
	if n != 3 || r.ProblemCount() != 0 || r.Err() != nil {
		t.Fatalf("%d lines, %v %v", n, r.Problems(), r.Err())
	}
}

// TestParseLayouts: the SUCCESS bill with the document's 4-column summary and
// with the 7-column one real downloads have; the legacy 24-column layout.
func TestParseLayouts(t *testing.T) {
	success := "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,商品名称,商户数据包,手续费,费率,订单金额,费率备注\n" +
		"`2019-11-04 09:30:00,`wx1,`1900000109,`0,`,`4200000001,`T1,`o1,`NATIVE,`SUCCESS,`CMB_DEBIT,`CNY,`260.00,`0.00,`g,`,`1.56000,`0.60%,`260.00,`\n"
	for name, tc := range map[string]struct {
		data string
		typ  wxpay.TradeBillType
	}{
		"success 4-column summary": {success + "总交易单数,应结订单总金额,手续费总金额,订单总金额\n`1,`260.00,`1.56000,`260.00\n", wxpay.TradeBillSuccess},
		"success 7-column summary": {success + "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`260.00,`0.00,`0.00,`1.56000,`260.00,`0.00\n", wxpay.TradeBillSuccess},
		"legacy 24 columns": {"交易时间,公众账号ID,商户号,子商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,总金额,企业红包金额,微信退款单号,商户退款单号,退款金额,企业红包退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率\n" +
			"`2018-05-10 08:00:00,`wx1,`1900000109,`0,`,`4200000002,`T2,`o2,`JSAPI,`SUCCESS,`OTHERS,`CNY,`260.00,`0.00,`0,`0,`0.00,`0.00,`,`,`g,`,`1.56000,`0.60%\n" +
			"总交易单数,总交易额,总退款金额,总企业红包退款金额,手续费总金额\n`1,`260.00,`0.00,`0.00,`1.56000\n", wxpay.TradeBillAll},
		"refund 29 columns": {"交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,退款申请时间,退款成功时间,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注\n" +
			"`2020-03-01 10:00:00,`wx1,`1900000109,`0,`,`4200000003,`T3,`o3,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`2020-03-02 10:00:00,`,`503001,`R3,`260.00,`0.00,`ORIGINAL,`PROCESSING,`g,`,`-1.56000,`0.60%,`0.00,`260.00,`\n" +
			"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n`1,`0.00,`260.00,`0.00,`-1.56000,`0.00,`260.00\n", wxpay.TradeBillRefund},
	} {
		t.Run(name, func(t *testing.T) {
			r, lines := readAll(t, tc.data)
			if r.ProblemCount() != 0 || r.Type() != tc.typ || len(lines) != 1 {
				t.Fatalf("type %s, %d lines, problems %v", r.Type(), len(lines), r.Problems())
			}
			l := lines[0]
			if l.IsRefund() {
				if l.RefundApplyTime.IsZero() || !l.RefundSuccessTime.IsZero() || l.FeeMilliFen != -156000 {
					t.Fatalf("refund line %+v", l)
				}
			} else if l.SettlementTotal != 26000 || l.OrderAmount != 26000 || l.FeeMilliFen != 156000 {
				t.Fatalf("line %+v", l)
			}
		})
	}
}

// TestParseReportsMalformedLines: bad lines are reported with their numbers
// and skipped; the parse goes on and the summary check notices them.
func TestParseReportsMalformedLines(t *testing.T) {
	lines := strings.Split(strings.ReplaceAll(sampleAll, "\r\n", "\n"), "\n")
	bad := []string{lines[0], lines[1],
		strings.Replace(lines[1], "`6.00,", "`6.0x,", 1),                             // line 3: bad amount
		strings.Replace(lines[1], "`2024-01-16 10:49:30", "`2024-02-30 10:49:30", 1), // line 4: no such day
		"`too,`few,`fields", // line 5
		strings.Replace(lines[2], "`0.01,", "`0.011,", 1), // line 6: three decimals
		lines[3], lines[4], lines[5], "`trailing"} // line 10 after the summary
	r, got := readAll(t, strings.Join(bad, "\n"))
	if len(got) != 2 || got[0].LineNo != 2 || got[1].LineNo != 7 {
		t.Fatalf("good lines %v", got)
	}
	// Lines 3 to 6 are bad; the summary on line 9 no longer adds up (three of its
	// figures: count, refunds, requested refunds); line 10 follows the summary.
	want := []int{3, 4, 5, 6, 9, 9, 9, 10}
	var lineNos []int
	for _, p := range r.Problems() {
		lineNos = append(lineNos, p.Line)
	}
	if len(lineNos) != len(want) {
		t.Fatalf("problems %v", r.Problems())
	}
	for i := range want {
		if lineNos[i] != want[i] {
			t.Fatalf("problem lines %v, want %v (%v)", lineNos, want, r.Problems())
		}
	}
	if !strings.Contains(r.Problems()[0].Reason, "应结订单金额") || !strings.Contains(r.Problems()[4].Reason, "总交易单数") {
		t.Fatalf("reasons: %v", r.Problems())
	}

	// A file cut short has no summary.
	r, _ = readAll(t, strings.Join(lines[:3], "\n"))
	if r.ProblemCount() != 1 || !strings.Contains(r.Problems()[0].Reason, "no summary") {
		t.Fatalf("truncated: %v", r.Problems())
	}
	// Something else entirely.
	if _, err := wxpay.NewTradeBillReader(strings.NewReader("<html>error</html>")); !errors.Is(err, wxpay.ErrNotABill) {
		t.Fatalf("html: %v", err)
	}
	if _, err := wxpay.NewTradeBillReader(strings.NewReader("")); !errors.Is(err, wxpay.ErrNotABill) {
		t.Fatalf("empty: %v", err)
	}
}

func TestParseFundFlowBill(t *testing.T) {
	data := "\uFEFF记账时间,微信支付业务单号,资金流水单号,业务名称,业务类型,收支类型,收支金额(元),账户结余(元),资金变更提交申请人,备注,业务凭证号\r\n" +
		"`2020-10-06 10:00:00,`4200000001,`5000001,`交易,`交易,`收入,`6.00,`106.00,`system,`,`T1\r\n" +
		"`2020-10-06 10:00:00,`4200000001,`5000002,`交易,`扣除交易手续费,`支出,`0.04,`105.96,`system,`,`T1\r\n" +
		"`2020-10-06 12:00:00,`503001,`5000003,`退款,`退款,`支出,`5.96,`100.00,`1601959334API,`退款总金额6.00元;含手续费0.04元,`R1\r\n" +
		"资金流水总笔数,收入笔数,收入金额,支出笔数,支出金额\r\n`3,`1,`6.00,`2,`6.00\r\n"
	r, err := wxpay.NewFundFlowBillReader(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var last wxpay.FundFlowLine
	for r.Next() {
		last = *r.Line()
	}
	sum, _ := r.Summary()
	if r.ProblemCount() != 0 || sum != r.Totals() || last.Balance != 10000 || last.Remark != "退款总金额6.00元;含手续费0.04元" ||
		last.Applicant != "1601959334API" || last.Direction != wxpay.FlowExpense || last.Amount != 596 {
		t.Fatalf("problems %v, summary %+v totals %+v, last %+v", r.Problems(), sum, r.Totals(), last)
	}
	// The v2 sample writes counts as 20.0.
	r, _ = wxpay.NewFundFlowBillReader(strings.NewReader(strings.Replace(data, "`3,`1,`6.00,`2,", "`3.0,`1.0,`6.00,`2.0,", 1)))
	for r.Next() {
	}
	if r.ProblemCount() != 0 {
		t.Fatalf("v2 counts: %v", r.Problems())
	}
}

func TestFormatFen(t *testing.T) {
	for fen, want := range map[int64]string{0: "0.00", 1: "0.01", -156: "-1.56", 123456789: "1234567.89"} {
		if got := wxpay.FormatFen(fen); got != want {
			t.Errorf("FormatFen(%d) = %s, want %s", fen, got, want)
		}
	}
	if got := wxpay.FormatMilliFen(-156000); got != "-1.56000" {
		t.Errorf("FormatMilliFen = %s", got)
	}
}

// TestParseTrimsValuesAndRequiresColumns: padding around a value is not part of it
// (a trailing space no longer makes the whole day incomplete); a bill without a
// column reconciliation needs is refused whole, not read as zeros.
func TestParseTrimsValuesAndRequiresColumns(t *testing.T) {
	padded := strings.Replace(sampleAll, "`6.00,`0.00,`0,`0,", "`6.00 ,`0.00,`0,`0,", 1)
	padded = strings.Replace(padded, "`0.04000,", "` 0.04000 ,", 1)
	r, lines := readAll(t, padded)
	if r.ProblemCount() != 0 || lines[0].SettlementTotal != 600 || lines[0].FeeMilliFen != 4000 {
		t.Fatalf("padded values: %+v, problems %v", lines[0], r.Problems())
	}
	noFee := strings.Replace(sampleAll, ",手续费,", ",手续费X,", 1)
	if _, err := wxpay.NewTradeBillReader(strings.NewReader(noFee)); !errors.Is(err, wxpay.ErrNotABill) || !strings.Contains(err.Error(), "手续费") {
		t.Fatalf("a bill without 手续费: %v", err)
	}
	noRefundNo := strings.Replace(sampleAll, ",商户退款单号,", ",商户退款号,", 1)
	if _, err := wxpay.NewTradeBillReader(strings.NewReader(noRefundNo)); err == nil || !strings.Contains(err.Error(), "商户退款单号") {
		t.Fatalf("an ALL bill without 商户退款单号: %v", err)
	}
}
