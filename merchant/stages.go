package merchant

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Stage is a lead's place in the pipeline (销售阶段).
type Stage string

const (
	StageLead        Stage = "lead"
	StageContacted   Stage = "contacted"
	StageVisited     Stage = "visited"
	StageNegotiating Stage = "negotiating"
	StageSigned      Stage = "signed"     // set by SignContract
	StageOnboarding  Stage = "onboarding" // set by SubmitOnboarding
	StageLive        Stage = "live"       // set by ApproveOnboarding
	StageLost        Stage = "lost"
)

// manualMoves are the changes a rep makes with MoveStage; signed, onboarding and live
// are reached only through their use cases (a contract, a submission, an approval).
var manualMoves = map[Stage][]Stage{
	StageLead:        {StageContacted, StageVisited, StageLost},
	StageContacted:   {StageVisited, StageNegotiating, StageLost},
	StageVisited:     {StageNegotiating, StageLost},
	StageNegotiating: {StageLost},
	StageSigned:      {StageLost},
	StageLost:        {StageLead},
}

// CanMove reports whether a rep may move a lead from one stage to another by hand.
func CanMove(from, to Stage) bool { return slices.Contains(manualMoves[from], to) }

// StageChange is one entry of a lead's stage history.
type StageChange struct {
	From   *Stage `json:"from"`
	To     Stage  `json:"to"`
	Reason string `json:"reason"` // in English, or as a person typed it
	// ReasonCode and ReasonParams say the system's reasons structurally (history_reasons.go);
	// empty when a person gave the reason.
	ReasonCode   ReasonCode        `json:"reason_code,omitempty"`
	ReasonParams map[string]string `json:"reason_params,omitempty"`
	By           uuid.UUID         `json:"by"`
	At           time.Time         `json:"at"`
}

// MoveStage moves a lead the caller may work to another stage, when the move is legal
// (409 merchant.illegal_stage otherwise); the change is kept in the stage history and
// the audit log.
func (s *Service) MoveStage(ctx context.Context, p *identity.Principal, leadID uuid.UUID, to Stage, reason string) (Lead, error) {
	if err := principal(p); err != nil {
		return Lead{}, err
	}
	var out Lead
	err := s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermLeadWrite, leadID)
		if err != nil {
			return err
		}
		from := Stage(l.Stage)
		if !CanMove(from, to) {
			return illegalMove(from, to)
		}
		if to == StageLost && strings.TrimSpace(reason) == "" {
			return errs.Invalidf("reason", "say why the lead is lost")
		}
		if err := checkStageRules(ctx, q, l, to); err != nil {
			return err
		}
		l, err = s.setStage(ctx, tx, q, p, l, to, typedReason(reason))
		out = leadView(p, l)
		return err
	})
	if err != nil {
		return Lead{}, fmt.Errorf("merchant: move stage: %w", pg.Classify(err))
	}
	return out, nil
}

func illegalMove(from, to Stage) error {
	return &errs.Error{Kind: errs.KindConflict, Code: "merchant.illegal_stage", Field: "stage",
		Message: fmt.Sprintf("a lead cannot move from %s to %s", from, to)}
}

// setStage changes l's stage in tx, with its history and audit entry.
func (s *Service) setStage(ctx context.Context, tx pgx.Tx, q *merchantdb.Queries, p *identity.Principal,
	l merchantdb.MerchantLead, to Stage, reason Reason) (merchantdb.MerchantLead, error) {
	now := s.now()
	from := l.Stage
	if err := q.SetStage(ctx, merchantdb.SetStageParams{ID: l.ID, Stage: string(to), UpdatedAt: now}); err != nil {
		return l, err
	}
	if err := q.InsertStageHistory(ctx, merchantdb.InsertStageHistoryParams{ID: newID(), LeadID: l.ID,
		FromStage: &from, ToStage: string(to), Reason: reason.Text, ReasonCode: string(reason.Code),
		ReasonParams: reason.paramsJSON(), ByUser: p.User.ID, At: now}); err != nil {
		return l, err
	}
	l.Stage, l.UpdatedAt = string(to), now
	if err := publishStage(ctx, tx, l, Stage(from)); err != nil {
		return l, err
	}
	return l, record(ctx, tx, p, "merchant.lead.stage", "merchant.lead", l.ID,
		map[string]string{"stage": from}, map[string]string{"stage": string(to), "reason": reason.Text})
}

// StageHistory lists a lead's stage changes, oldest first.
func (s *Service) StageHistory(ctx context.Context, p *identity.Principal, leadID uuid.UUID) ([]StageChange, error) {
	if _, err := s.GetLead(ctx, p, leadID); err != nil {
		return nil, err
	}
	rows, err := merchantdb.New(s.db).ListStageHistory(ctx, leadID)
	if err != nil {
		return nil, fmt.Errorf("merchant: stage history: %w", pg.Classify(err))
	}
	out := make([]StageChange, len(rows))
	for i, r := range rows {
		params, err := reasonParams(r.ReasonParams)
		if err != nil {
			return nil, err
		}
		out[i] = StageChange{To: Stage(r.ToStage), Reason: r.Reason, ReasonCode: ReasonCode(r.ReasonCode),
			ReasonParams: params, By: r.ByUser, At: r.At.UTC()}
		if r.FromStage != nil {
			f := Stage(*r.FromStage)
			out[i].From = &f
		}
	}
	return out, nil
}
