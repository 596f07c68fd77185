// Package billingledger adapts billing to the ports reconciliation declares
// (LedgerSource, Repairer). Billing itself does not import reconciliation (which
// sits to its right); cmd/tandem wires this adapter.
package billingledger

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/tandemcrm/tandem/billing"
	"github.com/tandemcrm/tandem/reconciliation"
	"github.com/tandemcrm/tandem/shared/identity"
)

// Adapter implements reconciliation.LedgerSource and reconciliation.Repairer over
// a billing service.
type Adapter struct{ Billing *billing.Service }

var (
	_ reconciliation.LedgerSource = Adapter{}
	_ reconciliation.Repairer     = Adapter{}
)

// StreamLedger implements reconciliation.LedgerSource with billing's one streaming query.
func (a Adapter) StreamLedger(ctx context.Context, q reconciliation.LedgerQuery, fn func(*reconciliation.Record) error) error {
	var rec reconciliation.Record
	return a.Billing.StreamLedger(ctx, q.MchID, q.From, q.To, func(r *billing.LedgerRecord) error {
		rec = recordOf(r)
		return fn(&rec)
	})
}

func recordOf(r *billing.LedgerRecord) reconciliation.Record {
	rec := reconciliation.Record{Kind: reconciliation.KindPay, OutTradeNo: r.OutTradeNo, TransactionID: r.TransactionID,
		OutRefundNo: r.OutRefundNo, RefundID: r.RefundID, AmountFen: r.AmountFen, Status: r.Status, At: r.At, FeeFen: r.FeeFen}
	if r.Kind == billing.RecordRefund {
		rec.Kind = reconciliation.KindRefund
	}
	return rec
}

var _ reconciliation.LedgerFinder = Adapter{}

// FindLedger implements reconciliation.LedgerFinder with billing's lookup by WeChat's ids.
func (a Adapter) FindLedger(ctx context.Context, mchid string, ids []string, fn func(*reconciliation.Record) error) error {
	var rec reconciliation.Record
	return a.Billing.FindLedger(ctx, mchid, ids, func(r *billing.LedgerRecord) error {
		rec = recordOf(r)
		return fn(&rec)
	})
}

// Repair implements reconciliation.Repairer: WeChat is asked, and what it confirms
// is applied as its notification would have been (fulfilment fires once).
func (a Adapter) Repair(ctx context.Context, req reconciliation.RepairRequest) (bool, error) {
	switch req.Kind {
	case reconciliation.KindPay:
		return a.Billing.QueryAndApply(ctx, req.OutTradeNo)
	case reconciliation.KindRefund:
		return a.Billing.QueryRefundAndApply(ctx, req.OutRefundNo)
	}
	return false, fmt.Errorf("billingledger: cannot repair a %s", req.Kind)
}

var _ reconciliation.SecondPaymentRefunder = Adapter{}

// RefundSecondPayment implements reconciliation.SecondPaymentRefunder with
// billing's refund of a second payment.
func (a Adapter) RefundSecondPayment(ctx context.Context, p *identity.Principal, exceptionID uuid.UUID) (string, error) {
	r, err := a.Billing.RefundSecondPayment(ctx, p, exceptionID)
	return r.OutRefundNo, err
}

var _ reconciliation.FeeBooker = Adapter{}

// BookFees implements reconciliation.FeeBooker with billing's fee entries.
func (a Adapter) BookFees(ctx context.Context, fees []reconciliation.FeeFact) (int, error) {
	out := make([]billing.BillFee, len(fees))
	for i, f := range fees {
		out[i] = billing.BillFee{OutTradeNo: f.OutTradeNo, OutRefundNo: f.OutRefundNo, FeeMilliFen: f.FeeMilliFen}
	}
	return a.Billing.BookFees(ctx, out)
}
