package merchant

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/events"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/outbox"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Automatic hand-over (离职/调岗交接): when identity disables a rep or moves them to
// another team (events.TopicStaffChanged), their open leads go back to their pools:
// all of them when disabled, those of the team they left when moved. Leads in
// onboarding or live keep their owner (the rep signed them; the merchant's history
// names them). Each lead is reclaimed with the reason, by the system, audited, and
// marked as handed over from the rep, so the pool's managers find it (the board's
// "handed over" list, ?handed_over=true) until someone claims or is given it. A
// repeated event finds nothing more to move: a moved rep's new team's leads are not
// the old team's.

// Hand-over reasons.
const (
	ReasonRepDisabled = "rep disabled: handed over to the pool"
	ReasonRepMoved    = "rep moved to another team: handed over to the pool"
)

func (s *Service) subscriptions() []outbox.Subscription {
	return []outbox.Subscription{{Topic: events.TopicStaffChanged, Subscriber: "merchant.handover", Handle: func(ctx context.Context, e events.Envelope) error {
		var c events.StaffChanged
		if err := e.Decode(&c); err != nil {
			return fmt.Errorf("merchant: decode %s: %w", e.Topic, err)
		}
		_, err := s.HandOverOnStaffChange(ctx, c)
		return err
	}}}
}

// HandOverOnStaffChange applies the hand-over rule to one change; it returns how many
// leads went back to their pools.
func (s *Service) HandOverOnStaffChange(ctx context.Context, c events.StaffChanged) (int, error) {
	q := merchantdb.New(s.db)
	var rows []merchantdb.MerchantLead
	var err error
	reason := systemReason(ReasonHandOverDisabled)
	if c.Disabled {
		rows, err = q.ListHeldBy(ctx, nullUUID(c.UserID))
	} else {
		reason = systemReason(ReasonHandOverMoved)
		rows, err = q.ListHeldInUnit(ctx, merchantdb.ListHeldInUnitParams{OwnerID: nullUUID(c.UserID), UnitID: c.FromUnit})
	}
	if err != nil {
		return 0, fmt.Errorf("merchant: hand over: %w", pg.Classify(err))
	}
	sys := identity.System()
	n := 0
	for _, r := range rows {
		if st := Stage(r.Stage); st == StageOnboarding || st == StageLive {
			continue
		}
		err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
			l, err := q.GetLeadForUpdate(ctx, r.ID)
			if err != nil {
				return err
			}
			if l.OwnerID.UUID != c.UserID || (!c.Disabled && l.OrgUnitID != c.FromUnit) {
				return nil // moved meanwhile
			}
			if st := Stage(l.Stage); st == StageOnboarding || st == StageLive {
				return nil
			}
			if _, err := s.returnToPool(ctx, q, l, EventReclaimed, reason, sys.User.ID); err != nil {
				return err
			}
			if err := q.MarkHandedOver(ctx, merchantdb.MarkHandedOverParams{ID: l.ID, HandedOverFrom: nullUUID(c.UserID)}); err != nil {
				return err
			}
			n++
			return record(ctx, tx, sys, "merchant.lead.hand_over", "merchant.lead", l.ID,
				map[string]any{"owner_id": c.UserID}, map[string]any{"owner_id": nil, "reason": reason.Text})
		})
		if err != nil {
			return n, fmt.Errorf("merchant: hand over %s: %w", r.ID, pg.Classify(err))
		}
	}
	return n, nil
}
