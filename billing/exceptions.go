package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

const objException = "billing.exception"

// Error codes of the exceptions' actions.
const (
	CodeExceptionNotFound      = objException + "_not_found"
	CodeExceptionNotRefundable = "billing.exception_not_refundable"
)

// recordException writes an exception and publishes it (events.TopicPaymentException)
// for finance's exceptions queue, in the caller's transaction.
func (s *Service) recordException(ctx context.Context, tx pgx.Tx, r result, nid, payload, tradeNo, refundNo string) error {
	q := billingdb.New(tx)
	id := s.newID()
	var txn, mchid string
	var amount int64
	if r.second != nil {
		txn, mchid, amount = r.second.TransactionID, r.second.MchID, r.second.Total
	}
	now := s.now()
	if err := q.InsertException(ctx, billingdb.InsertExceptionParams{ID: id, Kind: r.exc, OutTradeNo: tradeNo,
		OutRefundNo: refundNo, NotificationID: nid, Detail: r.detail, Payload: payload, CreatedAt: now,
		TransactionID: txn, AmountFen: amount}); err != nil {
		return err
	}
	if mchid == "" {
		mchid = s.pay.MchID()
	}
	_, err := outbox.Publish(ctx, tx, events.TopicPaymentException, id.String(), events.PaymentException{ExceptionID: id,
		Kind: r.exc, MchID: mchid, OutTradeNo: tradeNo, OutRefundNo: refundNo, TransactionID: txn, AmountFen: amount,
		Detail: r.detail, At: now})
	return err
}

// SecondPaymentRefund is what refunding a second payment did.
type SecondPaymentRefund struct {
	OutRefundNo string `json:"out_refund_no"`
	RefundID    string `json:"refund_id"`
	Status      string `json:"status"` // WeChat's: PROCESSING, SUCCESS, ...
	AmountFen   int64  `json:"amount_fen"`
}

// RefundSecondPayment gives a consumer back a second payment of an order (an
// exception of kind second_transaction): the whole transaction is refunded at
// WeChat, by its transaction_id, and the exception is resolved. The second
// payment was never booked, so nothing in the ledger moves. Its out_refund_no is
// made from the exception ("RX" + 30 hex digits of its id), so asking again is idempotent at WeChat.
// The staff caller needs billing.refund.create at scope all.
func (s *Service) RefundSecondPayment(ctx context.Context, p *identity.Principal, exceptionID uuid.UUID) (SecondPaymentRefund, error) {
	sc, err := staffScope(p, identity.PermRefundCreate)
	if err != nil {
		return SecondPaymentRefund{}, err
	}
	if !sc.SeesAll() {
		return SecondPaymentRefund{}, errs.E(errs.KindForbidden, "identity.forbidden", "refunding a second payment is finance's")
	}
	q := billingdb.New(s.db)
	e, err := q.LockException(ctx, exceptionID) // outside a transaction: a read
	if errors.Is(err, pgx.ErrNoRows) {
		return SecondPaymentRefund{}, errs.NotFound(objException)
	} else if err != nil {
		return SecondPaymentRefund{}, wrap("refund second payment", err)
	}
	if e.Kind != ExcSecondPayment || e.TransactionID == "" || e.AmountFen <= 0 {
		return SecondPaymentRefund{}, errs.E(errs.KindConflict, CodeExceptionNotRefundable, "only a second payment of an order is refunded from here")
	}
	no := "RX" + strings.ReplaceAll(e.ID.String(), "-", "")[:30] // 32 characters, WeChat's out_trade_no rule
	wr, err := s.pay.CreateRefund(ctx, wxpay.RefundRequest{TransactionID: e.TransactionID, OutRefundNo: no,
		Reason: "重复支付退款", Refund: e.AmountFen, Total: e.AmountFen})
	if err != nil {
		return SecondPaymentRefund{}, fmt.Errorf("billing: refund second payment %s: %w", e.TransactionID, err)
	}
	out := SecondPaymentRefund{OutRefundNo: no, RefundID: wr.RefundID, Status: wr.Status, AmountFen: wr.Refund}
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		if err := q.ResolveException(ctx, billingdb.ResolveExceptionParams{ID: e.ID, At: optTime(s.now()),
			By: uuid.NullUUID{UUID: p.User.ID, Valid: p.User.ID != uuid.Nil}, Resolution: "refunded as " + no}); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "billing.exception.refund", ObjectType: objException,
			ObjectID: e.ID.String(), Before: map[string]any{"transaction_id": e.TransactionID, "amount_fen": e.AmountFen},
			After: out})
	})
	return out, wrap("refund second payment", err)
}
