package merchant

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Assignment (分配): a manager holding merchant.lead.assign gives leads of their scope
// to a rep of their scope: from the pool (assigned) or from another rep (transferred).
// The receiving rep's holding cap applies (the cap of the lead's pool), under the same
// per-rep lock as claims; the daily quota and the cooldown are the rep's own limits on
// claiming and do not bind a manager's decision.

// Codes of assignment refusals.
const (
	CodeAssigneeUnavailable = "merchant.assignee_unavailable" // disabled, or not a person in the caller's scope
	CodeAlreadyHeld         = "merchant.already_held"         // the lead is already the assignee's
	CodeLeadSigned          = "merchant.lead_signed"          // in onboarding or live: its owner stays
)

// MaxBulk is how many leads one bulk assignment or hand-over takes.
const MaxBulk = 200

// AssignOutcome is what became of one lead of an assignment.
type AssignOutcome struct {
	LeadID  uuid.UUID `json:"lead_id"`
	Lead    *Lead     `json:"lead,omitempty"` // when assigned
	Code    string    `json:"code,omitempty"` // when refused
	Message string    `json:"message,omitempty"`
	// Params are a rule's numbers when a rule refused (see Refusal).
	Params map[string]any `json:"params,omitempty"`
}

// Assign gives each lead to the rep to, each in its own transaction: one refusal (a
// full cap, a lead out of scope) does not undo the others, and each says why.
func (s *Service) Assign(ctx context.Context, p *identity.Principal, leadIDs []uuid.UUID, to uuid.UUID, reason string) ([]AssignOutcome, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	sc, err := p.Require(identity.PermLeadAssign)
	if err != nil {
		return nil, err
	}
	switch {
	case len(leadIDs) == 0:
		return nil, errs.Invalidf("lead_ids", "name at least one lead")
	case len(leadIDs) > MaxBulk:
		return nil, errs.Invalidf("lead_ids", "at most %d leads at once", MaxBulk)
	case strings.TrimSpace(reason) == "":
		return nil, errs.Invalidf("reason", "say why the leads change hands")
	}
	rep, err := s.assignee(ctx, sc, to)
	if err != nil {
		return nil, err
	}
	out := make([]AssignOutcome, 0, len(leadIDs))
	for _, id := range leadIDs {
		l, err := s.assignOne(ctx, p, sc, id, rep, strings.TrimSpace(reason))
		o := AssignOutcome{LeadID: id}
		if e := errs.As(err); e != nil && e.Kind != errs.KindInternal {
			o.Code, o.Message = e.Code, e.Message
			var r *Refusal
			if errors.As(err, &r) {
				o.Params = r.Params
			}
		} else if err != nil {
			return nil, err
		} else {
			o.Lead = &l
		}
		out = append(out, o)
	}
	return out, nil
}

// assignee is the rep to, when a working person in the scope sc.
func (s *Service) assignee(ctx context.Context, sc identity.Scope, to uuid.UUID) (StaffMember, error) {
	if to == uuid.Nil {
		return StaffMember{}, errs.Invalidf("to", "name the rep who takes the leads")
	}
	rep, err := s.member(ctx, to)
	if err != nil || !sc.Allows(identity.Row{Owner: rep.ID, OrgUnit: rep.OrgUnitID}) {
		return StaffMember{}, errs.E(errs.KindUnprocessable, CodeAssigneeUnavailable, "no such rep in your scope").WithField("to")
	}
	if rep.Disabled {
		return StaffMember{}, errs.E(errs.KindUnprocessable, CodeAssigneeUnavailable, rep.Name+" is disabled").WithField("to")
	}
	return rep, nil
}

func (s *Service) assignOne(ctx context.Context, p *identity.Principal, sc identity.Scope, id uuid.UUID, rep StaffMember, reason string) (Lead, error) {
	var out Lead
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		if err := q.LockRep(ctx, rep.ID); err != nil {
			return err
		}
		l, err := q.GetLeadForUpdate(ctx, id)
		if err != nil {
			return notFound(err, "merchant.lead")
		}
		if !sc.Allows(leadRow(l)) {
			return errs.NotFound("merchant.lead")
		}
		if l.OwnerID.UUID == rep.ID {
			return errs.E(errs.KindConflict, CodeAlreadyHeld, "the lead is already "+rep.Name+"'s")
		}
		if st := Stage(l.Stage); st == StageOnboarding || st == StageLive {
			return errs.E(errs.KindConflict, CodeLeadSigned, "a lead in onboarding or live keeps its owner")
		}
		pool, err := q.GetPool(ctx, l.PoolID)
		if err != nil {
			return err
		}
		if Stage(l.Stage) != StageLost {
			if err := checkHoldingCap(ctx, q, rep.ID, pool); err != nil {
				return err
			}
		}
		now, unit := s.now(), nullUUID(rep.OrgUnitID)
		if !unit.Valid {
			unit = pool.OrgUnitID
		}
		event, moved := EventAssigned, merchantdb.MerchantLead{}
		if l.OwnerID.Valid {
			event = EventTransferred
			moved, err = q.MoveOwner(ctx, merchantdb.MoveOwnerParams{ID: l.ID, OwnerID: nullUUID(rep.ID), OrgUnitID: unit, At: now, FromOwner: l.OwnerID})
		} else {
			moved, err = q.TakeFromPool(ctx, merchantdb.TakeFromPoolParams{ID: l.ID, OwnerID: nullUUID(rep.ID), OrgUnitID: unit, At: now})
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return refuse(CodeNotInPool, nil, "the lead changed hands meanwhile")
		}
		if err != nil {
			return err
		}
		if err := ownerChange(ctx, q, l.ID, event, l.OwnerID.UUID, rep.ID, typedReason(reason), p.User.ID, now); err != nil {
			return err
		}
		out = leadView(p, moved)
		action := "merchant.lead.assign"
		if event == EventTransferred {
			action = "merchant.lead.transfer"
		}
		return record(ctx, tx, p, action, "merchant.lead", l.ID,
			map[string]any{"owner_id": ptr(l.OwnerID)}, map[string]any{"owner_id": rep.ID, "reason": reason})
	})
	if err != nil {
		return Lead{}, fmt.Errorf("merchant: assign: %w", pg.Classify(err))
	}
	return out, nil
}

// HandOver is the rule for a rep who is disabled or moves team: a manager holding
// merchant.lead.assign over the rep hands their open leads over, to another rep
// (transferred, that rep's cap applies) or, with to = uuid.Nil, back to each lead's
// pool (reclaimed), where the pool's managers see them. Leads in onboarding or live
// keep their owner: the merchant was signed by them. It takes up to MaxBulk leads a
// call; the caller repeats until none is left.
func (s *Service) HandOver(ctx context.Context, p *identity.Principal, from, to uuid.UUID, reason string) ([]AssignOutcome, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	sc, err := p.Require(identity.PermLeadAssign)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, errs.Invalidf("reason", "say why the rep's leads are handed over")
	}
	who, err := s.member(ctx, from)
	if err != nil || !sc.Allows(identity.Row{Owner: who.ID, OrgUnit: who.OrgUnitID}) {
		return nil, errs.NotFound("merchant.user")
	}
	rows, err := merchantdb.New(s.db).ListHeldBy(ctx, nullUUID(from))
	if err != nil {
		return nil, fmt.Errorf("merchant: hand over: %w", pg.Classify(err))
	}
	var ids []uuid.UUID
	for _, r := range rows {
		if st := Stage(r.Stage); st != StageOnboarding && st != StageLive && len(ids) < MaxBulk {
			ids = append(ids, r.ID)
		}
	}
	if to != uuid.Nil {
		if len(ids) == 0 {
			return []AssignOutcome{}, nil
		}
		return s.Assign(ctx, p, ids, to, reason)
	}
	out := make([]AssignOutcome, 0, len(ids))
	for _, id := range ids {
		var l Lead
		err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
			row, err := q.GetLeadForUpdate(ctx, id)
			if err != nil {
				return notFound(err, "merchant.lead")
			}
			if row.OwnerID.UUID != from || !sc.Allows(leadRow(row)) {
				return errs.NotFound("merchant.lead")
			}
			back, err := s.returnToPool(ctx, q, row, EventReclaimed, typedReason(reason), p.User.ID)
			if err != nil {
				return err
			}
			l = leadView(p, back)
			return record(ctx, tx, p, "merchant.lead.reclaim", "merchant.lead", id,
				map[string]any{"owner_id": from}, map[string]any{"owner_id": nil, "reason": reason})
		})
		o := AssignOutcome{LeadID: id}
		if e := errs.As(err); e != nil && e.Kind != errs.KindInternal {
			o.Code, o.Message = e.Code, e.Message
		} else if err != nil {
			return nil, fmt.Errorf("merchant: hand over: %w", pg.Classify(err))
		} else {
			o.Lead = &l
		}
		out = append(out, o)
	}
	return out, nil
}

// SetLocked locks a lead (nobody claims it from the pool; the reclaim passes it by) or
// unlocks it; the admins of its pool only, with a reason, audited.
func (s *Service) SetLocked(ctx context.Context, p *identity.Principal, leadID uuid.UUID, locked bool, reason string) (Lead, error) {
	if err := principal(p); err != nil {
		return Lead{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return Lead{}, errs.Invalidf("reason", "say why the lead is locked or unlocked")
	}
	var out Lead
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := q.GetLeadForUpdate(ctx, leadID)
		if err != nil {
			return notFound(err, "merchant.lead")
		}
		if ok, err := canSee(ctx, q, p, l); err != nil {
			return err
		} else if !ok {
			return errs.NotFound("merchant.lead")
		}
		if _, err := adminPool(ctx, q, p, l.PoolID); err != nil {
			return err
		}
		row, err := q.SetLocked(ctx, merchantdb.SetLockedParams{ID: l.ID, Locked: locked, UpdatedAt: s.now()})
		if err != nil {
			return err
		}
		out = leadView(p, row)
		return record(ctx, tx, p, "merchant.lead.lock", "merchant.lead", l.ID,
			map[string]any{"locked": l.Locked}, map[string]any{"locked": locked, "reason": reason})
	})
	if err != nil {
		return Lead{}, fmt.Errorf("merchant: lock: %w", pg.Classify(err))
	}
	return out, nil
}
