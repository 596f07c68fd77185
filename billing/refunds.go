package billing

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/audit"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
	"github.com/tandemcrm/tandem/shared/wxpay"
)

// Refund states.
const (
	RefundRequested  = "requested"  // recorded, not yet accepted by WeChat
	RefundProcessing = "processing" // accepted by WeChat
	RefundSucceeded  = "succeeded"
	RefundClosed     = "closed"
	RefundAbnormal   = "abnormal" // WeChat could not pay it back (a closed card…): followed until it settles
	RefundRejected   = "rejected" // WeChat refused it, or it was cancelled by rule: reserves nothing
)

// RefundStates are the refund states, for filters.
var RefundStates = []string{RefundPendingApproval, RefundRequested, RefundProcessing, RefundSucceeded, RefundClosed, RefundAbnormal, RefundRejected}

// Refund is a refund of an order.
type Refund struct {
	ID          uuid.UUID   `json:"id"`
	OrderID     uuid.UUID   `json:"order_id"`
	OutRefundNo string      `json:"out_refund_no"`
	RefundID    string      `json:"refund_id,omitempty"`
	Amount      money.Money `json:"amount"`
	Reason      string      `json:"reason"`
	State       string      `json:"state"`
	Attempts    int         `json:"attempts"`
	LastError   string      `json:"last_error,omitempty"` // WeChat's last refusal, or why it was not reached
	CreatedAt   time.Time   `json:"created_at"`
	SucceededAt *time.Time  `json:"succeeded_at,omitempty"`
	RejectedAt  *time.Time  `json:"rejected_at,omitempty"`
	// Lines is what the refund gives back of each line it touches (left out of
	// the refunds list).
	Lines []LineRefund `json:"lines,omitempty"`
}

func refundOf(r billingdb.BillingRefund, cur string, lines []LineRefund) Refund {
	out := Refund{ID: r.ID, OrderID: r.OrderID, OutRefundNo: r.OutRefundNo, Amount: money.MustNew(r.AmountFen, money.Currency(cur)),
		Reason: r.Reason, State: r.State, Attempts: int(r.Attempts), LastError: r.LastError, CreatedAt: r.CreatedAt,
		SucceededAt: r.SucceededAt, RejectedAt: r.RejectedAt, Lines: lines}
	if r.RefundID != nil {
		out.RefundID = *r.RefundID
	}
	return out
}

// RefundRequest is a refund asked for by staff.
type RefundRequest struct {
	// Amount is what the refund gives back; left zero when Lines are named, it is
	// their sum, else it must be (refund_lines.go).
	Amount money.Money
	// Lines are the order lines the refund gives back; none spreads Amount over
	// the order's lines (refund_lines.go).
	Lines  []RefundLineRequest
	Reason string
	// Key makes the request idempotent (the HTTP Idempotency-Key): the same key for
	// the same order returns the same refund, and sends it to WeChat again only if
	// WeChat never accepted it (with the same out_refund_no, which WeChat dedupes).
	Key string
	// OutRefundNo, when the caller gives it, is the refund's number at WeChat and its
	// idempotency key, with or without Key: the same number returns the same refund;
	// the same number for another order or amount is refused.
	OutRefundNo string
}

// Validate checks the fields.
func (r RefundRequest) Validate() error {
	switch {
	case r.Amount.Sign() < 0 || r.Amount.Sign() == 0 && len(r.Lines) == 0:
		return errs.Invalidf("amount", "the amount is more than zero")
	case strings.TrimSpace(r.Reason) == "" || len([]rune(r.Reason)) > 80:
		return errs.Invalidf("reason", "a reason of 1 to 80 characters")
	case len(r.Key) > 200:
		return errs.Invalidf("key", "at most 200 characters")
	case r.OutRefundNo != "" && !outRefundNoPattern.MatchString(r.OutRefundNo):
		return errs.Invalidf("out_refund_no", "6 to 64 letters, digits or _-|*@")
	}
	return r.validateLines()
}

// CreateRefund refunds part or all of a paid order, for the staff caller p
// (billing.refund.create in scope of the order's merchant), audited. The refund is
// recorded before WeChat is asked; WeChat's answer, or its refund notification,
// completes it (ledger reversal and events.TopicRefundSucceeded, once).
func (s *Service) CreateRefund(ctx context.Context, p *identity.Principal, orderID uuid.UUID, in RefundRequest) (Refund, error) {
	sc, err := staffScope(p, identity.PermRefundCreate)
	if err != nil {
		return Refund{}, err
	}
	if err := in.Validate(); err != nil {
		return Refund{}, err
	}
	var ref billingdb.BillingRefund
	var o billingdb.BillingOrder
	err = pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		var err error
		if o, err = q.LockOrder(ctx, orderID); errors.Is(err, pgx.ErrNoRows) {
			return errs.NotFound(objOrder)
		} else if err != nil {
			return err
		}
		if !sc.Allows(identity.Row{Merchant: o.MerchantID}) {
			return errs.NotFound(objOrder)
		}
		if found, err := s.sameRefund(ctx, q, o, in); err != nil || found != nil {
			if found != nil {
				ref = *found
			}
			return err
		}
		if st := State(o.State); st != StatePaid && st != StatePartiallyRefunded {
			return errs.E(errs.KindConflict, CodeOrderNotRefundable, "the order is "+o.State)
		}
		if !in.Amount.IsZero() && string(in.Amount.Currency()) != o.Currency {
			return errs.Invalidf("amount", "the order is in %s", o.Currency)
		}
		now := s.now()
		if err := s.checkRefundRules(ctx, q, o, now); err != nil {
			return err
		}
		pending, err := q.PendingRefundFen(ctx, o.ID)
		if err != nil {
			return err
		}
		if in.Amount.Fen() > o.AmountFen-pending {
			return errs.E(errs.KindUnprocessable, CodeRefundExceeds,
				fmt.Sprintf("at most %s is left to refund", money.MustNew(o.AmountFen-pending, money.Currency(o.Currency))))
		}
		lines, err := refundableLines(ctx, q, o)
		if err != nil {
			return err
		}
		plan, amount, err := planRefundLines(lines, in, money.Currency(o.Currency))
		if err != nil {
			return err
		}
		in.Amount = amount
		no := in.OutRefundNo
		if no == "" {
			seq, err := q.NextRefundSeq(ctx)
			if err != nil {
				return err
			}
			no = orderNo("RF", now, seq)
		}
		ref = billingdb.BillingRefund{ID: s.newID(), OrderID: o.ID, OutRefundNo: no, AmountFen: in.Amount.Fen(),
			Reason: strings.TrimSpace(in.Reason), State: RefundRequested, CreatedAt: now,
			RequestedBy: uuid.NullUUID{UUID: p.User.ID, Valid: true}}
		ref.RequestKey = in.Key
		if ref.RequestKey == "" {
			ref.RequestKey = ref.OutRefundNo
		}
		if s.needsApproval(ref.AmountFen) {
			if err := s.requestRefundApproval(ctx, tx, p, o, &ref); err != nil {
				return err
			}
		} else if err := q.InsertRefund(ctx, billingdb.InsertRefundParams{ID: ref.ID, OrderID: ref.OrderID, OutRefundNo: ref.OutRefundNo,
			RequestKey: ref.RequestKey, AmountFen: ref.AmountFen, Reason: ref.Reason, RequestedBy: ref.RequestedBy, CreatedAt: now}); err != nil {
			return err
		}
		if err := insertRefundLines(ctx, q, ref, plan); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Actor: p.Actor(), Action: "billing.refund.create", ObjectType: "billing.order",
			ObjectID: o.ID.String(), Before: map[string]any{"state": o.State, "refunded_fen": o.RefundedFen},
			After: map[string]any{"out_refund_no": ref.OutRefundNo, "amount_fen": ref.AmountFen, "reason": ref.Reason, "state": ref.State,
				"lines": plan}})
	})
	if err != nil {
		return Refund{}, wrap("create refund", err)
	}
	if ref.State != RefundRequested {
		return s.refundNow(ctx, ref.ID, o.Currency)
	}
	if _, err := s.sendRefund(ctx, ref, o, 0); err != nil {
		return Refund{}, err
	}
	return s.refundNow(ctx, ref.ID, o.Currency)
}

// sendRefund asks WeChat for a requested refund (again, when add is 1: a retry)
// and applies its answer. A refusal WeChat gives (the merchant's balance is short,
// the order too old…) rejects the refund, which frees its amount, and is returned;
// no answer (WeChat down, time-out) leaves it requested for the scheduler to retry
// with the same out_refund_no, and is not an error of the request.
// It reports whether WeChat answered.
func (s *Service) sendRefund(ctx context.Context, ref billingdb.BillingRefund, o billingdb.BillingOrder, add int32) (bool, error) {
	wr, err := s.pay.CreateRefund(ctx, wxpay.RefundRequest{OutTradeNo: o.OrderNo, OutRefundNo: ref.OutRefundNo, Reason: ref.Reason,
		NotifyURL: s.cfg.NotifyBaseURL + NotifyRefundPath, Refund: ref.AmountFen, Total: o.AmountFen})
	if err == nil {
		if add > 0 {
			if err := billingdb.New(s.db).NoteRefundAttempt(ctx, billingdb.NoteRefundAttemptParams{ID: ref.ID, Add: add}); err != nil {
				return true, wrap("note refund attempt", err)
			}
		}
		_, err = s.applyRefundReport(ctx, nil, wr)
		return true, err
	}
	q := billingdb.New(s.db)
	msg := errs.As(err).Message
	if errs.KindOf(err).Retryable() {
		s.log.WarnContext(ctx, "billing: refund not reached WeChat; the scheduler retries it", "out_refund_no", ref.OutRefundNo, "err", err)
		return false, wrap("note refund attempt", q.NoteRefundAttempt(ctx, billingdb.NoteRefundAttemptParams{ID: ref.ID, Add: add, LastError: msg}))
	}
	if _, rerr := q.RejectRefund(ctx, billingdb.RejectRefundParams{ID: ref.ID, LastError: msg, At: optTime(s.now())}); rerr != nil {
		return true, wrap("reject refund", rerr)
	}
	s.log.WarnContext(ctx, "billing: WeChat refused a refund", "out_refund_no", ref.OutRefundNo, "err", err)
	return true, fmt.Errorf("billing: refund %s: %w", ref.OutRefundNo, err)
}

func (s *Service) refundNow(ctx context.Context, id uuid.UUID, cur string) (Refund, error) {
	q := billingdb.New(s.db)
	r, err := q.GetRefund(ctx, id)
	if err != nil {
		return Refund{}, wrap("get refund", err)
	}
	rows, err := q.RefundLines(ctx, id)
	if err != nil {
		return Refund{}, wrap("refund lines", err)
	}
	lines := make([]LineRefund, len(rows))
	for i, l := range rows {
		lines[i] = LineRefund{LineNo: int(l.LineNo), Amount: money.MustNew(l.AmountFen, money.Currency(cur))}
	}
	return refundOf(r, cur, lines), nil
}

// ListRefunds lists an order's refunds (staff in scope of billing.order.read).
func (s *Service) ListRefunds(ctx context.Context, caller *identity.Principal, orderID uuid.UUID) ([]Refund, error) {
	o, err := s.GetOrder(ctx, caller, orderID)
	if err != nil {
		return nil, err
	}
	q := billingdb.New(s.db)
	rows, err := q.ListRefunds(ctx, orderID)
	if err != nil {
		return nil, wrap("list refunds", err)
	}
	lines, err := q.OrderRefundLines(ctx, orderID)
	if err != nil {
		return nil, wrap("list refund lines", err)
	}
	by := refundLinesOf(lines, o.Amount.Currency())
	out := make([]Refund, len(rows))
	for i, r := range rows {
		out[i] = refundOf(r, string(o.Amount.Currency()), by[r.ID])
	}
	return out, nil
}

// HandleRefundNotification is the wxpay.NotifyFunc of the refund notify endpoint.
func (s *Service) HandleRefundNotification(ctx context.Context, n *wxpay.Notification) error {
	if n.Mismatch != nil || n.Refund == nil {
		r := result{outcome: OutcomeIgnored, detail: "event " + n.EventType}
		if n.Mismatch != nil {
			r = result{OutcomeMismatch, n.Mismatch.Error(), ExcForeignAccount, nil}
		}
		var refundNo string
		if n.Refund != nil {
			refundNo = n.Refund.OutRefundNo
		}
		err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
			return s.record(ctx, tx, tx, n, r, outTradeNo(n), refundNo)
		})
		return wrap("refund notification", err)
	}
	_, err := s.applyRefundReport(ctx, n, n.Refund)
	return err
}

// QueryRefundAndApply asks WeChat Pay about a refund and applies what it says, as
// its notification would. It reports whether the refund is now succeeded in our books.
func (s *Service) QueryRefundAndApply(ctx context.Context, outRefundNo string) (bool, error) {
	wr, err := s.pay.QueryRefund(ctx, outRefundNo)
	if err != nil {
		return false, fmt.Errorf("billing: query refund %s: %w", outRefundNo, err)
	}
	r, err := s.applyRefundReport(ctx, nil, wr)
	if err != nil {
		return false, err
	}
	return wr.Status == wxpay.RefundSuccess && (r.outcome == OutcomeApplied || r.outcome == OutcomeDuplicate), nil
}

// applyRefundReport applies what WeChat says of a refund (its answer to our
// request, a query, or a notification n) in one transaction, logging n.
func (s *Service) applyRefundReport(ctx context.Context, n *wxpay.Notification, wr *wxpay.Refund) (result, error) {
	var r result
	err := pg.InTx(ctx, s.db, pg.TxOptions{}, func(tx pgx.Tx) error {
		q := billingdb.New(tx)
		var err error
		if r, err = s.applyRefund(ctx, tx, q, wr); err != nil {
			return err
		}
		return s.record(ctx, tx, tx, n, r, wr.OutTradeNo, wr.OutRefundNo)
	})
	return r, wrap("apply refund", err)
}

// applyRefund locks the refund then its order (every path that locks both does it
// in this order; CreateRefund locks only the order), checks what
// WeChat says against the refund, and moves it. A success moves the order to
// partially_refunded or refunded, posts the reversal and publishes
// events.TopicRefundSucceeded, once: a refund already succeeded is a duplicate.
func (s *Service) applyRefund(ctx context.Context, tx pgx.Tx, q *billingdb.Queries, wr *wxpay.Refund) (result, error) {
	ref, err := q.LockRefundByNo(ctx, wr.OutRefundNo)
	if errors.Is(err, pgx.ErrNoRows) {
		return result{OutcomeUnknown, "no refund " + wr.OutRefundNo, ExcUnknownRefund, nil}, nil
	} else if err != nil {
		return result{}, err
	}
	o, err := q.LockOrder(ctx, ref.OrderID)
	if err != nil {
		return result{}, err
	}
	if err := wxpay.CheckRefund(wr, wxpay.ExpectedRefund{OutRefundNo: ref.OutRefundNo, Refund: ref.AmountFen, Total: o.AmountFen}); err != nil {
		return result{OutcomeMismatch, errs.As(err).Message, ExcMismatch, nil}, nil
	}
	if wr.OutTradeNo != "" && wr.OutTradeNo != o.OrderNo {
		return result{OutcomeMismatch, fmt.Sprintf("out_trade_no %q, expected %q", wr.OutTradeNo, o.OrderNo), ExcMismatch, nil}, nil
	}
	// WeChat's refund_id, once we know it, is the refund's identity: a report of
	// another refund_id for our out_refund_no is not ours to apply (nor to overwrite).
	if ref.RefundID != nil && wr.RefundID != "" && wr.RefundID != *ref.RefundID {
		return result{OutcomeMismatch, fmt.Sprintf("refund_id %q, expected %q", wr.RefundID, *ref.RefundID), ExcMismatch, nil}, nil
	}
	p, err := q.GetPayment(ctx, o.ID)
	if err != nil {
		return result{}, err
	}
	if wr.TransactionID != "" && wr.TransactionID != p.TransactionID {
		return result{OutcomeMismatch, fmt.Sprintf("transaction_id %q, expected %q", wr.TransactionID, p.TransactionID), ExcMismatch, nil}, nil
	}
	// Final states stay final. ABNORMAL is not final: WeChat settles it later
	// (SUCCESS once the money reached the customer another way, or CLOSED).
	if ref.State == RefundSucceeded || ref.State == RefundClosed {
		return result{outcome: OutcomeDuplicate, detail: "already " + ref.State}, nil
	}
	if ref.State == RefundRejected && wr.Status != wxpay.RefundSuccess {
		return result{outcome: OutcomeIgnored, detail: "rejected; WeChat says " + wr.Status}, nil
	}
	upd := billingdb.UpdateRefundParams{ID: ref.ID, State: ref.State, RefundID: optString(wr.RefundID), WxCreatedAt: optTime(wr.CreateTime)}
	switch wr.Status {
	case wxpay.RefundProcessing:
		if ref.State != RefundRequested {
			return result{outcome: OutcomeDuplicate, detail: "already " + ref.State}, nil
		}
		upd.State = RefundProcessing
		return result{outcome: OutcomeApplied}, q.UpdateRefund(ctx, upd)
	case wxpay.RefundClosed:
		upd.State = RefundClosed
		return result{outcome: OutcomeApplied}, q.UpdateRefund(ctx, upd)
	case wxpay.RefundAbnormal:
		if ref.State == RefundAbnormal {
			return result{outcome: OutcomeDuplicate, detail: "already abnormal"}, nil
		}
		upd.State = RefundAbnormal
		// Applied, and a queue item for finance: the customer has not got the money.
		return result{OutcomeApplied, "WeChat could not pay the refund back; followed until it settles", ExcRefundAbnormal, nil},
			q.UpdateRefund(ctx, upd)
	case wxpay.RefundSuccess:
	default:
		return result{outcome: OutcomeIgnored, detail: "refund status " + wr.Status}, nil
	}
	if ref.State == RefundRejected {
		// We stopped reserving its amount; WeChat paid it anyway. Apply it if the
		// order still has the room, else it is finance's to sort out.
		pending, err := q.PendingRefundFen(ctx, o.ID)
		if err != nil {
			return result{}, err
		}
		if pending+ref.AmountFen > o.AmountFen {
			return result{OutcomeMismatch, fmt.Sprintf("refund %s succeeded at WeChat after it was rejected here, and the order has no room for it",
				ref.OutRefundNo), ExcMismatch, nil}, nil
		}
		if full, err := s.lineWithoutRoom(ctx, q, o, ref); err != nil {
			return result{}, err
		} else if full != "" {
			return result{OutcomeMismatch, fmt.Sprintf("refund %s succeeded at WeChat after it was rejected here, and %s",
				ref.OutRefundNo, full), ExcMismatch, nil}, nil
		}
	}
	at := wr.SuccessTime
	if at.IsZero() {
		at = s.now()
	}
	at = at.UTC()
	upd.State, upd.SucceededAt = RefundSucceeded, &at
	if err := q.UpdateRefund(ctx, upd); err != nil {
		return result{}, err
	}
	total := o.RefundedFen + ref.AmountFen
	to := StatePartiallyRefunded
	if total == o.AmountFen {
		to = StateRefunded
	}
	if err := s.move(ctx, q, o, to, "refund", moveOpts{refundedAdd: ref.AmountFen}); err != nil {
		return result{}, err
	}
	ord, err := orderOf(o)
	if err != nil {
		return result{}, err
	}
	back, err := q.CommissionReversed(ctx, o.ID)
	if err != nil {
		return result{}, err
	}
	if _, err := s.post(ctx, q, o, "refund", "refund:"+ref.ID.String(), "refund "+ref.OutRefundNo, at,
		RefundPostings(ord.Amount, ord.rate, ref.AmountFen, total, back)); err != nil {
		return result{}, err
	}
	lines, err := q.OrderLineRefunds(ctx, o.ID) // this refund counts as succeeded now
	if err != nil {
		return result{}, err
	}
	mine, err := q.RefundLines(ctx, ref.ID)
	if err != nil {
		return result{}, err
	}
	_, err = outbox.Publish(ctx, tx, events.TopicRefundSucceeded, o.ID.String(), events.RefundSucceeded{
		RefundID: ref.ID, OutRefundNo: ref.OutRefundNo, OrderID: o.ID, OrderNo: o.OrderNo, ConsumerID: o.ConsumerID,
		MerchantID: o.MerchantID, OrderAmountFen: o.AmountFen, RefundFen: ref.AmountFen, RefundedTotalFen: total,
		Currency: o.Currency, SucceededAt: at, Lines: eventLines(lines, mine)})
	return result{outcome: OutcomeApplied}, err
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
