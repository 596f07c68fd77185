package billing

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// What finance and a merchant's owner read: orders searched, refunds listed, an
// order's notifications, issued statements and what a statement sums.

// Error code of a bad search.
const CodeInvalidFilter = "billing.invalid_filter"

// OrderFilter searches orders: by order number or its start, state and merchant.
type OrderFilter struct {
	OrderNo  string
	State    State
	Merchant uuid.UUID // Nil: any in scope
	Before   uuid.UUID // the cursor: orders older than this id
	Limit    int
}

// SearchOrders pages through the orders in the staff caller's scope, newest first.
func (s *Service) SearchOrders(ctx context.Context, p *identity.Principal, f OrderFilter) ([]Order, error) {
	sc, err := staffScope(p, identity.PermOrderRead)
	if err != nil {
		return nil, err
	}
	if f.State != "" && !f.State.known() {
		return nil, errs.E(errs.KindInvalid, CodeInvalidFilter, "no such order state").WithField("state")
	}
	rows, err := billingdb.New(s.db).SearchOrders(ctx, billingdb.SearchOrdersParams{ScopeAll: sc.SeesAll(),
		ScopeMerchantIds: sc.MerchantIDs(), OrderNo: f.OrderNo, State: string(f.State),
		MerchantID: uuid.NullUUID{UUID: f.Merchant, Valid: f.Merchant != uuid.Nil}, Before: f.Before, Lim: pg.PageLimit(f.Limit)})
	if err != nil {
		return nil, wrap("search orders", err)
	}
	out := make([]Order, len(rows))
	for i, r := range rows {
		if out[i], err = orderOf(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RefundRow is a refund with its order, for the refunds list.
type RefundRow struct {
	Refund
	OrderNo    string    `json:"order_no"`
	MerchantID uuid.UUID `json:"merchant_id"`
}

// SearchRefunds pages through the refunds of orders in the staff caller's scope
// (billing.order.read), newest first; state "" is any.
func (s *Service) SearchRefunds(ctx context.Context, p *identity.Principal, state string, before uuid.UUID, limit int) ([]RefundRow, error) {
	sc, err := staffScope(p, identity.PermOrderRead)
	if err != nil {
		return nil, err
	}
	rows, err := billingdb.New(s.db).SearchRefunds(ctx, billingdb.SearchRefundsParams{ScopeAll: sc.SeesAll(),
		ScopeMerchantIds: sc.MerchantIDs(), State: state, Before: before, Lim: pg.PageLimit(limit)})
	if err != nil {
		return nil, wrap("search refunds", err)
	}
	out := make([]RefundRow, len(rows))
	for i, r := range rows {
		out[i] = RefundRow{Refund: refundOf(billingdb.BillingRefund{ID: r.ID, OrderID: r.OrderID, OutRefundNo: r.OutRefundNo,
			RequestKey: r.RequestKey, RefundID: r.RefundID, AmountFen: r.AmountFen, Reason: r.Reason, State: r.State,
			RequestedBy: r.RequestedBy, CreatedAt: r.CreatedAt, WxCreatedAt: r.WxCreatedAt, SucceededAt: r.SucceededAt,
			Attempts: r.Attempts, LastError: r.LastError, RejectedAt: r.RejectedAt, ApprovalID: r.ApprovalID}, r.Currency, nil),
			OrderNo: r.OrderNo, MerchantID: r.MerchantID}
	}
	return out, nil
}

// NotificationRecord is one notification WeChat sent about an order, as received.
type NotificationRecord struct {
	EventType   string    `json:"event_type"`
	Outcome     string    `json:"outcome"` // applied, duplicate, mismatch, unknown, ignored
	OutRefundNo string    `json:"out_refund_no,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	ReceivedAt  time.Time `json:"received_at"`
}

// OrderNotifications lists what WeChat told us of an order (staff in scope of
// billing.order.read), oldest first.
func (s *Service) OrderNotifications(ctx context.Context, p *identity.Principal, orderID uuid.UUID) ([]NotificationRecord, error) {
	o, err := s.GetOrder(ctx, p, orderID)
	if err != nil {
		return nil, err
	}
	rows, err := billingdb.New(s.db).ListNotifications(ctx, o.OrderNo)
	if err != nil {
		return nil, wrap("notifications", err)
	}
	out := make([]NotificationRecord, len(rows))
	for i, r := range rows {
		out[i] = NotificationRecord{EventType: r.EventType, Outcome: r.Outcome, OutRefundNo: r.OutRefundNo, Detail: r.Detail, ReceivedAt: r.ReceivedAt}
	}
	return out, nil
}

// StatementFilter lists issued statements: of one merchant (Nil: any in scope),
// paid ("paid"), unpaid ("unpaid") or both ("").
type StatementFilter struct {
	Merchant uuid.UUID
	Paid     string
	Before   uuid.UUID
	Limit    int
}

// ListStatements pages through the issued statements in the caller's scope
// (billing.settlement.read: finance all, an owner their merchant's), newest first.
func (s *Service) ListStatements(ctx context.Context, p *identity.Principal, f StatementFilter) ([]Statement, error) {
	sc, err := staffScope(p, identity.PermSettlementRead)
	if err != nil {
		return nil, err
	}
	if f.Paid != "" && f.Paid != "paid" && f.Paid != "unpaid" {
		return nil, errs.E(errs.KindInvalid, CodeInvalidFilter, "paid or unpaid").WithField("paid")
	}
	rows, err := billingdb.New(s.db).ListStatements(ctx, billingdb.ListStatementsParams{ScopeAll: sc.SeesAll(),
		ScopeMerchantIds: sc.MerchantIDs(), MerchantID: uuid.NullUUID{UUID: f.Merchant, Valid: f.Merchant != uuid.Nil},
		Paid: f.Paid, Before: f.Before, Lim: pg.PageLimit(f.Limit)})
	if err != nil {
		return nil, wrap("list statements", err)
	}
	out := make([]Statement, len(rows))
	for i, r := range rows {
		out[i] = statementOf(r, periodName(r))
	}
	return out, nil
}

// StatementByID is an issued statement (in the caller's scope; else not found).
func (s *Service) StatementByID(ctx context.Context, p *identity.Principal, id uuid.UUID) (Statement, error) {
	r, err := billingdb.New(s.db).GetStatement(ctx, id)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return Statement{}, errs.NotFound(objStatement)
		}
		return Statement{}, wrap("statement", err)
	}
	if _, err := statementScope(p, r.MerchantID); err != nil {
		return Statement{}, err
	}
	return statementOf(r, periodName(r)), nil
}

// StatementLine is one ledger entry a statement sums, signed as the merchant sees it:
// Gross is what the consumer paid (a refund's is negative), Commission and Fee what
// came off it (a refund's give back, so are negative), Net what the merchant is owed.
type StatementLine struct {
	EntryID       uuid.UUID `json:"entry_id"`
	Kind          string    `json:"kind"` // payment, refund, fee, adjustment
	At            time.Time `json:"at"`
	OrderID       uuid.UUID `json:"order_id,omitempty"`
	OrderNo       string    `json:"order_no,omitempty"`
	SourceKey     string    `json:"source_key,omitempty"`
	GrossFen      int64     `json:"gross_fen"`
	CommissionFen int64     `json:"commission_fen"`
	FeeFen        int64     `json:"fee_fen"`
	AdjustmentFen int64     `json:"adjustment_fen"`
	NetFen        int64     `json:"net_fen"`
	Reason        string    `json:"reason,omitempty"` // an adjustment's
}

// StatementLines are the entries and adjustments behind a statement: those of its
// period booked before it was issued (for a preview, all booked so far); their sums
// are the statement's figures.
func (s *Service) StatementLines(ctx context.Context, p *identity.Principal, st Statement) ([]StatementLine, error) {
	if _, err := statementScope(p, st.MerchantID); err != nil {
		return nil, err
	}
	from, to, _, err := period(st.Cycle, st.Period)
	if err != nil {
		return nil, err
	}
	q := billingdb.New(s.db)
	rows, err := q.StatementLines(ctx, billingdb.StatementLinesParams{MerchantID: st.MerchantID, FromAt: from, ToAt: to, AsOf: asOf(st)})
	if err != nil {
		return nil, wrap("statement lines", err)
	}
	out := make([]StatementLine, 0, len(rows))
	for _, r := range rows {
		l := StatementLine{EntryID: r.EntryID, Kind: r.Kind, At: r.At, OrderID: r.OrderID, OrderNo: r.OrderNo,
			SourceKey: r.SourceKey, CommissionFen: -r.CommissionFen, NetFen: -r.PayableFen}
		switch r.Kind {
		case "fee":
			l.FeeFen = r.PayableFen
		default: // payment and refund: the consumer's money in (or back out of) clearing
			l.GrossFen = r.ClearingFen
		}
		out = append(out, l)
	}
	adj, err := q.PeriodAdjustments(ctx, billingdb.PeriodAdjustmentsParams{MerchantID: st.MerchantID, FromAt: from, ToAt: to})
	if err != nil {
		return nil, wrap("statement adjustments", err)
	}
	for _, a := range adj {
		out = append(out, StatementLine{EntryID: a.ID, Kind: "adjustment", At: a.At, AdjustmentFen: a.AmountFen,
			NetFen: a.AmountFen, Reason: a.Reason})
	}
	return out, nil
}

// asOf is the last booking time a statement counts: when it was issued, or (a preview) any.
func asOf(st Statement) time.Time {
	if st.IssuedAt != nil {
		return *st.IssuedAt
	}
	return farFuture
}

var farFuture = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

// States are the order states, in the machine's order.
var States = []State{StateCreated, StatePaying, StatePaid, StatePartiallyRefunded, StateRefunded, StateClosed}

func (s State) known() bool { return slices.Contains(States, s) }
