package wxsim

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var errNotFound = errors.New("not found")

// order is a row of wxsim.transactions: an order from prepay on, with the
// transaction id WeChat reveals once it is paid.
type order struct {
	TransactionID string
	MchID         string
	AppID         string
	OutTradeNo    string
	TradeType     string
	PrepayID      string
	CodeURL       string
	Description   string
	Attach        string
	NotifyURL     string
	Total         int64
	Currency      string
	PayerOpenID   string
	TimeExpire    *time.Time
	RequestDigest string
	TradeState    string
	BankType      string
	SuccessTime   *time.Time
	Fee           int64
	FeeRate       string
	CreatedAt     time.Time
	ClosedAt      *time.Time
}

const orderColumns = `transaction_id, mchid, appid, out_trade_no, trade_type, prepay_id, code_url,
	description, attach, notify_url, total, currency, payer_openid, time_expire, request_digest,
	trade_state, bank_type, success_time, fee, fee_rate, created_at, closed_at`

func (o *order) fields() []any {
	return []any{&o.TransactionID, &o.MchID, &o.AppID, &o.OutTradeNo, &o.TradeType, &o.PrepayID, &o.CodeURL,
		&o.Description, &o.Attach, &o.NotifyURL, &o.Total, &o.Currency, &o.PayerOpenID, &o.TimeExpire,
		&o.RequestDigest, &o.TradeState, &o.BankType, &o.SuccessTime, &o.Fee, &o.FeeRate, &o.CreatedAt, &o.ClosedAt}
}

func scanOrder(row pgx.Row) (*order, error) {
	var o order
	if err := row.Scan(o.fields()...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errNotFound
		}
		return nil, err
	}
	return &o, nil
}

// insertOrder stores a new order; when (mchid, out_trade_no) exists it returns
// the existing one instead and inserted=false.
func insertOrder(ctx context.Context, q querier, o *order) (stored *order, inserted bool, err error) {
	stored, err = scanOrder(q.QueryRow(ctx, `INSERT INTO wxsim.transactions (`+orderColumns+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)
		ON CONFLICT (mchid, out_trade_no) DO NOTHING RETURNING `+orderColumns, o.fields()...))
	if err == nil {
		return stored, true, nil
	}
	if !errors.Is(err, errNotFound) {
		return nil, false, err
	}
	stored, err = orderByOutTradeNo(ctx, q, o.MchID, o.OutTradeNo, false)
	return stored, false, err
}

func orderByOutTradeNo(ctx context.Context, q querier, mchID, outTradeNo string, lock bool) (*order, error) {
	return scanOrder(q.QueryRow(ctx, `SELECT `+orderColumns+` FROM wxsim.transactions
		WHERE mchid = $1 AND out_trade_no = $2`+forUpdate(lock), mchID, outTradeNo))
}

// orderByTransactionID finds a paid order: WeChat knows an unpaid one only by
// out_trade_no ("若订单未支付，则只能使用商户订单号查询订单").
func orderByTransactionID(ctx context.Context, q querier, mchID, transactionID string, lock bool) (*order, error) {
	return scanOrder(q.QueryRow(ctx, `SELECT `+orderColumns+` FROM wxsim.transactions
		WHERE mchid = $1 AND transaction_id = $2 AND success_time IS NOT NULL`+forUpdate(lock), mchID, transactionID))
}

func forUpdate(lock bool) string {
	if lock {
		return " FOR UPDATE"
	}
	return ""
}

func markPaid(ctx context.Context, q querier, o *order) error {
	_, err := q.Exec(ctx, `UPDATE wxsim.transactions SET trade_state = 'SUCCESS', payer_openid = $2,
		bank_type = $3, success_time = $4, fee = $5, fee_rate = $6 WHERE transaction_id = $1`,
		o.TransactionID, o.PayerOpenID, o.BankType, o.SuccessTime, o.Fee, o.FeeRate)
	return err
}

func setTradeState(ctx context.Context, q querier, transactionID, state string, closedAt *time.Time) error {
	_, err := q.Exec(ctx, `UPDATE wxsim.transactions SET trade_state = $2, closed_at = COALESCE($3, closed_at)
		WHERE transaction_id = $1`, transactionID, state, closedAt)
	return err
}

// refund is a row of wxsim.refunds.
type refund struct {
	RefundID            string
	MchID               string
	OutRefundNo         string
	TransactionID       string
	Amount              int64
	ReturnedFee         int64
	Reason              string
	NotifyURL           string
	Status              string
	Channel             string
	UserReceivedAccount string
	FundsAccount        string
	Source              string
	CreatedAt           time.Time
	SuccessTime         *time.Time
}

const refundColumns = `refund_id, mchid, out_refund_no, transaction_id, amount, returned_fee, reason,
	notify_url, status, channel, user_received_account, funds_account, source, created_at, success_time`

func (r *refund) fields() []any {
	return []any{&r.RefundID, &r.MchID, &r.OutRefundNo, &r.TransactionID, &r.Amount, &r.ReturnedFee, &r.Reason,
		&r.NotifyURL, &r.Status, &r.Channel, &r.UserReceivedAccount, &r.FundsAccount, &r.Source, &r.CreatedAt,
		&r.SuccessTime}
}

func scanRefund(row pgx.Row) (*refund, error) {
	var r refund
	if err := row.Scan(r.fields()...); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, errNotFound
		}
		return nil, err
	}
	return &r, nil
}

func insertRefund(ctx context.Context, q querier, r *refund) error {
	_, err := q.Exec(ctx, `INSERT INTO wxsim.refunds (`+refundColumns+`)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)`, r.fields()...)
	return err
}

func refundByOutRefundNo(ctx context.Context, q querier, mchID, outRefundNo string, lock bool) (*refund, error) {
	return scanRefund(q.QueryRow(ctx, `SELECT `+refundColumns+` FROM wxsim.refunds
		WHERE mchid = $1 AND out_refund_no = $2`+forUpdate(lock), mchID, outRefundNo))
}

// refundedSoFar sums the refunds of a transaction that hold or moved money
// (a CLOSED refund gave its amount back to the refundable balance).
func refundedSoFar(ctx context.Context, q querier, transactionID string) (amount, returnedFee int64, err error) {
	err = q.QueryRow(ctx, `SELECT COALESCE(sum(amount), 0), COALESCE(sum(returned_fee), 0) FROM wxsim.refunds
		WHERE transaction_id = $1 AND status <> 'CLOSED'`, transactionID).Scan(&amount, &returnedFee)
	return amount, returnedFee, err
}

func setRefundStatus(ctx context.Context, q querier, refundID, status string, successTime *time.Time) error {
	_, err := q.Exec(ctx, `UPDATE wxsim.refunds SET status = $2, success_time = $3 WHERE refund_id = $1`,
		refundID, status, successTime)
	return err
}

func nextSeq(ctx context.Context, q querier) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT nextval('wxsim.id_seq')`).Scan(&n)
	return n, err
}

// fundFlow is a row of wxsim.fund_flows: one movement of money on one account.
type fundFlow struct {
	FlowNo    string
	MchID     string
	Account   string
	BookedAt  time.Time
	BizNo     string
	BizName   string
	BizType   string
	Direction string
	Amount    int64
	Applicant string
	Remark    string
	VoucherNo string
}

func insertFlow(ctx context.Context, q querier, f fundFlow) error {
	seq, err := nextSeq(ctx, q)
	if err != nil {
		return err
	}
	f.FlowNo = flowNo(f.BookedAt, seq)
	_, err = q.Exec(ctx, `INSERT INTO wxsim.fund_flows (flow_no, mchid, account, booked_at, biz_no, biz_name,
		biz_type, direction, amount, applicant, remark, voucher_no) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`,
		f.FlowNo, f.MchID, f.Account, f.BookedAt, f.BizNo, f.BizName, f.BizType, f.Direction, f.Amount,
		f.Applicant, f.Remark, f.VoucherNo)
	return err
}
