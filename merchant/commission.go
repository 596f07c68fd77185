package merchant

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/approval"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Sales commission of a month (销售提成): per signed shop, per shop gone live, and a
// share of the first-month GMV of the shops a rep brought live, computed for a team
// by its lead or city manager and approved through shared/approval by someone else
// with merchant.contract.approve over the team.

// CommissionRules are the amounts of a month's commission.
type CommissionRules struct {
	PerSigningFen int64      `json:"per_signing_fen"` // default 200.00 yuan
	PerLiveFen    int64      `json:"per_live_fen"`    // default 300.00 yuan
	GMVShare      money.Rate `json:"-"`               // default 1% of first-month GMV
	GMVShareText  string     `json:"gmv_share"`
}

func (r CommissionRules) withDefaults() CommissionRules {
	if r.PerSigningFen <= 0 {
		r.PerSigningFen = 20_000
	}
	if r.PerLiveFen <= 0 {
		r.PerLiveFen = 30_000
	}
	if r.GMVShare.Decimal().IsZero() {
		r.GMVShare, _ = money.ParsePercent("1%")
	}
	r.GMVShareText = r.GMVShare.String()
	return r
}

// amount is a rep's commission for what they achieved, exact in fen (the GMV share
// rounded half-even; a month whose refunds outweigh its payments earns no share).
func (r CommissionRules) amount(a Achieved) int64 {
	share := int64(0)
	if a.GMVFen > 0 {
		share = money.MustNew(a.GMVFen, money.CNY).MulRate(r.GMVShare).Fen()
	}
	return int64(a.Signings)*r.PerSigningFen + int64(a.LiveShops)*r.PerLiveFen + share
}

// KindCommission is the approval kind of a commission run.
const KindCommission = "merchant.commission"

// Commission run states.
const (
	CommissionPending  = "pending_approval"
	CommissionApproved = "approved"
	CommissionRejected = "rejected"
	CodeCommissionRun  = "merchant.commission_exists"
)

// CommissionRun is a month's commission of a team, with its lines.
type CommissionRun struct {
	ID         uuid.UUID        `json:"id"`
	Month      string           `json:"month"`
	OrgUnitID  uuid.UUID        `json:"org_unit_id"` // uuid.Nil: every team
	Team       string           `json:"team"`
	State      string           `json:"state"`
	ApprovalID *uuid.UUID       `json:"approval_id,omitempty"`
	TotalFen   int64            `json:"total_fen"`
	Rules      CommissionRules  `json:"rules"`
	ComputedBy uuid.UUID        `json:"computed_by"`
	ComputedAt time.Time        `json:"computed_at"`
	Lines      []CommissionLine `json:"lines"`
}

// CommissionLine is one rep's commission.
type CommissionLine struct {
	RepID     uuid.UUID `json:"rep_id"`
	Name      string    `json:"name"`
	Achieved  Achieved  `json:"achieved"`
	AmountFen int64     `json:"amount_fen"`
}

func commissionOf(r merchantdb.MerchantCommissionRun) CommissionRun {
	out := CommissionRun{ID: r.ID, Month: r.Month.Format("2006-01"), OrgUnitID: r.OrgUnitID.UUID, State: r.State,
		ApprovalID: ptr(r.ApprovalID), TotalFen: r.TotalFen, ComputedBy: r.ComputedBy, ComputedAt: r.ComputedAt.UTC()}
	_ = json.Unmarshal(r.Rules, &out.Rules)
	out.Rules.GMVShare, _ = money.ParsePercent(out.Rules.GMVShareText)
	return out
}

// ComputeCommission computes a team's commission of a month and asks for its
// approval: for team leads and city managers (merchant.lead.assign) over the team;
// uuid.Nil for every team needs a scope over all. A month's run is computed once
// until rejected (409 merchant.commission_exists).
func (s *Service) ComputeCommission(ctx context.Context, p *identity.Principal, monthText string, unit uuid.UUID) (CommissionRun, error) {
	if err := principal(p); err != nil {
		return CommissionRun{}, err
	}
	sc, err := p.Require(identity.PermLeadAssign)
	if err != nil {
		return CommissionRun{}, err
	}
	month, err := parseMonth("month", monthText)
	if err != nil {
		return CommissionRun{}, err
	}
	if unit == uuid.Nil && !sc.SeesAll() {
		return CommissionRun{}, errs.Invalidf("org_unit_id", "name the team the commission is for")
	}
	if unit != uuid.Nil && !sc.Allows(identity.Row{OrgUnit: unit}) {
		return CommissionRun{}, errs.NotFound("merchant.team")
	}
	if unit != uuid.Nil {
		seen, err := s.unitsSeen(ctx, p)
		if err != nil {
			return CommissionRun{}, err
		}
		if !seen(unit) {
			return CommissionRun{}, errs.NotFound("merchant.team")
		}
	}
	if s.approvals == nil {
		return CommissionRun{}, errs.E(errs.KindUnavailable, "merchant.approvals_unset", "no approval flow is configured")
	}
	team := identity.AllScope()
	if unit != uuid.Nil {
		team = identity.NewScope(identity.LevelTeam, uuid.Nil, []uuid.UUID{unit}, uuid.Nil)
	}
	rules := s.cfg.Commission
	q := merchantdb.New(s.db)
	byRep, _, err := s.achievements(ctx, q, team, month)
	if err != nil {
		return CommissionRun{}, fmt.Errorf("merchant: commission: %w", pg.Classify(err))
	}
	names := s.namer(ctx)
	names.load(slices.Collect(maps.Keys(byRep))...)
	run := CommissionRun{ID: newID(), Month: month.Format("2006-01"), OrgUnitID: unit, State: CommissionPending, Rules: rules,
		ComputedBy: p.User.ID, ComputedAt: s.now()}
	for rep, a := range byRep {
		if rep == uuid.Nil {
			continue
		}
		l := CommissionLine{RepID: rep, Achieved: a, AmountFen: rules.amount(a)}
		l.Name, _ = names.rep(rep)
		run.Lines = append(run.Lines, l)
		run.TotalFen += l.AmountFen
	}
	slices.SortFunc(run.Lines, func(a, b CommissionLine) int { return int(b.AmountFen - a.AmountFen) })
	run.Team = names.team(unit)
	rulesJSON, _ := json.Marshal(rules)
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		if err := q.InsertCommissionRun(ctx, merchantdb.InsertCommissionRunParams{ID: run.ID, Month: month, OrgUnitID: nullUUID(unit),
			State: run.State, TotalFen: run.TotalFen, Rules: rulesJSON, ComputedBy: run.ComputedBy, ComputedAt: run.ComputedAt}); err != nil {
			if pg.IsUniqueViolation(err, "commission_runs_current_key") {
				return &errs.Error{Kind: errs.KindConflict, Code: CodeCommissionRun, Field: "month",
					Message: "this month's commission of the team is computed already; it is computed again only once rejected"}
			}
			return err
		}
		for _, l := range run.Lines {
			if err := q.InsertCommissionLine(ctx, merchantdb.InsertCommissionLineParams{RunID: run.ID, RepID: l.RepID, OrgUnitID: nullUUID(unit),
				Signings: int32(l.Achieved.Signings), LiveShops: int32(l.Achieved.LiveShops), GmvFen: l.Achieved.GMVFen, AmountFen: l.AmountFen}); err != nil {
				return err
			}
		}
		r, err := s.approvals.Request(ctx, tx, p, approval.NewRequest{Kind: KindCommission,
			Subject:  approval.Subject{Type: "merchant.commission_run", ID: run.ID.String()},
			Title:    fmt.Sprintf("提成 Commission %s %s: ¥%s", run.Month, run.Team, money.MustNew(run.TotalFen, money.CNY)),
			Summary:  fmt.Sprintf("%d reps", len(run.Lines)),
			Approver: identity.PermContractApprove, Scope: identity.Row{OrgUnit: unit},
			Payload: map[string]any{"month": run.Month, "total_fen": run.TotalFen}})
		if err != nil {
			return err
		}
		run.ApprovalID = &r.ID
		if err := q.SetCommissionApproval(ctx, merchantdb.SetCommissionApprovalParams{ID: run.ID, ApprovalID: nullUUID(r.ID)}); err != nil {
			return err
		}
		return record(ctx, tx, p, "merchant.commission.compute", "merchant.commission_run", run.ID, nil, run)
	})
	if err != nil {
		return CommissionRun{}, fmt.Errorf("merchant: commission: %w", pg.Classify(err))
	}
	return run, nil
}

// decideCommission is the approval handler of KindCommission, in the deciding transaction.
func (s *Service) decideCommission(ctx context.Context, tx pgx.Tx, r approval.Request) error {
	id, err := uuid.Parse(r.Subject.ID)
	if err != nil {
		return fmt.Errorf("merchant: commission approval of %q: %w", r.Subject.ID, err)
	}
	state := CommissionRejected
	if r.State == approval.StateApproved {
		state = CommissionApproved
	}
	if _, err := merchantdb.New(tx).DecideCommissionRun(ctx, merchantdb.DecideCommissionRunParams{ID: id, State: state}); err != nil {
		return fmt.Errorf("merchant: decide commission %s: %w", id, err)
	}
	return nil
}

// commissionScope is who reads commission runs: merchant.lead.assign (the team's
// lead and city manager) or merchant.contract.approve (their approvers).
func commissionScope(p *identity.Principal) (identity.Scope, error) {
	if p.Can(identity.PermContractApprove) {
		return p.Scope(identity.PermContractApprove), nil
	}
	return p.Require(identity.PermLeadAssign)
}

// CommissionRuns lists the runs in the caller's scope, newest month first.
func (s *Service) CommissionRuns(ctx context.Context, p *identity.Principal) ([]CommissionRun, error) {
	if err := principal(p); err != nil {
		return nil, err
	}
	sc, err := commissionScope(p)
	if err != nil {
		return nil, err
	}
	rows, err := merchantdb.New(s.db).ListCommissionRuns(ctx, merchantdb.ListCommissionRunsParams{ScopeAll: sc.SeesAll(), ScopeOrgUnitIds: sc.OrgUnitIDs()})
	if err != nil {
		return nil, fmt.Errorf("merchant: commission runs: %w", pg.Classify(err))
	}
	names := s.namer(ctx)
	out := make([]CommissionRun, len(rows))
	for i, r := range rows {
		out[i] = commissionOf(r)
		out[i].Team = names.team(r.OrgUnitID.UUID)
	}
	return out, nil
}

// GetCommission returns a run with its lines, in the caller's scope.
func (s *Service) GetCommission(ctx context.Context, p *identity.Principal, id uuid.UUID) (CommissionRun, error) {
	if err := principal(p); err != nil {
		return CommissionRun{}, err
	}
	sc, err := commissionScope(p)
	if err != nil {
		return CommissionRun{}, err
	}
	q := merchantdb.New(s.db)
	r, err := q.GetCommissionRun(ctx, id)
	if err != nil {
		return CommissionRun{}, notFound(err, "merchant.commission_run")
	}
	if !(sc.SeesAll() || (r.OrgUnitID.Valid && sc.Allows(identity.Row{OrgUnit: r.OrgUnitID.UUID}))) {
		return CommissionRun{}, errs.NotFound("merchant.commission_run")
	}
	lines, err := q.ListCommissionLines(ctx, id)
	if err != nil {
		return CommissionRun{}, fmt.Errorf("merchant: commission lines: %w", pg.Classify(err))
	}
	out := commissionOf(r)
	names := s.namer(ctx)
	reps := make([]uuid.UUID, len(lines))
	for i, l := range lines {
		reps[i] = l.RepID
	}
	names.load(reps...)
	for _, l := range lines {
		cl := CommissionLine{RepID: l.RepID, AmountFen: l.AmountFen,
			Achieved: Achieved{Signings: int(l.Signings), LiveShops: int(l.LiveShops), GMVFen: l.GmvFen}}
		cl.Name, _ = names.rep(l.RepID)
		out.Lines = append(out.Lines, cl)
	}
	out.Team = names.team(r.OrgUnitID.UUID)
	return out, nil
}
