package merchant

import (
	"context"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
)

// CodeVisitNeeded refuses "visited" for a lead with no accepted check-in.
const CodeVisitNeeded = "merchant.visit_needed"

// checkStageRules applies the rules of a manual stage move beyond the legal moves:
// "visited" needs an accepted check-in; reopening a lost lead gives its owner one more
// open lead, so the holding cap of its pool applies (under the owner's lock).
func checkStageRules(ctx context.Context, q *merchantdb.Queries, l merchantdb.MerchantLead, to Stage) error {
	if to == StageVisited {
		n, err := q.CountAcceptedVisits(ctx, l.ID)
		if err != nil {
			return err
		}
		if n == 0 {
			return errs.E(errs.KindUnprocessable, CodeVisitNeeded, "check in at the shop before marking it visited").WithField("stage")
		}
	}
	if Stage(l.Stage) == StageLost && to != StageLost && l.OwnerID.Valid {
		if err := q.LockRep(ctx, l.OwnerID.UUID); err != nil {
			return err
		}
		pool, err := q.GetPool(ctx, l.PoolID)
		if err != nil {
			return err
		}
		return checkHoldingCap(ctx, q, l.OwnerID.UUID, pool)
	}
	return nil
}
