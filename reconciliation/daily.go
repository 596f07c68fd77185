package reconciliation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tandemcrm/tandem/reconciliation/internal/recondb"
	"github.com/tandemcrm/tandem/shared/domain"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// TaskDaily is the type of the daily reconciliation task.
const TaskDaily = "reconciliation:daily"

// DailyLookback is how many past days the daily task makes sure have their run of
// record: yesterday, and the days before it a failed or missed run left without one.
const DailyLookback = 3

// dailyTask runs every 30 minutes from 10:05 to 23:35 Asia/Shanghai (WeChat's bills
// are ready after 10:00): the first run that finds a day's bill reconciles it; while
// WeChat says STATEMENT_CREATING the next run tries again.
func (s *Service) dailyTask() domain.Task {
	return domain.Task{Type: TaskDaily, Cron: "5,35 10-23 * * *", Unique: 30 * time.Minute, Queue: "critical",
		Help: "reconcile yesterday's bill of every merchant account (again every 30 min while WeChat is making it)",
		Handle: func(ctx context.Context, _ []byte) error {
			_, err := s.Daily(ctx)
			return err
		}}
}

// DailyOutcome is what the daily task did for one account and date.
type DailyOutcome struct {
	MchID string
	Date  string
	// Done is "reconciled", "no_bill" (reconciled from our side), "not_ready"
	// (STATEMENT_CREATING: the next run tries again), "had_run" or "failed".
	Done  string
	State RunState // of the run made, when one was
}

// Daily makes sure each of the last DailyLookback days of every merchant account
// has its run of record (an ALL run): it downloads the day's bill and reconciles
// it; a day WeChat has no bill for (NO_STATEMENT_EXIST: no trade that day) is
// reconciled from our side alone, so a payment only we have is still reported.
func (s *Service) Daily(ctx context.Context) ([]DailyOutcome, error) {
	if s.ports.Ledger == nil {
		return nil, nil
	}
	today := s.now().In(wxpay.Shanghai)
	var out []DailyOutcome
	var failed []error
	for _, client := range s.ports.Accounts {
		for back := DailyLookback; back >= 1; back-- {
			date := today.AddDate(0, 0, -back).Format(wxpay.BillDateLayout)
			o, err := s.daily(ctx, client, date)
			if err != nil {
				failed = append(failed, err)
				o.Done = "failed"
			}
			out = append(out, o)
		}
	}
	return out, errors.Join(failed...)
}

func (s *Service) daily(ctx context.Context, client *wxpay.Client, date string) (DailyOutcome, error) {
	o := DailyOutcome{MchID: client.MchID(), Date: date}
	from, _, _ := dayWindow(date)
	had, err := recondb.New(s.db).HasRunOfRecord(ctx, recondb.HasRunOfRecordParams{Mchid: o.MchID, BillDate: dbDate(from)})
	if err != nil {
		return o, fmt.Errorf("reconciliation %s: %w", date, pg.Classify(err))
	}
	if had {
		o.Done = "had_run"
		return o, nil
	}
	rep, err := s.RunDownload(ctx, client, date, s.ports.Ledger)
	switch {
	case errs.Is(err, wxpay.CodeStatementCreating):
		s.log.InfoContext(ctx, "reconciliation: WeChat is still making the bill; the next run tries again", "mchid", o.MchID, "date", date)
		o.Done = "not_ready"
		return o, nil
	case errs.Is(err, wxpay.CodeNoStatementExist):
		if rep, err = s.RunNoBill(ctx, o.MchID, date, s.ports.Ledger); err != nil {
			return o, err
		}
		o.Done, o.State = "no_bill", rep.Run.State
		return o, nil
	case err != nil:
		return o, err
	}
	o.Done, o.State = "reconciled", rep.Run.State
	s.fundFlowAfter(ctx, client, date)
	return o, nil
}

// fundFlowAfter reconciles the day's fund-flow bill once its trade bill's run is
// made (the fees it checks were booked from the trade bill). Its failure is logged,
// not the day's: the trade run is the run of record.
func (s *Service) fundFlowAfter(ctx context.Context, client *wxpay.Client, date string) {
	if _, err := s.RunFundFlowDownload(ctx, client, date, s.ports.Ledger); err != nil {
		s.log.WarnContext(ctx, "reconciliation: the fund-flow bill was not reconciled", "mchid", client.MchID(), "date", date, "err", err)
	}
}

// RunNoBill reconciles a day WeChat has no bill for (NO_STATEMENT_EXIST) from our
// side alone: against an empty ALL bill, every record we have of the day is
// missing_wechat (or carried when at the day's edge).
func (s *Service) RunNoBill(ctx context.Context, mchid, date string, ledger LedgerSource) (*Report, error) {
	return s.reconcile(ctx, mchid, date, SourceNoBill, ledger, func() (io.Reader, error) { return strings.NewReader(emptyAllBill), nil })
}

// emptyAllBill is an ALL trade bill of no lines (shared/wxpay/WECHATPAY.md e).
const emptyAllBill = "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类," +
	"应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额," +
	"申请退款金额,费率备注\n" +
	"总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额\n" +
	"`0,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00\n"
