package wxpay_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/wxpay"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim"
	"github.com/tandemcrm/tandem/shared/wxpay/wxsim/wxsimtest"
)

const billDay = "2025-03-14"

func at(day string, hms string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", day+" "+hms, wxpay.Shanghai)
	if err != nil {
		panic(err)
	}
	return t
}

// seedBillDay makes a day of activity through the real API and the control API:
// payments at various times, partial and full refunds (settled, processing and
// closed), and a refund today of yesterday's payment.
func seedBillDay(t *testing.T, env *wxsimtest.Env, c *wxpay.Client) {
	t.Helper()
	ctx := context.Background()
	env.Sim.Clock().Set(at("2025-03-13", "20:00:00"), true)
	newOrder := func(no string, total int64, payAt time.Time) {
		t.Helper()
		if _, err := c.PrepayNative(ctx, order(no, total, "https://tandem.example/notify")); err != nil {
			t.Fatal(err)
		}
		env.Control("POST", "/sim/pay", map[string]any{"out_trade_no": no, "at": payAt}, nil)
	}
	refund := func(no, refundNo string, amount, total int64, settle string) {
		t.Helper()
		if _, err := c.CreateRefund(ctx, wxpay.RefundRequest{OutTradeNo: no, OutRefundNo: refundNo,
			NotifyURL: "https://tandem.example/notify", Refund: amount, Total: total}); err != nil {
			t.Fatal(err)
		}
		if settle != "" {
			env.Control("POST", "/sim/refunds/settle", map[string]string{"out_refund_no": refundNo, "status": settle}, nil)
		}
	}
	newOrder("TD20250313000001", 26000, at("2025-03-13", "21:00:00"))
	env.Sim.Clock().Set(at(billDay, "08:00:00"), true)
	refund("TD20250313000001", "RF20250314000001", 26000, 26000, "SUCCESS") // yesterday's payment, full
	for i, total := range []int64{600, 1, 99999, 12345, 250} {
		newOrder(fmt.Sprintf("TD2025031400%04d", i+1), total, at(billDay, fmt.Sprintf("%02d:30:00", 9+i)))
	}
	env.Sim.Clock().Set(at(billDay, "18:00:00"), true)
	refund("TD20250314000003", "RF20250314000002", 30000, 99999, "SUCCESS") // partial
	refund("TD20250314000003", "RF20250314000003", 69999, 99999, "SUCCESS") // the rest: returns what is left of the fee
	refund("TD20250314000004", "RF20250314000004", 45, 12345, "")           // still processing
	refund("TD20250314000005", "RF20250314000005", 250, 250, "CLOSED")
	env.Sim.Clock().Set(at("2025-03-15", "11:00:00"), true)
}

// recordTotals is what the simulator's own record says the trade bill must sum to.
func recordTotals(t *testing.T, env *wxsimtest.Env, typ wxpay.TradeBillType) wxpay.TradeTotals {
	t.Helper()
	from, to := at(billDay, "00:00:00"), at(billDay, "00:00:00").AddDate(0, 0, 1)
	var pay, ref wxpay.TradeTotals
	var payFee, refFee int64
	ctx := context.Background()
	if err := env.DB.QueryRow(ctx, `SELECT count(*), COALESCE(sum(total), 0), COALESCE(sum(fee), 0)
		FROM wxsim.transactions WHERE success_time >= $1 AND success_time < $2`, from, to).Scan(&pay.Count, &pay.SettlementTotal, &payFee); err != nil {
		t.Fatal(err)
	}
	if err := env.DB.QueryRow(ctx, `SELECT count(*), COALESCE(sum(amount), 0), COALESCE(sum(returned_fee), 0)
		FROM wxsim.refunds WHERE created_at >= $1 AND created_at < $2`, from, to).Scan(&ref.Count, &ref.RefundAmount, &refFee); err != nil {
		t.Fatal(err)
	}
	pay.OrderAmount, pay.FeeMilliFen = pay.SettlementTotal, payFee*1000
	ref.RequestedRefund, ref.FeeMilliFen = ref.RefundAmount, -refFee*1000
	switch typ {
	case wxpay.TradeBillSuccess:
		return pay
	case wxpay.TradeBillRefund:
		return ref
	}
	return wxpay.TradeTotals{Count: pay.Count + ref.Count, SettlementTotal: pay.SettlementTotal,
		RefundAmount: ref.RefundAmount, FeeMilliFen: pay.FeeMilliFen + ref.FeeMilliFen,
		OrderAmount: pay.OrderAmount, RequestedRefund: ref.RequestedRefund}
}

// TestTradeBillsMatchRecord: every trade bill type, gzip or not, downloaded by
// the client (hash verified) and parsed back to the simulator's record.
func TestTradeBillsMatchRecord(t *testing.T) {
	for _, mode := range []wxsimtest.Mode{wxsimtest.ModeCert, wxsimtest.ModePublicKey} {
		for _, lf := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/lf=%v", mode, lf), func(t *testing.T) {
				env := wxsimtest.New(t, mode, wxsim.Config{BillLF: lf, BillNoBOM: lf})
				c := env.Client()
				seedBillDay(t, env, c)
				for _, typ := range []wxpay.TradeBillType{wxpay.TradeBillAll, wxpay.TradeBillSuccess, wxpay.TradeBillRefund} {
					for _, gz := range []bool{false, true} {
						var file bytes.Buffer
						info, err := c.DownloadTradeBill(context.Background(), wxpay.TradeBillRequest{Date: billDay, Type: typ, Gzip: gz}, &file)
						if err != nil {
							t.Fatalf("%s gzip=%v: %v", typ, gz, err)
						}
						if info.Size != int64(file.Len()) || len(info.HashValue) != 40 {
							t.Fatalf("%s: %+v for %d bytes", typ, info, file.Len())
						}
						if strings.HasPrefix(file.String(), "\uFEFF") == lf || strings.Contains(file.String(), "\r\n") == lf {
							t.Fatalf("%s: BOM/CRLF not as configured", typ)
						}
						r, err := wxpay.NewTradeBillReader(&file)
						if err != nil {
							t.Fatal(err)
						}
						if r.Type() != typ {
							t.Fatalf("detected %s, want %s", r.Type(), typ)
						}
						lines := map[string]int{}
						for r.Next() {
							l := r.Line()
							lines[l.TradeState]++
							if l.MchID != env.Merchant.MchID || l.TradeTime.IsZero() || l.FeeRate != "0.60%" {
								t.Fatalf("line: %s", l)
							}
							if l.IsRefund() && (l.FeeMilliFen > 0 || l.SettlementTotal != 0 || l.RefundID == "0") {
								t.Fatalf("refund line: %s", l)
							}
						}
						if r.Err() != nil || r.ProblemCount() != 0 {
							t.Fatalf("%s: err %v, problems %v", typ, r.Err(), r.Problems())
						}
						want := recordTotals(t, env, typ)
						sum, ok := r.Summary()
						if !ok || r.Totals() != want || sum.Count != want.Count || sum.FeeMilliFen != want.FeeMilliFen {
							t.Fatalf("%s: lines %+v, summary %+v, record %+v", typ, r.Totals(), sum, want)
						}
						if typ == wxpay.TradeBillAll && (lines["SUCCESS"] != 5 || lines["REFUND"] != 5) {
							t.Fatalf("ALL lines by state: %v", lines)
						}
					}
				}
			})
		}
	}
}

// TestFundFlowBillsMatchRecord: BASIC, FEES (fees booked separately) and an
// empty OPERATION account.
func TestFundFlowBillsMatchRecord(t *testing.T) {
	for _, feesAccount := range []bool{false, true} {
		t.Run(fmt.Sprintf("fees_account=%v", feesAccount), func(t *testing.T) {
			env := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{FeesAccount: feesAccount})
			c := env.Client()
			seedBillDay(t, env, c)
			accounts := []wxpay.FundAccount{wxpay.FundAccountBasic}
			if feesAccount {
				accounts = append(accounts, wxpay.FundAccountFees)
			}
			for _, acct := range accounts {
				for _, gz := range []bool{false, true} {
					var file bytes.Buffer
					if _, err := c.DownloadFundFlowBill(context.Background(), wxpay.FundFlowBillRequest{Date: billDay, Account: acct, Gzip: gz}, &file); err != nil {
						t.Fatalf("%s: %v", acct, err)
					}
					r, err := wxpay.NewFundFlowBillReader(&file)
					if err != nil {
						t.Fatal(err)
					}
					var last wxpay.FundFlowLine
					for r.Next() {
						last = *r.Line()
					}
					if r.Err() != nil || r.ProblemCount() != 0 {
						t.Fatalf("%s: %v %v", acct, r.Err(), r.Problems())
					}
					var want wxpay.FundFlowTotals
					var closing int64
					if err := env.DB.QueryRow(context.Background(), `SELECT
							count(*) FILTER (WHERE booked_at >= $2),
							count(*) FILTER (WHERE booked_at >= $2 AND direction = '收入'),
							COALESCE(sum(amount) FILTER (WHERE booked_at >= $2 AND direction = '收入'), 0),
							count(*) FILTER (WHERE booked_at >= $2 AND direction = '支出'),
							COALESCE(sum(amount) FILTER (WHERE booked_at >= $2 AND direction = '支出'), 0),
							COALESCE(sum(CASE direction WHEN '收入' THEN amount ELSE -amount END), 0)
						FROM wxsim.fund_flows WHERE account = $1 AND booked_at < $3`,
						string(acct), at(billDay, "00:00:00"), at("2025-03-15", "00:00:00")).Scan(
						&want.Count, &want.IncomeCount, &want.IncomeAmount, &want.ExpenseCount, &want.ExpenseAmount, &closing); err != nil {
						t.Fatal(err)
					}
					if sum, _ := r.Summary(); r.Totals() != want || sum != want || last.Balance != closing || want.Count == 0 {
						t.Fatalf("%s: lines %+v summary %+v record %+v; balance %d, record %d", acct, r.Totals(), sum, want, last.Balance, closing)
					}
				}
			}
			var sink bytes.Buffer
			_, err := c.DownloadFundFlowBill(context.Background(), wxpay.FundFlowBillRequest{Date: billDay, Account: wxpay.FundAccountOperation}, &sink)
			wantCode(t, err, wxpay.CodeNoStatementExist, errs.KindNotFound)
		})
	}
}

// corruptingTransport flips one byte of every bill file on its way.
type corruptingTransport struct{ next http.RoundTripper }

func (c corruptingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err != nil || r.URL.Path != "/v3/billdownload/file" {
		return resp, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b[len(b)/2] ^= 1
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// TestBillAvailability: no activity, not yet generated, and a corrupted file.
func TestBillAvailability(t *testing.T) {
	env := wxsimtest.New(t, wxsimtest.ModeCert, wxsim.Config{})
	c := env.Client()
	seedBillDay(t, env, c)
	ctx := context.Background()
	var sink bytes.Buffer

	_, err := c.DownloadTradeBill(ctx, wxpay.TradeBillRequest{Date: "2025-03-12"}, &sink)
	wantCode(t, err, wxpay.CodeNoStatementExist, errs.KindNotFound)

	env.Sim.Clock().Set(at("2025-03-15", "09:59:59"), true)
	_, err = c.DownloadTradeBill(ctx, wxpay.TradeBillRequest{Date: billDay}, &sink)
	wantCode(t, err, wxpay.CodeStatementCreating, errs.KindUnavailable)
	_, err = c.DownloadTradeBill(ctx, wxpay.TradeBillRequest{Date: "2025-03-15"}, &sink)
	wantCode(t, err, wxpay.CodeStatementCreating, errs.KindUnavailable)
	_, err = c.DownloadTradeBill(ctx, wxpay.TradeBillRequest{Date: "2025-03-14x"}, &sink)
	wantCode(t, err, "invalid_input", errs.KindInvalid)

	env.Sim.Clock().Set(at("2025-03-15", "10:00:00"), true)
	for _, gz := range []bool{false, true} {
		sink.Reset()
		bad := env.Client(wxpay.WithHTTPClient(&http.Client{Transport: corruptingTransport{http.DefaultTransport}}))
		_, err = bad.DownloadTradeBill(ctx, wxpay.TradeBillRequest{Date: billDay, Gzip: gz}, &sink)
		wantCode(t, err, wxpay.CodeBillHashMismatch, errs.KindUnavailable)
	}
}
