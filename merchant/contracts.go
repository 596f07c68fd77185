package merchant

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/tandemcrm/tandem/merchant/internal/merchantdb"
	"github.com/tandemcrm/tandem/shared/errs"
	"github.com/tandemcrm/tandem/shared/identity"
	"github.com/tandemcrm/tandem/shared/money"
	"github.com/tandemcrm/tandem/shared/pg"
)

// Cycle is a settlement cycle.
type Cycle string

const (
	CycleT1      Cycle = "T+1"
	CycleT7      Cycle = "T+7"
	CycleMonthly Cycle = "monthly"
)

// Contract is a signed agreement with a shop (合同). Contracts are never changed.
type Contract struct {
	ID              uuid.UUID  `json:"id"`
	LeadID          uuid.UUID  `json:"lead_id"`
	ContractNo      string     `json:"contract_no"`
	CommissionRate  money.Rate `json:"-"`
	CommissionText  string     `json:"commission_rate"` // "6.5%"
	SettlementCycle Cycle      `json:"settlement_cycle"`
	StartsOn        string     `json:"starts_on"` // 2006-01-02
	EndsOn          string     `json:"ends_on"`
	SignedBy        uuid.UUID  `json:"signed_by"`
	SignedAt        time.Time  `json:"signed_at"`
}

// NewContract is what SignContract takes. CommissionRate is a percentage ("6.5%") or
// a fraction ("0.065"); dates are 2006-01-02.
type NewContract struct {
	CommissionRate  string
	SettlementCycle Cycle
	StartsOn        string
	EndsOn          string
}

type contractTerms struct {
	rate         money.Rate
	cycle        Cycle
	starts, ends time.Time
}

func (in NewContract) validate() (contractTerms, error) {
	var t contractTerms
	rate, err := money.ParsePercent(in.CommissionRate)
	if err != nil {
		e := errs.As(err)
		return t, &errs.Error{Kind: errs.KindUnprocessable, Code: e.Code, Field: "commission_rate", Err: err,
			Message: "commission_rate " + e.Message + fmt.Sprintf(" (got %q)", in.CommissionRate)}
	}
	if !slices.Contains([]Cycle{CycleT1, CycleT7, CycleMonthly}, in.SettlementCycle) {
		return t, errs.Invalidf("settlement_cycle", "settlement_cycle must be T+1, T+7 or monthly")
	}
	if t.starts, err = time.Parse(time.DateOnly, in.StartsOn); err != nil {
		return t, errs.Invalidf("starts_on", "starts_on must be a date, 2006-01-02")
	}
	if t.ends, err = time.Parse(time.DateOnly, in.EndsOn); err != nil {
		return t, errs.Invalidf("ends_on", "ends_on must be a date, 2006-01-02")
	}
	if !t.ends.After(t.starts) {
		return t, &errs.Error{Kind: errs.KindUnprocessable, Code: "merchant.contract_dates", Field: "ends_on",
			Message: "ends_on must be after starts_on"}
	}
	t.rate, t.cycle = rate, in.SettlementCycle
	return t, nil
}

func contractOf(c merchantdb.MerchantContract) Contract {
	r, _ := money.NewRate(c.CommissionRate) // the column's CHECK keeps it in 0..1
	return Contract{ID: c.ID, LeadID: c.LeadID, ContractNo: c.ContractNo, CommissionRate: r, CommissionText: r.String(),
		SettlementCycle: Cycle(c.SettlementCycle), StartsOn: c.StartsOn.Format(time.DateOnly),
		EndsOn: c.EndsOn.Format(time.DateOnly), SignedBy: c.SignedBy, SignedAt: c.SignedAt.UTC()}
}

// SignContract signs the contract of a lead in negotiation (or visited) and moves it
// to signed. A rate outside 0–100% is refused with 422 naming commission_rate.
func (s *Service) SignContract(ctx context.Context, p *identity.Principal, leadID uuid.UUID, in NewContract) (Contract, error) {
	if err := principal(p); err != nil {
		return Contract{}, err
	}
	if _, err := p.Require(identity.PermContractWrite); err != nil {
		return Contract{}, err
	}
	t, err := in.validate()
	if err != nil {
		return Contract{}, err
	}
	var out Contract
	err = s.inTx(ctx, func(tx pgx.Tx, q *merchantdb.Queries) error {
		l, err := writable(ctx, q, p, identity.PermContractWrite, leadID)
		if err != nil {
			return err
		}
		if st := Stage(l.Stage); st != StageVisited && st != StageNegotiating {
			return &errs.Error{Kind: errs.KindConflict, Code: "merchant.illegal_stage", Field: "stage",
				Message: fmt.Sprintf("a contract is signed with a lead that is visited or negotiating, not %s", st)}
		}
		n, err := q.NextContractNo(ctx)
		if err != nil {
			return err
		}
		now := s.now()
		c := merchantdb.MerchantContract{ID: newID(), LeadID: l.ID, ContractNo: fmt.Sprintf("HT%s-%06d", now.Format("20060102"), n),
			CommissionRate: t.rate.Decimal(), SettlementCycle: string(t.cycle), StartsOn: t.starts, EndsOn: t.ends,
			SignedBy: p.User.ID, SignedAt: now}
		if err := q.InsertContract(ctx, merchantdb.InsertContractParams(c)); err != nil {
			if pg.IsUniqueViolation(err, "contracts_lead_key") {
				return errs.E(errs.KindConflict, "merchant.contract_exists", "this lead already has a contract")
			}
			return err
		}
		out = contractOf(c)
		if _, err := s.setStage(ctx, tx, q, p, l, StageSigned, "contract "+c.ContractNo); err != nil {
			return err
		}
		return record(ctx, tx, p, "merchant.contract.sign", "merchant.contract", c.ID, nil, out)
	})
	if err != nil {
		return Contract{}, fmt.Errorf("merchant: sign contract: %w", pg.Classify(err))
	}
	return out, nil
}

// GetContract returns a lead's contract, for readers of contracts who may see the lead.
func (s *Service) GetContract(ctx context.Context, p *identity.Principal, leadID uuid.UUID) (Contract, error) {
	if err := principal(p); err != nil {
		return Contract{}, err
	}
	q := merchantdb.New(s.db)
	l, err := q.GetLead(ctx, leadID)
	if err != nil {
		return Contract{}, notFound(err, "merchant.contract")
	}
	if !p.Scope(identity.PermContractRead).Allows(leadRow(l)) {
		return Contract{}, errs.NotFound("merchant.contract")
	}
	c, err := q.GetContractByLead(ctx, leadID)
	if err != nil {
		return Contract{}, notFound(err, "merchant.contract")
	}
	return contractOf(c), nil
}
