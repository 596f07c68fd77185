package reconciliation

import (
	"context"
	"fmt"
	"time"
)

// RepairRequest names a bill line WeChat has and we do not.
type RepairRequest struct {
	MchID         string
	Date          string // the bill day
	Kind          Kind
	OutTradeNo    string
	TransactionID string
	OutRefundNo   string // refunds
	RefundID      string // refunds
	AmountFen     int64  // as the bill has it
	At            time.Time
}

// Repairer is the repair of a missing_ours line, declared here and implemented by
// billing: query WeChat Pay for the order (or refund) and, if WeChat confirms it,
// apply it to our books exactly as the lost notification would have (which fires
// fulfilment). It must be idempotent: applying what is already applied succeeds.
type Repairer interface {
	// Repair reports applied=true when the item is now in our books, false with a
	// nil error when WeChat does not confirm it, and an error when it cannot tell.
	Repair(ctx context.Context, req RepairRequest) (applied bool, err error)
}

// repair calls the repairer for each missing_ours exception, at most limit times.
// Items the date's previous run repaired already (prior, by key) are not repaired
// again: a re-run leaves them as they were.
func (s *Service) repair(ctx context.Context, run *Run, excs []Exception, prior map[string]time.Time) {
	calls := 0
	for i := range excs {
		e := &excs[i]
		if e.Class != ClassMissingOurs {
			continue
		}
		if at, ok := prior[e.key()]; ok {
			e.RepairedAt, e.Note = &at, "repaired by an earlier run of this date"
			run.Repaired++
			continue
		}
		if s.ports.Repairer == nil {
			continue
		}
		if calls >= s.cfg.RepairLimit {
			e.Note = fmt.Sprintf("not repaired: more than %d lines to repair in one run, look into the ledger first", s.cfg.RepairLimit)
			continue
		}
		calls++
		req := RepairRequest{MchID: run.MchID, Date: run.Date, Kind: e.Kind, OutTradeNo: e.OutTradeNo,
			TransactionID: e.TransactionID, OutRefundNo: e.OutRefundNo, RefundID: e.RefundID,
			AmountFen: e.Bill.AmountFen, At: e.Bill.At}
		applied, err := s.ports.Repairer.Repair(ctx, req)
		switch {
		case err != nil:
			e.Note = "repair failed: " + err.Error()
			s.log.WarnContext(ctx, "reconciliation: repair failed", "mchid", run.MchID, "date", run.Date,
				"kind", e.Kind.String(), "out_trade_no", e.OutTradeNo, "out_refund_no", e.OutRefundNo, "err", err)
		case applied:
			now := s.now()
			e.RepairedAt, e.Note = &now, "repaired: WeChat confirmed it and it was applied"
			run.Repaired++
		default:
			e.Note = "not repaired: WeChat does not confirm it"
		}
	}
}
