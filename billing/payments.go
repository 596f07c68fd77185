package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/logging"
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
// recorded, so WeChat stops sending. A payment of an order that awaits it takes the
// short way, in a group commit with the notifications arriving meanwhile
// (applyNotifiedPayment); otherwise the apply's writes and the log go to
// PostgreSQL in one round trip (writeBatch).
func (s *Service) HandlePaymentNotification(ctx context.Context, n *wxpay.Notification) error {
	if n.Mismatch == nil && n.Payment != nil && n.Payment.Paid() {
		applied, err := s.applyNotifiedPayment(ctx, n)
		if applied || err != nil {
			return wrap("payment notification", err)
		}
	}
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
// order, fixes the commission rate in force that day (commission.go), and queues
// ApplyPayments (for this one payment): the order paid, the payment, the ledger entry and
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
	if diffs := paymentDiffs(t, o); len(diffs) > 0 {
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
	p, err := s.paymentWrites(ctx, o, t, source, dayRates{})
	if err != nil {
		return result{}, err
	}
	if _, err := billingdb.New(w).ApplyPayments(ctx, applyPaymentsParams([]paymentWrite{p}, paymentLog{}, p.RecordedAt)); err != nil {
		return result{}, err
	}
	return result{outcome: OutcomeApplied}, outbox.Wake(ctx, tx, s.db)
}

// paymentDiffs is how a genuine payment differs from our order (amount, out_trade_no,
// currency, mchid, appid); none when it is the order's.
func paymentDiffs(t *wxpay.Transaction, o billingdb.BillingOrder) []string {
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
	return diffs
}

// paymentWrite is one payment's writes, one element of ApplyPayments' arrays: the
// order paid at the day's rate, its transition, the payment, its journal entry and
// postings, and its events.TopicPaymentSucceeded event.
type paymentWrite struct {
	AggregateKey   string
	Payload        []byte
	RequestID      string
	EventID        uuid.UUID
	PaidAt         *time.Time
	CommissionRate pgtype.Numeric
	OrderID        uuid.UUID
	FromState      string
	TransitionID   uuid.UUID
	Source         string
	RecordedAt     time.Time
	PaymentID      uuid.UUID
	TransactionID  string
	Mchid          string
	AmountFen      int64
	PayerTotalFen  int64
	TradeType      string
	PayerOpenid    string
	EntryID        uuid.UUID
	MerchantID     uuid.UUID
	SourceKey      string
	Memo           string
	ClearingFen    int64
	PayableFen     int64
	CommissionFen  int64
	Currency       string
	PostingIds     []uuid.UUID
	Accounts       []string
	Amounts        []int64
}

// paymentWrites are one payment's writes for paying the locked order o, which
// can move to paid, with t: the rate of the day (asked once per merchant and day of
// rates), the ledger entry (PaymentPostings, zero postings left out) and the event.
func (s *Service) paymentWrites(ctx context.Context, o billingdb.BillingOrder, t *wxpay.Transaction, source string, rates dayRates) (paymentWrite, error) {
	paidAt := t.SuccessTime.UTC()
	o, err := s.rateWhenPaid(ctx, o, paidAt, rates)
	if err != nil {
		return paymentWrite{}, err
	}
	ord, err := orderOf(o)
	if err != nil {
		return paymentWrite{}, err
	}
	payload, err := json.Marshal(events.PaymentSucceeded{OrderID: o.ID, OrderNo: o.OrderNo, ConsumerID: o.ConsumerID,
		MerchantID: o.MerchantID, AmountFen: o.AmountFen, Currency: o.Currency, TransactionID: t.TransactionID, PaidAt: paidAt})
	if err != nil {
		return paymentWrite{}, err
	}
	event, err := uuid.NewV7()
	if err != nil {
		return paymentWrite{}, err
	}
	now := s.now()
	p := paymentWrite{OrderID: o.ID, FromState: o.State, PaidAt: &paidAt, CommissionRate: o.CommissionRate,
		TransitionID: s.newID(), Source: source, RecordedAt: now,
		PaymentID: s.newID(), TransactionID: t.TransactionID, Mchid: t.MchID, AmountFen: t.Total, PayerTotalFen: t.PayerTotal,
		TradeType: t.TradeType, PayerOpenid: t.PayerOpenID,
		EntryID: s.newID(), MerchantID: o.MerchantID, SourceKey: "payment:" + o.ID.String(), Memo: "payment " + t.TransactionID,
		Currency: o.Currency, AggregateKey: o.ID.String(), Payload: payload,
		RequestID: logging.RequestID(ctx), EventID: event}
	ps := PaymentPostings(ord.Amount, ord.rate)
	sums := sumsOf(ps)
	p.ClearingFen, p.PayableFen, p.CommissionFen = sums.clearing, sums.payable, sums.commission
	for _, l := range ps {
		if l.AmountFen != 0 {
			p.PostingIds, p.Accounts, p.Amounts = append(p.PostingIds, s.newID()), append(p.Accounts, l.Account), append(p.Amounts, l.AmountFen)
		}
	}
	return p, nil
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
