package billing

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// Outcome is what became of a notification or a query result.
type Outcome string

const (
	OutcomeApplied   Outcome = "applied"   // it moved the order
	OutcomeDuplicate Outcome = "duplicate" // already applied: nothing changed
	OutcomeMismatch  Outcome = "mismatch"  // it disagrees with our order: an exception, not applied
	OutcomeUnknown   Outcome = "unknown"   // no such order or refund of ours: an exception
	OutcomeIgnored   Outcome = "ignored"   // nothing to apply (another event, a state that changes nothing)
)

// Exception kinds.
const (
	ExcMismatch        = "mismatch"
	ExcUnknownOrder    = "unknown_order"
	ExcUnknownRefund   = "unknown_refund"
	ExcSecondPayment   = "second_transaction"
	ExcIllegalState    = "illegal_state"
	ExcForeignAccount  = "foreign_account"
	ExcRefundAbnormal  = "refund_abnormal"
	sourceNotification = "notification"
	sourceQuery        = "query"
)

type result struct {
	outcome Outcome
	detail  string
	exc     string // exception kind to record, "" for none
	// second is the payment a second_transaction exception is about: what finance
	// refunds from the exceptions queue.
	second *wxpay.Transaction
}

// HandlePaymentNotification is the wxpay.NotifyFunc of the payment notify endpoint:
// the notification is genuine (wxpay verified and decrypted it). It logs it and, in
// the same transaction, applies it under the order's row lock, records an exception,
// or, for a repeat, changes nothing. It returns nil whenever the fact is durably
// recorded, so WeChat stops sending. The apply's writes and the log go to PostgreSQL
// in one round trip (writeBatch).
func (s *Service) HandlePaymentNotification(ctx context.Context, n *wxpay.Notification) error {
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		var w writeBatch
		var r result
		switch {
		case n.Mismatch != nil:
			r = result{OutcomeMismatch, n.Mismatch.Error(), ExcForeignAccount, nil}
		case n.Payment == nil:
			r = result{outcome: OutcomeIgnored, detail: "event " + n.EventType}
		default:
			var err error
			if r, err = s.applyPayment(ctx, tx, &w, n.Payment, sourceNotification); err != nil {
				return err
			}
		}
		if err := s.record(ctx, tx, &w, n, r, outTradeNo(n), ""); err != nil {
			return err
		}
		return w.send(ctx, tx)
	})
	return wrap("payment notification", err)
}

func outTradeNo(n *wxpay.Notification) string {
	switch {
	case n.Payment != nil:
		return n.Payment.OutTradeNo
	case n.Refund != nil:
		return n.Refund.OutTradeNo
	}
	return ""
}

// record logs a notification (n nil for a query result), through log (tx, or a
// writeBatch of tx), and its exception.
func (s *Service) record(ctx context.Context, tx pgx.Tx, log billingdb.DBTX, n *wxpay.Notification, r result, tradeNo, refundNo string) error {
	if r.exc != "" {
		var nid, payload string
		if n != nil {
			nid, payload = n.ID, n.Plaintext
		}
		if err := s.recordException(ctx, tx, r, nid, payload, tradeNo, refundNo); err != nil {
			return err
		}
		s.log.WarnContext(ctx, "billing: exception recorded", "kind", r.exc, "out_trade_no", tradeNo, "detail", r.detail)
	}
	if n == nil {
		return nil
	}
	return billingdb.New(log).InsertNotification(ctx, billingdb.InsertNotificationParams{ID: s.newID(), NotificationID: n.ID,
		EventType: n.EventType, Verified: true, Outcome: string(r.outcome), OutTradeNo: tradeNo, OutRefundNo: refundNo,
		Detail: r.detail, ReceivedAt: s.now()})
}

// applyPayment applies a payment WeChat reports (by notification or query) inside
// tx: under the order's row lock it checks amount, mchid and appid against the
// order, fixes the commission rate in force that day (commission.go), moves it to
// paid, records the payment, posts the ledger entry and publishes
// events.TopicPaymentSucceeded. A repeat changes nothing. The lock and the reads are
// tx's; the writes are queued in w, for the caller to send.
func (s *Service) applyPayment(ctx context.Context, tx pgx.Tx, w *writeBatch, t *wxpay.Transaction, source string) (result, error) {
	if !t.Paid() {
		return result{outcome: OutcomeIgnored, detail: "trade state " + t.TradeState}, nil
	}
	q := billingdb.New(tx)
	o, err := q.LockOrderByNo(ctx, t.OutTradeNo)
	if errors.Is(err, pgx.ErrNoRows) {
		return result{OutcomeUnknown, "no order " + t.OutTradeNo, ExcUnknownOrder, nil}, nil
	} else if err != nil {
		return result{}, err
	}
	var diffs []string
	if err := wxpay.CheckPayment(t, wxpay.ExpectedPayment{OutTradeNo: o.OrderNo, Total: o.AmountFen}); err != nil {
		diffs = append(diffs, errs.As(err).Message)
	}
	if t.MchID != o.Mchid {
		diffs = append(diffs, fmt.Sprintf("mchid %q, expected %q", t.MchID, o.Mchid))
	}
	if t.AppID != o.Appid {
		diffs = append(diffs, fmt.Sprintf("appid %q, expected %q", t.AppID, o.Appid))
	}
	if len(diffs) > 0 {
		return result{OutcomeMismatch, fmt.Sprint(diffs), ExcMismatch, nil}, nil
	}
	state := State(o.State)
	if state.Paid() {
		p, err := q.GetPayment(ctx, o.ID)
		if err != nil {
			return result{}, err
		}
		if p.TransactionID != t.TransactionID {
			return result{OutcomeMismatch, fmt.Sprintf("order %s was paid by %s, now %s reports it paid", o.OrderNo,
				p.TransactionID, t.TransactionID), ExcSecondPayment, t}, nil
		}
		return result{outcome: OutcomeDuplicate, detail: "already " + o.State}, nil
	}
	if !CanMove(state, StatePaid) {
		return result{OutcomeMismatch, fmt.Sprintf("a payment for an order that is %s", state), ExcIllegalState, nil}, nil
	}
	paidAt := t.SuccessTime.UTC()
	qw := billingdb.New(w)
	if o, err = s.rateWhenPaid(ctx, qw, o, paidAt); err != nil {
		return result{}, err
	}
	if err := s.move(ctx, qw, o, StatePaid, source, moveOpts{paidAt: &paidAt}); err != nil {
		return result{}, err
	}
	if err := qw.InsertPayment(ctx, billingdb.InsertPaymentParams{ID: s.newID(), OrderID: o.ID, TransactionID: t.TransactionID,
		Mchid: t.MchID, AmountFen: t.Total, PayerTotalFen: t.PayerTotal, TradeType: t.TradeType, PayerOpenid: t.PayerOpenID,
		SuccessTime: paidAt, Source: source, RecordedAt: s.now()}); err != nil {
		return result{}, err
	}
	ord, err := orderOf(o)
	if err != nil {
		return result{}, err
	}
	if _, err := s.post(ctx, qw, o, "payment", "payment:"+o.ID.String(), "payment "+t.TransactionID, paidAt,
		PaymentPostings(ord.Amount, ord.rate)); err != nil {
		return result{}, err
	}
	_, err = outbox.Publish(ctx, tx, events.TopicPaymentSucceeded, o.ID.String(), events.PaymentSucceeded{
		OrderID: o.ID, OrderNo: o.OrderNo, ConsumerID: o.ConsumerID, MerchantID: o.MerchantID, AmountFen: o.AmountFen,
		Currency: o.Currency, TransactionID: t.TransactionID, PaidAt: paidAt})
	return result{outcome: OutcomeApplied}, err
}

// QueryAndApply asks WeChat Pay about an order we heard nothing of and, when WeChat
// says it is paid, applies it exactly as its notification would have (which fires
// fulfilment, once). It reports whether the order is now paid in our books.
func (s *Service) QueryAndApply(ctx context.Context, outTradeNo string) (bool, error) {
	t, err := s.pay.QueryOrder(ctx, outTradeNo)
	if err != nil {
		return false, fmt.Errorf("billing: query %s: %w", outTradeNo, err)
	}
	if !t.Paid() {
		return false, nil
	}
	var r result
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		var w writeBatch
		var err error
		if r, err = s.applyPayment(ctx, tx, &w, t, sourceQuery); err != nil {
			return err
		}
		if err := s.record(ctx, tx, tx, nil, r, outTradeNo, ""); err != nil {
			return err
		}
		return w.send(ctx, tx)
	})
	if err != nil {
		return false, wrap("query and apply", err)
	}
	return r.outcome == OutcomeApplied || r.outcome == OutcomeDuplicate, nil
}
