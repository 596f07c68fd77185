package wxsim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/shared/pg"
)

// opError is a control-API failure: an HTTP status and a message.
type opError struct {
	status int
	msg    string
}

func (e *opError) Error() string { return e.msg }

func opErrorf(status int, format string, args ...any) error {
	return &opError{status: status, msg: fmt.Sprintf(format, args...)}
}

// PayRequest is a user paying an order (control API POST /sim/pay).
type PayRequest struct {
	MchID      string `json:"mchid"`        // [the only merchant]
	OutTradeNo string `json:"out_trade_no"` // required
	// OpenID pays the order: a JSAPI order's payer must be it [the order's payer];
	// a Native order is paid by whoever scans [a generated openid].
	OpenID   string     `json:"openid"`
	At       *time.Time `json:"at"`        // success time [the simulator clock]
	BankType string     `json:"bank_type"` // [OTHERS]
	// NotifyDelay: the notification is created at At+NotifyDelay and delivered
	// after NotifyDelay×NotifyScale. Paying at 23:59:59 with a delay of a few
	// seconds lands the notification on the next day.
	NotifyDelay Duration `json:"notify_delay"`
}

// Pay marks an order paid as a user paying it would: books the fee and the
// money movements, and sends the TRANSACTION.SUCCESS notification.
func (s *Sim) Pay(ctx context.Context, p PayRequest) (*order, error) {
	m, err := s.resolveMerchant(p.MchID)
	if err != nil {
		return nil, err
	}
	at := s.clock.Now()
	if p.At != nil {
		at = *p.At
	}
	if p.BankType == "" {
		p.BankType = "OTHERS"
	}
	var paid *order
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		o, err := orderByOutTradeNo(ctx, tx, m.MchID, p.OutTradeNo, true)
		if errors.Is(err, errNotFound) {
			return opErrorf(http.StatusNotFound, "order %s not found", p.OutTradeNo)
		}
		if err != nil {
			return err
		}
		switch {
		case o.TradeState != "NOTPAY":
			return opErrorf(http.StatusConflict, "order %s is %s", o.OutTradeNo, o.TradeState)
		case o.TimeExpire != nil && at.After(*o.TimeExpire):
			return opErrorf(http.StatusConflict, "order %s expired at %s", o.OutTradeNo, rfc3339(*o.TimeExpire))
		case o.TradeType == "JSAPI" && p.OpenID != "" && p.OpenID != o.PayerOpenID:
			return opErrorf(http.StatusConflict, "order %s is for openid %s", o.OutTradeNo, o.PayerOpenID)
		}
		if o.TradeType == "NATIVE" {
			o.PayerOpenID = p.OpenID
			if o.PayerOpenID == "" {
				o.PayerOpenID = "o" + mustNonce()[:27]
			}
		}
		o.TradeState, o.BankType, o.SuccessTime = "SUCCESS", p.BankType, &at
		o.Fee, o.FeeRate = s.feeRate.fee(o.Total), s.feeRate.text
		if err := markPaid(ctx, tx, o); err != nil {
			return err
		}
		if err := s.bookPayment(ctx, tx, o); err != nil {
			return err
		}
		paid = o
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.notifier.enqueue(ctx, m, paymentNotice(paid, time.Duration(p.NotifyDelay)))
	return paid, nil
}

// bookPayment records the income and the fee of a payment.
func (s *Sim) bookPayment(ctx context.Context, tx pgx.Tx, o *order) error {
	flow := fundFlow{MchID: o.MchID, Account: "BASIC", BookedAt: *o.SuccessTime, BizNo: o.TransactionID,
		BizName: "交易", BizType: "交易", Direction: "收入", Amount: o.Total, Applicant: "system", VoucherNo: o.OutTradeNo}
	if err := insertFlow(ctx, tx, flow); err != nil {
		return err
	}
	if o.Fee == 0 {
		return nil
	}
	flow.Account, flow.BizType, flow.Direction, flow.Amount = s.feeAccount(), "扣除交易手续费", "支出", o.Fee
	return insertFlow(ctx, tx, flow)
}

func (s *Sim) feeAccount() string {
	if s.cfg.FeesAccount {
		return "FEES"
	}
	return "BASIC"
}

// closeTx closes an unpaid order: 204, or ORDERPAID for a paid one
// (shared/wxpay/WECHATPAY.md f). Closing a closed order again answers 204 as well.
func (s *Sim) closeTx(ctx context.Context, mchID, outTradeNo string) (apiResponse, error) {
	var resp apiResponse
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		o, err := orderByOutTradeNo(ctx, tx, mchID, outTradeNo, true)
		if errors.Is(err, errNotFound) {
			resp = errOrderNotExist
			return nil
		}
		if err != nil {
			return err
		}
		switch o.TradeState {
		case "SUCCESS", "REFUND":
			resp = apiError(http.StatusBadRequest, "ORDERPAID", "订单已支付")
			return nil
		case "NOTPAY":
			now := s.clock.Now()
			if err := setTradeState(ctx, tx, o.TransactionID, "CLOSED", &now); err != nil {
				return err
			}
		}
		resp = apiResponse{status: http.StatusNoContent}
		return nil
	})
	return resp, err
}

func (s *Sim) resolveMerchant(mchID string) (*Merchant, error) {
	if mchID != "" {
		m, ok := s.merchant(mchID)
		if !ok {
			return nil, opErrorf(http.StatusNotFound, "merchant %s unknown", mchID)
		}
		return m, nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if len(s.merchants) != 1 {
		return nil, opErrorf(http.StatusBadRequest, "mchid required: %d merchants", len(s.merchants))
	}
	for _, m := range s.merchants {
		return m, nil
	}
	return nil, nil
}
