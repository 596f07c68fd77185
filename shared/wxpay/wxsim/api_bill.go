package wxsim

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// billDay checks bill_date against the simulator clock: a day's bills exist
// from 10:00 Asia/Shanghai the next day (generated after 09:00, "fetch after
// 10:00"; before that STATEMENT_CREATING), for three months (shared/wxpay/WECHATPAY.md d).
func (s *Sim) billDay(raw string) (from, to time.Time, resp apiResponse, ok bool) {
	day, err := time.ParseInLocation("2006-01-02", raw, shanghai)
	if err != nil {
		return from, to, paramError("bill_date 格式错误, 应为 yyyy-MM-dd"), false
	}
	now := s.clock.Now().In(shanghai)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, shanghai)
	switch {
	case day.After(today):
		return from, to, paramError("bill_date 不能晚于今天"), false
	case day.Before(today.AddDate(0, -3, 0)):
		return from, to, paramError("只能下载三个月以内的账单"), false
	case now.Before(day.AddDate(0, 0, 1).Add(10 * time.Hour)):
		return from, to, apiError(http.StatusBadRequest, "STATEMENT_CREATING", "账单生成中"), false
	}
	return day, day.AddDate(0, 0, 1), apiResponse{}, true
}

var errNoStatement = apiError(http.StatusBadRequest, "NO_STATEMENT_EXIST", "请求的账单文件不存在")

func (s *Sim) applyTradeBill(req *apiRequest) apiResponse {
	q := req.r.URL.Query()
	typ := q.Get("bill_type")
	switch typ {
	case "":
		typ = "ALL"
	case "ALL", "SUCCESS", "REFUND":
	default:
		return paramError("bill_type 仅支持 ALL, SUCCESS, REFUND")
	}
	from, to, resp, ok := s.billDay(q.Get("bill_date"))
	if !ok {
		return resp
	}
	return s.issueBill(req, q.Get("tar_type"), func(ctx context.Context, w io.Writer) (int, error) {
		return s.writeTradeBill(ctx, w, req.merchant.MchID, typ, from, to)
	})
}

func (s *Sim) applyFundFlowBill(req *apiRequest) apiResponse {
	q := req.r.URL.Query()
	account := q.Get("account_type")
	switch account {
	case "":
		account = "BASIC"
	case "BASIC", "OPERATION", "FEES":
	default:
		return paramError("account_type 仅支持 BASIC, OPERATION, FEES")
	}
	from, to, resp, ok := s.billDay(q.Get("bill_date"))
	if !ok {
		return resp
	}
	return s.issueBill(req, q.Get("tar_type"), func(ctx context.Context, w io.Writer) (int, error) {
		return s.writeFundFlowBill(ctx, w, req.merchant.MchID, account, from, to)
	})
}

// issueBill renders the file, announces its SHA1 (of the uncompressed bytes,
// shared/wxpay/WECHATPAY.md d) and a download URL on WeChat's host that expires.
func (s *Sim) issueBill(req *apiRequest, tarType string, render func(context.Context, io.Writer) (int, error)) apiResponse {
	if tarType != "" && tarType != "GZIP" {
		return paramError("tar_type 仅支持 GZIP")
	}
	ctx := req.r.Context()
	var file bytes.Buffer
	lines, err := render(ctx, &file)
	if err != nil {
		return s.internal(ctx, "bill", err)
	}
	if lines == 0 {
		return errNoStatement
	}
	sum := sha1.Sum(file.Bytes())
	body := file.Bytes()
	if tarType == "GZIP" {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(body) // writes to memory cannot fail
		_ = zw.Close()
		body = z.Bytes()
	}
	token := s.tokens.issue(req.merchant.MchID, body, tarType == "GZIP", s.clock.Now().Add(s.cfg.DownloadURLTTL))
	return jsonResponse(http.StatusOK, map[string]string{
		"hash_type":    "SHA1",
		"hash_value":   hex.EncodeToString(sum[:]),
		"download_url": "https://api.mch.weixin.qq.com/v3/billdownload/file?token=" + url.QueryEscape(token),
	})
}

// downloadBill serves a bill file: the request is signed like any other, the
// answer is not (shared/wxpay/WECHATPAY.md d). An unknown or expired token is
// 400 INVALID_REQUEST (apply again), another merchant's 403 NO_AUTH.
func (s *Sim) downloadBill(req *apiRequest) apiResponse {
	t, ok := s.tokens.get(req.r.URL.Query().Get("token"), s.clock.Now())
	switch {
	case !ok:
		return apiError(http.StatusBadRequest, "INVALID_REQUEST", "下载链接已失效，请重新申请")
	case t.mchID != req.merchant.MchID:
		return apiError(http.StatusForbidden, "NO_AUTH", "无权下载该账单")
	}
	ct := "text/plain; charset=utf-8"
	if t.gzip {
		ct = "application/octet-stream"
	}
	return apiResponse{status: http.StatusOK, body: t.body, contentType: ct, unsigned: true}
}

type downloadToken struct {
	mchID   string
	body    []byte
	gzip    bool
	expires time.Time
}

// downloadTokens keeps issued files until their URL expires.
type downloadTokens struct {
	mu sync.Mutex
	m  map[string]*downloadToken
}

func (d *downloadTokens) issue(mchID string, body []byte, gz bool, expires time.Time) string {
	token := mustNonce() + mustNonce()
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, t := range d.m { // drop expired files so memory stays bounded
		if time.Since(t.expires) > time.Hour {
			delete(d.m, k)
		}
	}
	d.m[token] = &downloadToken{mchID: mchID, body: body, gzip: gz, expires: expires}
	return token
}

func (d *downloadTokens) get(token string, now time.Time) (*downloadToken, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.m[token]
	if !ok || !now.Before(t.expires) {
		return nil, false
	}
	return t, true
}

func (s *Sim) format() fileFormat {
	f := fileFormat{bom: !s.cfg.BillNoBOM, eol: "\r\n"}
	if s.cfg.BillLF {
		f.eol = "\n"
	}
	return f
}

// writeTradeBill writes the trade bill of [from, to) from the record: payments
// by success time, refunds by the time they were accepted, each refund's status
// as it is now (shared/wxpay/WECHATPAY.md e). It returns the number of detail lines.
func (s *Sim) writeTradeBill(ctx context.Context, w io.Writer, mchID, typ string, from, to time.Time) (int, error) {
	bw, err := newTradeBillWriter(w, typ, s.format())
	if err != nil {
		return 0, err
	}
	rows, err := s.db.Query(ctx, `
		SELECT t.success_time, t.appid, t.transaction_id, t.out_trade_no, t.payer_openid, t.trade_type,
		       t.bank_type, t.description, t.attach, t.total, t.fee, t.fee_rate,
		       r.refund_id, r.out_refund_no, r.status, r.amount, r.returned_fee, r.created_at, r.success_time
		FROM (
		    SELECT transaction_id, NULL AS refund_id, success_time AS line_time FROM wxsim.transactions
		    WHERE mchid = $1 AND success_time >= $2 AND success_time < $3 AND $4 <> 'REFUND'
		    UNION ALL
		    SELECT transaction_id, refund_id, created_at FROM wxsim.refunds
		    WHERE mchid = $1 AND created_at >= $2 AND created_at < $3 AND $4 <> 'SUCCESS'
		) l
		JOIN wxsim.transactions t ON t.transaction_id = l.transaction_id
		LEFT JOIN wxsim.refunds r ON r.refund_id = l.refund_id
		ORDER BY l.line_time, l.transaction_id, l.refund_id NULLS FIRST`, mchID, from, to, typ)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var (
			row                           TradeRow
			refundID, outRefundNo, status *string
			amount, returnedFee           *int64
			createdAt                     *time.Time
			refundSuccess                 *time.Time
		)
		if err := rows.Scan(&row.PayTime, &row.AppID, &row.TransactionID, &row.OutTradeNo, &row.OpenID,
			&row.TradeType, &row.BankType, &row.Body, &row.Attach, &row.Total, &row.Fee, &row.FeeRate,
			&refundID, &outRefundNo, &status, &amount, &returnedFee, &createdAt, &refundSuccess); err != nil {
			return n, err
		}
		row.MchID = mchID
		if refundID != nil {
			row.Refund = &TradeRefund{RefundID: *refundID, OutRefundNo: *outRefundNo, Status: *status,
				Amount: *amount, ReturnedFee: *returnedFee, CreatedAt: *createdAt, SuccessTime: refundSuccess}
		}
		if err := bw.write(&row); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, bw.close()
}

// writeFundFlowBill writes one account's movements of [from, to), the balance
// carried from everything booked before.
func (s *Sim) writeFundFlowBill(ctx context.Context, w io.Writer, mchID, account string, from, to time.Time) (int, error) {
	var opening int64
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(sum(CASE direction WHEN '收入' THEN amount ELSE -amount END), 0)
		FROM wxsim.fund_flows WHERE mchid = $1 AND account = $2 AND booked_at < $3`, mchID, account, from).Scan(&opening); err != nil {
		return 0, err
	}
	bw, err := newFundFlowBillWriter(w, s.format(), opening)
	if err != nil {
		return 0, err
	}
	rows, err := s.db.Query(ctx, `SELECT flow_no, booked_at, biz_no, biz_name, biz_type, direction, amount,
		applicant, remark, voucher_no FROM wxsim.fund_flows
		WHERE mchid = $1 AND account = $2 AND booked_at >= $3 AND booked_at < $4
		ORDER BY booked_at, flow_no`, mchID, account, from, to)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var f fundFlow
		if err := rows.Scan(&f.FlowNo, &f.BookedAt, &f.BizNo, &f.BizName, &f.BizType, &f.Direction, &f.Amount,
			&f.Applicant, &f.Remark, &f.VoucherNo); err != nil {
			return n, err
		}
		if err := bw.write(&f); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, bw.close()
}
