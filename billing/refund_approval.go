package billing

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/billing/internal/billingdb"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Refunds over Config.RefundApprovalOver wait for a second person (shared/approval):
// the refund is recorded pending_approval, reserving its amount, and WeChat is not
// called. Another holder of billing.refund.create whose scope reaches the order's
// merchant (never the requester) approves it — it becomes requested and is sent to
// WeChat right after — or rejects it, which frees its amount.

// KindRefundApproval is the approval kind of a refund over the limit.
const KindRefundApproval = "billing.refund_over_limit"

// RefundPendingApproval is the state of a refund waiting for its approval.
const RefundPendingApproval = "pending_approval"

// SubscriberRefundApproval is billing's subscriber of approval decisions: it sends an
// approved refund to WeChat once the decision has committed.
const SubscriberRefundApproval = "billing.refund_approval"

// needsApproval reports whether a refund of fen waits for an approval.
func (s *Service) needsApproval(fen int64) bool {
	return s.cfg.RefundApprovalOver > 0 && fen > s.cfg.RefundApprovalOver
}

// requestRefundApproval records ref as pending_approval with its approval request, in tx.
func (s *Service) requestRefundApproval(ctx context.Context, tx pgx.Tx, p *identity.Principal, o billingdb.BillingOrder, ref *billingdb.BillingRefund) error {
	if s.ports.Approvals == nil {
		return fmt.Errorf("billing: refunds over %d fen need an approval and no approval flow is configured", s.cfg.RefundApprovalOver)
	}
	amount := money.MustNew(ref.AmountFen, money.Currency(o.Currency))
	r, err := s.ports.Approvals.Request(ctx, tx, p, approval.NewRequest{Kind: KindRefundApproval,
		Subject:  approval.Subject{Type: "billing.refund", ID: ref.ID.String()},
		Title:    fmt.Sprintf("退款 Refund %s · %s ¥%s", ref.OutRefundNo, o.OrderNo, amount),
		Summary:  ref.Reason,
		Approver: identity.PermRefundCreate,
		Scope:    identity.Row{Merchant: o.MerchantID},
		Payload:  map[string]any{"order_no": o.OrderNo, "out_refund_no": ref.OutRefundNo, "amount_fen": ref.AmountFen}})
	if err != nil {
		return err
	}
	ref.State, ref.Attempts, ref.ApprovalID = RefundPendingApproval, 0, uuid.NullUUID{UUID: r.ID, Valid: true}
	return billingdb.New(tx).InsertPendingRefund(ctx, billingdb.InsertPendingRefundParams{ID: ref.ID, OrderID: ref.OrderID,
		OutRefundNo: ref.OutRefundNo, RequestKey: ref.RequestKey, AmountFen: ref.AmountFen, Reason: ref.Reason,
		RequestedBy: ref.RequestedBy, CreatedAt: ref.CreatedAt, ApprovalID: ref.ApprovalID})
}

// decideRefund is the approval handler of KindRefundApproval, in the deciding
// transaction: approved, the refund is requested (sendApprovedRefund sends it after
// the commit); rejected, it is rejected with the approver's comment and frees its amount.
func (s *Service) decideRefund(ctx context.Context, tx pgx.Tx, r approval.Request) error {
	id, err := uuid.Parse(r.Subject.ID)
	if err != nil {
		return fmt.Errorf("billing: refund approval of %q: %w", r.Subject.ID, err)
	}
	upd := billingdb.DecideRefundParams{ID: id, State: RefundRequested}
	if r.State != approval.StateApproved {
		upd.State, upd.LastError, upd.RejectedAt = RefundRejected, "approval rejected: "+r.Comment, optTime(s.now())
	}
	n, err := billingdb.New(tx).DecideRefund(ctx, upd)
	if err != nil {
		return err
	}
	if n != 1 {
		return fmt.Errorf("billing: refund %s is no longer waiting for its approval", id)
	}
	return nil
}

// approvalSubscriptions send approved refunds to WeChat.
func (s *Service) approvalSubscriptions() []outbox.Subscription {
	return []outbox.Subscription{{Topic: events.TopicApprovalDecided, Subscriber: SubscriberRefundApproval, Queue: "critical",
		Handle: s.sendApprovedRefund}}
}

// sendApprovedRefund sends a refund its approval let through. Delivered twice, or
// alongside the retry task, WeChat dedupes the out_refund_no and the answer applies once.
func (s *Service) sendApprovedRefund(ctx context.Context, e events.Envelope) error {
	var d events.ApprovalDecided
	if err := e.Decode(&d); err != nil {
		return err
	}
	if d.Kind != KindRefundApproval || !d.Approved {
		return nil
	}
	id, err := uuid.Parse(d.SubjectID)
	if err != nil {
		return fmt.Errorf("billing: approved refund %q: %w", d.SubjectID, err)
	}
	q := billingdb.New(s.db)
	ref, err := q.GetRefund(ctx, id)
	if err != nil {
		return wrap("approved refund", err)
	}
	if ref.State != RefundRequested {
		return nil // sent already, and answered
	}
	o, err := q.GetOrder(ctx, ref.OrderID)
	if err != nil {
		return wrap("approved refund", pg.Classify(err))
	}
	if _, err := s.sendRefund(ctx, ref, o, 1); err != nil {
		s.log.WarnContext(ctx, "billing: an approved refund was refused by WeChat", "out_refund_no", ref.OutRefundNo, "err", err)
	}
	return nil
}
