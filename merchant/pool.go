package merchant

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Owner-change events of the owner history.
const (
	EventCreated     = "created"
	EventClaimed     = "claimed"
	EventReleased    = "released"
	EventAssigned    = "assigned"    // from the pool to a rep, by a manager
	EventTransferred = "transferred" // from one rep to another, by a manager
	EventReclaimed   = "reclaimed"   // back to the pool by a rule or a hand-over
)

// Claim moves a lead from a pool the caller belongs to into their hands, when the
// pool's rules allow it (pool_rules.go). The caller's claims are serialised by a
// per-rep transaction lock, so the cap and the quota never overshoot; between reps the
// conditional update lets exactly one win, and the others get 409
// merchant.lead_not_in_pool. A lead of a pool the caller is no member of is "not found".
func (s *Service) Claim(ctx context.Context, p *identity.Principal, leadID uuid.UUID) (Lead, error) {
	if err := principal(p); err != nil {
		return Lead{}, err
	}
	if _, err := p.Require(identity.PermLeadWrite); err != nil {
		return Lead{}, err
	}
	var out Lead
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		if err := q.LockRep(ctx, p.User.ID); err != nil {
			return err
		}
		l, err := q.GetLead(ctx, leadID)
		if err != nil {
			return notFound(err, "merchant.lead")
		}
		role, err := membership(ctx, q, p, l.PoolID)
		if err != nil {
			return err
		}
		if role == "" {
			if ok, err := canSee(ctx, q, p, l); err != nil || !ok || !l.OwnerID.Valid {
				return errs.NotFound("merchant.lead") // not a member: the pool's leads are not theirs to take
			}
		}
		if l.OwnerID.Valid {
			return refuse(CodeNotInPool, nil, "this lead is not in the pool: someone holds it")
		}
		pool, err := q.GetPool(ctx, l.PoolID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := checkClaim(ctx, q, p.User.ID, pool, l, now); err != nil {
			return err
		}
		if err := checkHoldingCap(ctx, q, p.User.ID, pool); err != nil {
			return err
		}
		unit := p.User.OrgUnitID
		if !unit.Valid {
			unit = pool.OrgUnitID
		}
		taken, err := q.TakeFromPool(ctx, merchantdb.TakeFromPoolParams{ID: l.ID, OwnerID: nullUUID(p.User.ID), OrgUnitID: unit, At: now})
		if errors.Is(err, pgx.ErrNoRows) {
			return refuse(CodeNotInPool, nil, "this lead is not in the pool any more: someone claimed it first")
		}
		if err != nil {
			return err
		}
		if err := ownerChange(ctx, q, taken.ID, EventClaimed, uuid.Nil, p.User.ID, systemReason(ReasonClaimedFrom, "pool", pool.Name), p.User.ID, now); err != nil {
			return err
		}
		out = leadView(p, taken)
		return record(ctx, tx, p, "merchant.lead.claim", "merchant.lead", l.ID,
			map[string]any{"owner_id": nil}, map[string]any{"owner_id": p.User.ID, "org_unit_id": ptr(taken.OrgUnitID)})
	})
	if err != nil {
		return Lead{}, fmt.Errorf("merchant: claim: %w", pg.Classify(err))
	}
	return out, nil
}

// ownerChange appends one entry to a lead's owner history.
func ownerChange(ctx context.Context, q *merchantdb.Queries, lead uuid.UUID, event string, from, to uuid.UUID, reason Reason, by uuid.UUID, at time.Time) error {
	return q.InsertOwnerHistory(ctx, merchantdb.InsertOwnerHistoryParams{ID: newID(), LeadID: lead, Event: event,
		FromOwner: nullUUID(from), ToOwner: nullUUID(to), Reason: reason.Text, ReasonCode: string(reason.Code),
		ReasonParams: reason.paramsJSON(), ByUser: by, At: at})
}

// Release returns a lead the caller may work to its pool, with a reason. With the
// pool's new-in-pool protection, nobody may claim it for that many hours.
func (s *Service) Release(ctx context.Context, p *identity.Principal, leadID uuid.UUID, reason string) (Lead, error) {
	if err := principal(p); err != nil {
		return Lead{}, err
	}
	if strings.TrimSpace(reason) == "" {
		return Lead{}, errs.Invalidf("reason", "say why the lead goes back to the pool")
	}
	var out Lead
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermLeadWrite, leadID)
		if err != nil {
			return err
		}
		if !l.OwnerID.Valid {
			return errs.E(errs.KindConflict, "merchant.lead_in_pool", "the lead is already in the pool")
		}
		if st := Stage(l.Stage); st == StageOnboarding || st == StageLive {
			return errs.E(errs.KindConflict, "merchant.lead_signed", "a lead in onboarding or live cannot go back to the pool")
		}
		released, err := s.returnToPool(ctx, q, l, EventReleased, typedReason(reason), p.User.ID)
		if err != nil {
			return err
		}
		out = leadView(p, released)
		return record(ctx, tx, p, "merchant.lead.release", "merchant.lead", l.ID,
			map[string]any{"owner_id": l.OwnerID.UUID}, map[string]any{"owner_id": nil, "reason": reason})
	})
	if err != nil {
		return Lead{}, fmt.Errorf("merchant: release: %w", pg.Classify(err))
	}
	return out, nil
}

// returnToPool puts a held lead back in its pool (released or reclaimed), protected
// for the pool's protect_hours, with its owner history entry.
func (s *Service) returnToPool(ctx context.Context, q *merchantdb.Queries, l merchantdb.MerchantLead, event string, reason Reason, by uuid.UUID) (merchantdb.MerchantLead, error) {
	pool, err := q.GetPool(ctx, l.PoolID)
	if err != nil {
		return l, err
	}
	now := s.now()
	var until *time.Time
	if pool.ProtectHours > 0 {
		t := now.Add(time.Duration(pool.ProtectHours) * time.Hour)
		until = &t
	}
	back, err := q.ReturnToPool(ctx, merchantdb.ReturnToPoolParams{ID: l.ID, OwnerID: l.OwnerID, ProtectedUntil: until, At: now})
	if err != nil {
		return l, err
	}
	return back, ownerChange(ctx, q, l.ID, event, l.OwnerID.UUID, uuid.Nil, reason, by, now)
}

// OwnerChange is one entry of a lead's owner history.
type OwnerChange struct {
	Event  string     `json:"event"` // created, claimed, released, assigned, transferred, reclaimed
	From   *uuid.UUID `json:"from"`
	To     *uuid.UUID `json:"to"`
	Reason string     `json:"reason"` // in English, or as a person typed it
	// ReasonCode and ReasonParams say the system's reasons structurally (history_reasons.go);
	// empty when a person gave the reason.
	ReasonCode   ReasonCode        `json:"reason_code,omitempty"`
	ReasonParams map[string]string `json:"reason_params,omitempty"`
	By           uuid.UUID         `json:"by"`
	At           time.Time         `json:"at"`
}

// OwnerHistory lists a lead's changes of owner, oldest first.
func (s *Service) OwnerHistory(ctx context.Context, p *identity.Principal, leadID uuid.UUID) ([]OwnerChange, error) {
	if _, err := s.GetLead(ctx, p, leadID); err != nil {
		return nil, err
	}
	rows, err := merchantdb.New(s.db).ListOwnerHistory(ctx, leadID)
	if err != nil {
		return nil, fmt.Errorf("merchant: owner history: %w", pg.Classify(err))
	}
	out := make([]OwnerChange, len(rows))
	for i, r := range rows {
		params, err := reasonParams(r.ReasonParams)
		if err != nil {
			return nil, err
		}
		out[i] = OwnerChange{Event: r.Event, From: ptr(r.FromOwner), To: ptr(r.ToOwner), Reason: r.Reason,
			ReasonCode: ReasonCode(r.ReasonCode), ReasonParams: params, By: r.ByUser, At: r.At.UTC()}
	}
	return out, nil
}
