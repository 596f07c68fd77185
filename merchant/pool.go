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

// Codes of refused claims.
const (
	CodeNotInPool  = "merchant.lead_not_in_pool"
	CodeHoldingCap = "merchant.holding_cap"
)

// Claim moves a lead from the public pool into the caller's private pool. Two reps
// claiming one lead at once: the conditional update lets exactly one win, the other
// gets 409 merchant.lead_not_in_pool. The holding cap is checked under a per-rep
// transaction lock, so concurrent claims by one rep never overshoot it.
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
		held, err := q.CountHeld(ctx, nullUUID(p.User.ID))
		if err != nil {
			return err
		}
		if held >= int64(s.cfg.HoldingCap) {
			return errs.E(errs.KindConflict, CodeHoldingCap,
				fmt.Sprintf("you already hold %d leads, the cap is %d: release one first", held, s.cfg.HoldingCap))
		}
		now := s.now()
		l, err := q.ClaimLead(ctx, merchantdb.ClaimLeadParams{ID: leadID, OwnerID: nullUUID(p.User.ID),
			OrgUnitID: p.User.OrgUnitID, At: now})
		if errors.Is(err, pgx.ErrNoRows) {
			cur, gerr := q.GetLead(ctx, leadID)
			if gerr != nil || !canRead(p, cur) {
				return errs.NotFound("merchant.lead")
			}
			return errs.E(errs.KindConflict, CodeNotInPool, "this lead is not in the public pool: someone holds it")
		}
		if err != nil {
			return err
		}
		if err := q.InsertOwnerHistory(ctx, merchantdb.InsertOwnerHistoryParams{ID: newID(), LeadID: l.ID,
			Event: "claimed", ToOwner: l.OwnerID, Reason: "claimed from the public pool", ByUser: p.User.ID, At: now}); err != nil {
			return err
		}
		out = leadView(p, l)
		return record(ctx, tx, p, "merchant.lead.claim", "merchant.lead", l.ID,
			map[string]any{"owner_id": nil}, map[string]any{"owner_id": p.User.ID, "org_unit_id": ptr(l.OrgUnitID)})
	})
	if err != nil {
		return Lead{}, fmt.Errorf("merchant: claim: %w", pg.Classify(err))
	}
	return out, nil
}

// Release returns a lead the caller may work to the public pool, with a reason.
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
			return errs.E(errs.KindConflict, "merchant.lead_in_pool", "the lead is already in the public pool")
		}
		if st := Stage(l.Stage); st == StageOnboarding || st == StageLive {
			return errs.E(errs.KindConflict, "merchant.lead_signed", "a lead in onboarding or live cannot go back to the pool")
		}
		now := s.now()
		released, err := q.ReleaseLead(ctx, merchantdb.ReleaseLeadParams{ID: l.ID, OwnerID: l.OwnerID, At: now})
		if err != nil {
			return err
		}
		if err := q.InsertOwnerHistory(ctx, merchantdb.InsertOwnerHistoryParams{ID: newID(), LeadID: l.ID,
			Event: "released", FromOwner: l.OwnerID, Reason: reason, ByUser: p.User.ID, At: now}); err != nil {
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

// OwnerChange is one entry of a lead's owner history.
type OwnerChange struct {
	Event  string     `json:"event"` // created, claimed, released, transferred, reclaimed
	From   *uuid.UUID `json:"from"`
	To     *uuid.UUID `json:"to"`
	Reason string     `json:"reason"`
	By     uuid.UUID  `json:"by"`
	At     time.Time  `json:"at"`
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
		out[i] = OwnerChange{Event: r.Event, From: ptr(r.FromOwner), To: ptr(r.ToOwner), Reason: r.Reason, By: r.ByUser, At: r.At.UTC()}
	}
	return out, nil
}
